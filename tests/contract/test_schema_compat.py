"""Published event schemas only ever change compatibly (design.md section 4).

* every snapshot in ``snapshots/`` (the published contract of one ``ce_type``) still has a
  current schema, and that schema is backward compatible with it;
* every current event type has a snapshot (add one with ``update_snapshots.py``);
* the exported ``shared/schemas/jsonschema/`` files match the models;
* the checker in ``compat.py`` catches every kind of incompatible change and lets the
  compatible ones through.

No Kafka or database needed.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Literal

import jsonschema
import pytest
from compat import check_compatibility
from ticketflow_schemas import events
from ticketflow_schemas.jsonschema import SCHEMA_DIR, all_schemas, render, schema_for

SNAPSHOT_DIR = Path(__file__).resolve().parent / "snapshots"
SNAPSHOTS = sorted(SNAPSHOT_DIR.glob("*.json"))
CURRENT = all_schemas()
ADD_SNAPSHOT = ".venv/bin/python tests/contract/update_snapshots.py"
EXPORT = "cd shared/schemas && ../../.venv/bin/python -m ticketflow_schemas.jsonschema"


def load(ce_type: str) -> dict:
    return json.loads((SNAPSHOT_DIR / f"{ce_type}.json").read_text())


# --------------------------------------------------------------------------- the contract


def test_there_are_snapshots() -> None:
    assert SNAPSHOTS, f"no snapshots in {SNAPSHOT_DIR}; run {ADD_SNAPSHOT}"


@pytest.mark.parametrize("path", SNAPSHOTS, ids=lambda p: p.stem)
def test_published_version_is_still_compatible(path: Path) -> None:
    ce_type, snapshot = path.stem, json.loads(path.read_text())
    jsonschema.Draft202012Validator.check_schema(snapshot)
    assert snapshot.get("x-ce-type") == ce_type, f"{path.name} is not the snapshot of {ce_type}"
    assert ce_type in CURRENT, (
        f"{ce_type} is published (tests/contract/snapshots) but no longer in EVENT_TYPES; "
        "a published version must stay available to its consumers"
    )
    problems = check_compatibility(snapshot, CURRENT[ce_type])
    assert not problems, (
        f"{ce_type} changed incompatibly with its published snapshot. A published version only "
        "gains optional fields; make this change a new vN type instead:\n  " + "\n  ".join(problems)
    )


@pytest.mark.parametrize("ce_type", sorted(CURRENT))
def test_every_event_type_has_a_snapshot(ce_type: str) -> None:
    assert (SNAPSHOT_DIR / f"{ce_type}.json").exists(), (
        f"{ce_type} has no snapshot; once its schema is final, run {ADD_SNAPSHOT} and commit it"
    )


@pytest.mark.parametrize("ce_type", sorted(CURRENT))
def test_exported_schema_is_up_to_date(ce_type: str) -> None:
    path = SCHEMA_DIR / f"{ce_type}.json"
    assert path.exists() and path.read_text() == render(CURRENT[ce_type]), (
        f"{path} is missing or stale; run `python -m ticketflow_schemas.jsonschema` ({EXPORT})"
    )


def test_no_exported_schema_without_a_model() -> None:
    stale = sorted(p.name for p in SCHEMA_DIR.glob("*.json") if p.stem not in CURRENT)
    assert not stale, f"exported schemas without an event type in EVENT_TYPES: {stale}; delete them"


# --------------------------------------------------------------------- the checker itself

ORDER = "ticketflow.order.settled.v1"  # $defs, enum, pattern, format, bounds, arrays, nullables
ISSUED = "ticketflow.ticket.issued.v1"
ASSIGNED = "ticketflow.ticket.assigned.v1"  # a required but nullable $ref (holder)
CHECKED_IN = "ticketflow.ticket.checked_in.v1"

NULLABLE_STRING = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
TREE = {  # a recursive schema: the root is a node, a node has child nodes
    "$defs": {"Node": {"type": "object", "required": ["name"], "properties": {
        "name": {"type": "string"},
        "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
    }}},
    "$ref": "#/$defs/Node",
}
PETS = {  # a discriminated union, as Pydantic emits it
    "$defs": {
        "Cat": {"type": "object", "properties": {"kind": {"const": "cat", "type": "string"},
                                                 "lives": {"type": "integer"}}},
        "Dog": {"type": "object", "properties": {"kind": {"const": "dog", "type": "string"},
                                                 "good": {"type": "boolean"}}},
    },
    "type": "object", "required": ["pet"],
    "properties": {"pet": {"oneOf": [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}],
                           "discriminator": {"propertyName": "kind"}}},
}


def tiny(**properties: dict) -> dict:
    return {"type": "object", "properties": properties, "required": sorted(properties)}


def field(schema: dict, *names: str) -> dict:
    """``field(s, "Buyer", "name")``: a $defs model's property; ``field(s, "quantity")``: top level."""
    *model, name = names
    return (schema["$defs"][model[0]] if model else schema)["properties"][name]


def props(schema: dict, model: str) -> dict:
    return schema["$defs"][model]["properties"]


def rename_def(schema: dict, old: str, new: str) -> None:
    schema["$defs"][new] = schema["$defs"].pop(old)
    text = json.dumps(schema).replace(f'"#/$defs/{old}"', f'"#/$defs/{new}"')
    schema.clear()
    schema.update(json.loads(text))


def modified(ce_type: str, *mutations) -> tuple[dict, dict]:
    old = load(ce_type)
    new = copy.deepcopy(old)
    for mutate in mutations:
        mutate(new)
    return old, new


def case(change: str, pair, path: str, *words: str):
    return pytest.param(pair, path, words, id=change)


INCOMPATIBLE = [
    case("property removed", modified(ORDER, lambda s: s["properties"].pop("event_name"),
                                      lambda s: s["required"].remove("event_name")),
         "$.event_name", "property removed"),
    case("nested property removed", modified(ORDER, lambda s: props(s, "Buyer").pop("phone")),
         "$.buyer.phone", "property removed"),
    case("type changed", modified(ORDER, lambda s: field(s, "quantity").update(type="string")),
         "$.quantity", "type changed from integer to string"),
    case("type changed in array items",
         modified(ORDER, lambda s: field(s, "OrderLine", "quantity").update(type="number")),
         "$.lines[*].quantity", "type changed from integer to number"),
    case("type narrowed (type list)", (tiny(v={"type": ["integer", "string"]}), tiny(v={"type": "integer"})),
         "$.v", "type changed from integer|string to integer"),
    case("type narrowed (union)", (tiny(v={"anyOf": [{"type": "integer"}, {"type": "string"}]}),
                                   tiny(v={"type": "integer"})),
         "$.v", "type changed from any to integer"),
    case("union option added", (tiny(v={"anyOf": [{"type": "integer"}, {"type": "string"}]}),
                                tiny(v={"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "boolean"}]})),
         "$.v.anyOf", "union options changed from 2 to 3"),
    case("new required property", modified(ORDER, lambda s: s["properties"].update(venue={"type": "string"}),
                                           lambda s: s["required"].append("venue")),
         "$.venue", "new required property"),
    case("new required property in nested model",
         modified(ORDER, lambda s: props(s, "Buyer").update(vat_id={"type": "string"}),
                  lambda s: s["$defs"]["Buyer"]["required"].append("vat_id")),
         "$.buyer.vat_id", "new required property"),
    case("optional became required", modified(ORDER, lambda s: s["$defs"]["Buyer"]["required"].append("company")),
         "$.buyer.company", "optional property became required"),
    case("required became optional", modified(ORDER, lambda s: s["required"].remove("settled_at")),
         "$.settled_at", "required property became optional"),
    case("enum value removed", modified(ORDER, lambda s: field(s, "payment_method")["enum"].remove("free")),
         "$.payment_method", "enum value(s) removed", "'free'"),
    case("enum value added", modified(CHECKED_IN, lambda s: field(s, "mode")["enum"].append("kiosk")),
         "$.mode", "enum value(s) added", "'kiosk'"),
    case("literal const changed", (tiny(kind={"const": "cat", "type": "string"}),
                                   tiny(kind={"const": "dog", "type": "string"})),
         "$.kind", "enum value(s) removed", "'cat'"),
    case("free string became enum", modified(CHECKED_IN, lambda s: field(s, "gate").update(enum=["north", "south"])),
         "$.gate", "now restricted to the values"),
    case("minimum raised", modified(ORDER, lambda s: field(s, "quantity").update(minimum=2)),
         "$.quantity", "minimum raised from 1 to 2 (tightened)"),
    case("maximum added", modified(ORDER, lambda s: field(s, "Amount", "gross").update(maximum=10**9)),
         "$.amount.gross", "maximum 1000000000 added"),
    case("maximum lowered", (tiny(n={"type": "integer", "maximum": 10}), tiny(n={"type": "integer", "maximum": 5})),
         "$.n", "maximum lowered from 10 to 5 (tightened)"),
    case("maxLength lowered", modified(ORDER, lambda s: field(s, "Buyer", "name").update(maxLength=100)),
         "$.buyer.name", "maxLength lowered from 200 to 100 (tightened)"),
    case("minLength raised", modified(ORDER, lambda s: field(s, "Buyer", "name").update(minLength=2)),
         "$.buyer.name", "minLength raised from 1 to 2 (tightened)"),
    case("minItems raised", modified(ORDER, lambda s: field(s, "lines").update(minItems=2)),
         "$.lines", "minItems raised from 1 to 2 (tightened)"),
    case("constraint relaxed", modified(ORDER, lambda s: field(s, "Buyer", "name").update(maxLength=500)),
         "$.buyer.name", "maxLength raised from 200 to 500 (relaxed)"),
    case("pattern changed", modified(ORDER, lambda s: field(s, "Amount", "currency").update(pattern="^[A-Z]{3,4}$")),
         "$.amount.currency", "pattern changed from '^[A-Z]{3}$' to '^[A-Z]{3,4}$'"),
    case("pattern added", modified(ISSUED, lambda s: field(s, "SigningKey", "public_key").update(pattern="^[A-Za-z0-9_-]{43}$")),
         "$.signing_key.public_key", "pattern '^[A-Za-z0-9_-]{43}$' added"),
    case("format changed", modified(ORDER, lambda s: field(s, "order_id").update(format="uri")),
         "$.order_id", "format changed from 'uuid' to 'uri'"),
    case("format removed", modified(ORDER, lambda s: field(s, "Buyer", "email").pop("format")),
         "$.buyer.email", "format 'email' removed"),
    case("default changed", modified(ORDER, lambda s: field(s, "Buyer", "language").update(default="sv")),
         "$.buyer.language", "default changed from 'en' to 'sv'"),
    case("nullable became non-nullable",
         modified(ORDER, lambda s: props(s, "Buyer").update(company={"type": "string", "default": None})),
         "$.buyer.company", "is no longer nullable"),
    case("nullable $ref became non-nullable",
         modified(ASSIGNED, lambda s: s["properties"].update(holder={"$ref": "#/$defs/Holder"})),
         "$.holder", "is no longer nullable"),
    case("non-nullable became nullable", modified(ORDER, lambda s: s["properties"].update(event_name=NULLABLE_STRING)),
         "$.event_name", "became nullable"),
    case("additionalProperties switched to false",
         modified(ORDER, lambda s: s["$defs"]["Buyer"].update(additionalProperties=False)),
         "$.buyer", "additionalProperties switched to false"),
    case("change behind a renamed $ref",
         modified(ORDER, lambda s: rename_def(s, "OrderLine", "Line"),
                  lambda s: field(s, "Line", "unit_net").update(minimum=1)),
         "$.lines[*].unit_net", "minimum raised from 0 to 1"),
    case("change inside a nullable $ref",
         modified(ASSIGNED, lambda s: field(s, "Holder", "name").update(type="integer")),
         "$.holder.name", "type changed from string to integer"),
    case("change in a discriminated union branch",
         (PETS, json.loads(json.dumps(PETS).replace('"boolean"', '"string"'))),
         "$.pet.oneOf[1].good", "type changed from boolean to string"),
    case("change in a recursive schema",
         (TREE, json.loads(json.dumps(TREE).replace('"required": ["name"]', '"required": []'))),
         "$.name", "required property became optional"),
    case("topic changed", modified(ORDER, lambda s: s.update({"x-topic": "order.settled.v2"})),
         "$", "x-topic changed"),
]


@pytest.mark.parametrize("pair, path, words", INCOMPATIBLE)
def test_checker_reports_incompatible_change(pair, path: str, words: tuple[str, ...]) -> None:
    old, new = pair
    problems = check_compatibility(old, new)
    assert [p for p in problems if p.startswith(f"{path}: ") and all(w in p for w in words)], (
        f"expected a problem at {path} mentioning {words}, got {problems}"
    )


def _with_vat_id(s: dict) -> None:
    props(s, "Buyer")["vat_id"] = NULLABLE_STRING


COMPATIBLE = [
    *(pytest.param(load(p.stem), load(p.stem), id=f"unchanged {p.stem}") for p in SNAPSHOTS),
    pytest.param(*modified(ORDER, lambda s: s["properties"].update(coupon=NULLABLE_STRING)),
                 id="new optional property"),
    pytest.param(*modified(ORDER, _with_vat_id), id="new optional property in nested model"),
    pytest.param(*modified(ORDER, lambda s: props(s, "OrderLine").update(note=NULLABLE_STRING)),
                 id="new optional property in array items"),
    pytest.param(*modified(ASSIGNED, lambda s: props(s, "Holder").update(phone=NULLABLE_STRING)),
                 id="new optional property behind a nullable $ref"),
    pytest.param(*modified(ORDER, lambda s: s.update(description="Settled."),
                           lambda s: field(s, "Buyer", "name").update(title="Full name", examples=["Ada"]),
                           lambda s: field(s, "Amount", "net").update(description="net amount")),
                 id="title, description, examples changed"),
    pytest.param(*modified(ORDER, lambda s: s["$defs"].update(Venue=tiny(name={"type": "string"})),
                           lambda s: s["properties"].update(venue={
                               "anyOf": [{"$ref": "#/$defs/Venue"}, {"type": "null"}], "default": None})),
                 id="new $defs entry"),
    pytest.param(*modified(ORDER, lambda s: rename_def(s, "Buyer", "Purchaser")), id="$defs renamed"),
    pytest.param({**tiny(a={"type": "string"}), "additionalProperties": False}, tiny(a={"type": "string"}),
                 id="additionalProperties false relaxed"),
    pytest.param(TREE, json.loads(json.dumps(TREE).replace('"name": {"type": "string"}',
                                                           '"name": {"type": "string"}, "tag": {"type": "string"}')),
                 id="new optional property in a recursive schema"),
]


@pytest.mark.parametrize("old, new", COMPATIBLE)
def test_checker_accepts_compatible_change(old: dict, new: dict) -> None:
    assert check_compatibility(old, new) == []


# Real Pydantic output rather than hand-edited JSON.
class _BuyerWithVat(events.Buyer):
    vat_id: str | None = None


class _OrderSettledWithCoupon(events.OrderSettled):
    buyer: _BuyerWithVat
    coupon: str | None = None


class _OrderSettledFewerMethods(events.OrderSettled):
    payment_method: Literal["card", "invoice"]


def test_checker_on_pydantic_models() -> None:
    base = schema_for(events.OrderSettled)
    assert check_compatibility(base, schema_for(_OrderSettledWithCoupon)) == []
    assert check_compatibility(schema_for(_OrderSettledFewerMethods), base) == [
        "$.payment_method: enum value(s) added: ['sponsored', 'free'] (old consumers do not know them)"
    ]
    assert check_compatibility(schema_for(_OrderSettledWithCoupon), base) == [
        "$.buyer.vat_id: property removed", "$.coupon: property removed"
    ]
