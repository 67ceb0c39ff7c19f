"""make docs: each service's OpenAPI and AsyncAPI documents, written to docs/api/.

    python -m ticketflow_local.docs           # write
    python -m ticketflow_local.docs --check   # exit 1 when the committed documents are stale
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from ticketflow_schemas.topics import SERVICES

from .config import REPO_ROOT

DOCS_DIR = REPO_ROOT / "docs" / "api"
# The documents are generated without connecting anywhere; the URL only has to parse.
PLACEHOLDER_DATABASE_URL = "postgresql+asyncpg://docs:docs@localhost/docs"


def _render(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def documents() -> dict[Path, str]:
    rendered: dict[Path, str] = {}
    for service in SERVICES:
        app_module = importlib.import_module(f"{service}.app")
        built = app_module.create_service(app_module.Settings(database_url=PLACEHOLDER_DATABASE_URL))
        rendered[DOCS_DIR / f"{service}.openapi.json"] = _render(built.app.openapi())
        asyncapi = json.loads(built.asyncapi.to_specification().to_json())
        rendered[DOCS_DIR / f"{service}.asyncapi.json"] = _render(_one_event_per_message(asyncapi))
    return rendered


def _one_event_per_message(asyncapi: dict) -> dict:
    """Subscribers take records in batches, so FastStream describes their payload as an array.

    On the wire each Kafka message carries one event: document that instead.
    """
    schemas = asyncapi.get("components", {}).get("schemas", {})
    for message in asyncapi.get("components", {}).get("messages", {}).values():
        ref = message.get("payload", {}).get("$ref", "")
        name = ref.removeprefix("#/components/schemas/")
        batch = schemas.get(name, {})
        if batch.get("type") == "array" and "$ref" in batch.get("items", {}):
            message["payload"] = batch["items"]
            del schemas[name]
    return asyncapi


def stale() -> list[Path]:
    expected = documents()
    return [path for path, text in expected.items() if not path.exists() or path.read_text() != text]


def main() -> None:
    parser = argparse.ArgumentParser(prog="ticketflow_local.docs")
    parser.add_argument("--check", action="store_true", help="fail when docs/api is not up to date")
    args = parser.parse_args()
    if args.check:
        outdated = stale()
        for path in outdated:
            print(f"stale: {path.relative_to(REPO_ROOT)} (run `make docs`)")
        sys.exit(1 if outdated else 0)
    DOCS_DIR.mkdir(parents=True, exist_ok=True)
    for path, text in documents().items():
        path.write_text(text)
        print(path.relative_to(REPO_ROOT))


if __name__ == "__main__":
    main()
