"""Snapshot the JSON Schema of event types into tests/contract/snapshots/<ce_type>.json.

A snapshot is the published contract of that version, so existing snapshots are never
overwritten unless you name the type and pass --force (only ever for a version that has
not been released yet). Run from the repository root:

    .venv/bin/python tests/contract/update_snapshots.py                 # add missing snapshots
    .venv/bin/python tests/contract/update_snapshots.py --force TYPE    # overwrite TYPE's snapshot
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ticketflow_schemas.jsonschema import all_schemas, render

SNAPSHOT_DIR = Path(__file__).resolve().parent / "snapshots"


def update(ce_types: list[str], force: bool = False, directory: Path = SNAPSHOT_DIR) -> int:
    schemas = all_schemas()
    if unknown := [t for t in ce_types if t not in schemas]:
        print(f"unknown event type(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    directory.mkdir(parents=True, exist_ok=True)
    for ce_type in ce_types or sorted(schemas):
        path = directory / f"{ce_type}.json"
        if path.exists() and not force:
            print(f"kept     {path.name} (published; --force {ce_type} to overwrite)")
            continue
        path.write_text(render(schemas[ce_type]))
        print(f"written  {path.name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ce_types", nargs="*", metavar="CE_TYPE", help="default: every event type")
    parser.add_argument("--force", action="store_true",
                        help="overwrite existing snapshots of the named types (unreleased only)")
    args = parser.parse_args(argv)
    if args.force and not args.ce_types:
        parser.error("--force needs the event type(s) to overwrite, by name")
    return update(args.ce_types, force=args.force)


if __name__ == "__main__":
    sys.exit(main())
