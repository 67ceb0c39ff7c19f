"""Backward-compatibility check between two JSON Schema documents of one event version.

``check_compatibility(old, new)`` compares the published snapshot (``old``) with the
current export (``new``), both as Pydantic v2 emits them, and returns a list of
human-readable problems, each starting with the JSON path of the data it concerns
(``$.buyer.email``, ``$.lines[*].quantity``). An empty list means compatible.

The rule is the one in design.md section 4: a published version only ever gains
*optional* properties. A change must keep both directions working:

* consumers built against the old schema read data produced against the new one, and
* data produced against the old schema (retained topics, replays, dead letters) still
  validates against the new one.

So the set of valid values of every existing field must stay exactly the same. Only
annotations (title, description, examples, ...) may change, ``$defs`` may be renamed
or gain entries, and objects may gain properties that are not required.

Decisions beyond the brief's list, for the same reason:

* Adding an enum/Literal value is reported. Consumers switch on these values (payment
  method, check-in mode); an unknown one reaching an old consumer is a poison message
  (its Pydantic model rejects it, its ``match`` has no branch). Add a new ``vN`` type.
* Relaxing a constraint (lower minimum, longer maxLength, dropped pattern/format) is
  reported too: old consumers size columns and parse values by those constraints.
* A changed ``default`` and a changed vendor keyword (``x-topic``) are reported; every
  keyword not known to be an annotation is compared for equality.
* ``additionalProperties`` going from ``false`` to open is allowed (it only admits the
  new optional properties that the rule already allows).
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

# Keywords that never change which values are valid.
ANNOTATIONS = {
    "title", "description", "examples", "$comment", "$schema", "$id", "$defs",
    "definitions", "deprecated", "readOnly", "writeOnly",
}
# Keywords compared structurally below; every other keyword is compared for equality.
STRUCTURAL = {
    "$ref", "allOf", "anyOf", "oneOf", "type", "properties", "required",
    "additionalProperties", "items", "prefixItems", "enum", "const", "discriminator",
}
LOWER_BOUNDS = {"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"}
UPPER_BOUNDS = {"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"}
NULL = {"type": "null"}


def check_compatibility(old: Schema, new: Schema) -> list[str]:
    """Problems that make ``new`` an incompatible change of ``old`` (empty = compatible)."""
    return _Checker(old, new).run()


class _Checker:
    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self.roots = (old_root, new_root)
        self.problems: list[str] = []
        self.stack: set[tuple[tuple[str, ...], tuple[str, ...]]] = set()

    def run(self) -> list[str]:
        self.compare(self.roots[0], self.roots[1], "$")
        return self.problems

    def report(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def compare(self, old: Schema, new: Schema, path: str) -> None:
        old, old_refs, old_null = _normalise(old, self.roots[0])
        new, new_refs, new_null = _normalise(new, self.roots[1])
        key = (old_refs, new_refs)
        if key in self.stack:  # this $ref pair is already being compared further up: recursion
            return
        if old_refs or new_refs:
            self.stack.add(key)
        try:
            self.compare_resolved(old, new, path, old_null, new_null)
        finally:
            self.stack.discard(key)

    def compare_resolved(self, old: Schema, new: Schema, path: str,
                         old_null: bool, new_null: bool) -> None:
        if old_null != new_null:
            self.report(path, "became nullable" if new_null else "is no longer nullable")
        old_types, new_types = _types(old), _types(new)
        if old_types != new_types:
            self.report(path, f"type changed from {_fmt(old_types)} to {_fmt(new_types)}")
            return  # nothing else is comparable
        self.compare_values(old, new, path)
        self.compare_objects(old, new, path)
        self.compare_arrays(old, new, path)
        for keyword in ("anyOf", "oneOf"):
            self.compare_unions(old.get(keyword), new.get(keyword), f"{path}.{keyword}")
        old_disc = (old.get("discriminator") or {}).get("propertyName")
        new_disc = (new.get("discriminator") or {}).get("propertyName")
        if old_disc != new_disc:
            self.report(path, f"discriminator changed from {old_disc!r} to {new_disc!r}")
        for keyword in sorted((old.keys() | new.keys()) - ANNOTATIONS - STRUCTURAL):
            self.compare_keyword(keyword, old.get(keyword), new.get(keyword), path)

    def compare_values(self, old: Schema, new: Schema, path: str) -> None:
        old_values, new_values = _allowed_values(old), _allowed_values(new)
        if old_values is None and new_values is None:
            return
        if old_values is None:
            self.report(path, f"now restricted to the values {new_values}")
        elif new_values is None:
            self.report(path, f"no longer restricted to the values {old_values}")
        else:
            if removed := [v for v in old_values if v not in new_values]:
                self.report(path, f"enum value(s) removed: {removed}")
            if added := [v for v in new_values if v not in old_values]:
                self.report(path, f"enum value(s) added: {added} (old consumers do not know them)")

    def compare_objects(self, old: Schema, new: Schema, path: str) -> None:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
        for name, old_prop in old_props.items():
            sub = f"{path}.{name}"
            if name not in new_props:
                self.report(sub, "property removed")
                continue
            if name in old_req and name not in new_req:
                self.report(sub, "required property became optional (consumers rely on it)")
            elif name in new_req and name not in old_req:
                self.report(sub, "optional property became required")
            self.compare(old_prop, new_props[name], sub)
        for name in new_props:
            if name not in old_props and name in new_req:
                self.report(f"{path}.{name}", "new required property (old data lacks it)")
        old_extra = old.get("additionalProperties", True)
        new_extra = new.get("additionalProperties", True)
        if isinstance(old_extra, dict) and isinstance(new_extra, dict):
            self.compare(old_extra, new_extra, f"{path}.*")
        elif new_extra is False and old_extra is not False:
            self.report(path, "additionalProperties switched to false")
        elif old_extra != new_extra and old_extra is not False:
            self.report(path, f"additionalProperties changed from {old_extra!r} to {new_extra!r}")

    def compare_arrays(self, old: Schema, new: Schema, path: str) -> None:
        if "items" in old or "items" in new:
            self.compare(old.get("items", {}), new.get("items", {}), f"{path}[*]")
        old_prefix, new_prefix = old.get("prefixItems", []), new.get("prefixItems", [])
        if len(old_prefix) != len(new_prefix):
            self.report(path, f"tuple length changed from {len(old_prefix)} to {len(new_prefix)}")
        for i, (o, n) in enumerate(zip(old_prefix, new_prefix)):
            self.compare(o, n, f"{path}[{i}]")

    def compare_unions(self, old: list | None, new: list | None, path: str) -> None:
        if old is None and new is None:
            return
        if old is None or new is None or len(old) != len(new):
            self.report(path, f"union options changed from {len(old or [])} to {len(new or [])}")
            return
        for i, (o, n) in enumerate(zip(old, new)):  # Pydantic keeps declaration order
            self.compare(o, n, f"{path}[{i}]")

    def compare_keyword(self, keyword: str, old: Any, new: Any, path: str) -> None:
        if old == new:
            return
        if keyword in LOWER_BOUNDS | UPPER_BOUNDS and old is not None and new is not None:
            raised = "raised" if new > old else "lowered"
            tighter = (new > old) == (keyword in LOWER_BOUNDS)
            self.report(path, f"{keyword} {raised} from {old} to {new} "
                              f"({'tightened' if tighter else 'relaxed'})")
        elif old is None:
            self.report(path, f"{keyword} {new!r} added")
        elif new is None:
            self.report(path, f"{keyword} {old!r} removed")
        else:
            self.report(path, f"{keyword} changed from {old!r} to {new!r}")


def _resolve(schema: Schema, root: Schema, refs: list[str]) -> Schema:
    """Follow ``$ref`` (and single-entry ``allOf``); sibling keywords override the target."""
    while True:
        if "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"only local $ref is supported, got {ref!r}")
            target: Any = root
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            refs.append(ref)
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        elif len(schema.get("allOf", [])) == 1:
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            schema = {**schema["allOf"][0], **rest}
        else:
            return schema


def _normalise(schema: Schema, root: Schema) -> tuple[Schema, tuple[str, ...], bool]:
    """Resolve refs and split off nullability: ``anyOf: [X, null]`` -> ``(X, nullable)``."""
    refs: list[str] = []
    schema = _resolve(schema, root, refs)
    nullable = False
    for keyword in ("anyOf", "oneOf"):
        branches = schema.get(keyword)
        if branches and NULL in branches:
            nullable = True
            rest = [b for b in branches if b != NULL]
            schema = {k: v for k, v in schema.items() if k != keyword}
            schema = {**rest[0], **schema} if len(rest) == 1 else {**schema, keyword: rest}
    if isinstance(schema.get("type"), list) and "null" in schema["type"]:
        nullable = True
        kept = [t for t in schema["type"] if t != "null"]
        schema = {**schema, "type": kept[0] if len(kept) == 1 else kept}
    if nullable:
        schema = _resolve(schema, root, refs)
    return schema, tuple(refs), nullable


def _types(schema: Schema) -> frozenset[str] | None:
    declared = schema.get("type")
    if declared is None:
        return None  # any type (or given by anyOf/oneOf/enum, compared there)
    return frozenset([declared] if isinstance(declared, str) else declared)


def _fmt(types: frozenset[str] | None) -> str:
    return "any" if types is None else "|".join(sorted(types))


def _allowed_values(schema: Schema) -> list | None:
    if "const" in schema:
        return [schema["const"]]
    return schema.get("enum")
