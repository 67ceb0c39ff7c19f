"""JSON Schema export of the event contracts, one document per event type and version.

    python -m ticketflow_schemas.jsonschema          # rewrite shared/schemas/jsonschema/
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .events import EVENT_TYPES, Event

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "jsonschema"


def schema_for(model: type[Event]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://ticketflow.dev/schemas/{model.ce_type}.json",
        "x-ce-type": model.ce_type,
        "x-topic": model.topic,
        **schema,
    }


def all_schemas() -> dict[str, dict[str, Any]]:
    return {ce_type: schema_for(model) for ce_type, model in EVENT_TYPES.items()}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for ce_type, schema in all_schemas().items():
        path = directory / f"{ce_type}.json"
        path.write_text(render(schema))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_DIR):
        print(path)
