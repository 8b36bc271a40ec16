"""Check a JSON value against record.schema.json: types and ranges, one message naming the bad value.

The subset of JSON Schema that record.schema.json and the cloud state files use (type, const,
enum, minimum, maximum, maxLength, pattern, properties, required, additionalProperties, items,
minItems, maxItems, $ref to $defs),
so the schema file stays the one definition and jsonschema stays a test-only
dependency (tests check that both agree). Numbers must be finite: Python's json
reads ``1e400`` as infinity and ``NaN`` as a float, which no Record holds.
"""

from __future__ import annotations

import math
import re
from typing import Any

_JSON_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
}


class SchemaViolation(ValueError):
    """Where (a JSON path such as ``figures.init_s.median``) and what is wrong."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where or 'the top level'}: {problem}")
        self.where, self.problem = where, problem


def validate(value: Any, schema: dict, *, root: dict | None = None, where: str = "") -> None:
    """Raise SchemaViolation for the first part of ``value`` that ``schema`` refuses."""
    root = schema if root is None else root
    if "$ref" in schema:
        schema = _resolve(root, schema["$ref"])
    _check_scalar(value, schema, where)
    if isinstance(value, dict):
        _check_object(value, schema, root, where)
    elif isinstance(value, list):
        _check_array(value, schema, root, where)


def _resolve(root: dict, ref: str) -> dict:
    node: Any = root
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _check_scalar(value: Any, schema: dict, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise SchemaViolation(where, f"{value} is not a finite number")
    if "const" in schema and value != schema["const"]:
        raise SchemaViolation(where, f"{_show(value)}, expected {schema['const']!r}")
    if "enum" in schema and not any(value == e and type(value) is type(e) for e in schema["enum"]):
        raise SchemaViolation(where, f"{_show(value)}, expected one of {', '.join(map(_show, schema['enum']))}")
    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        if not any(_JSON_TYPES[t](value) for t in types):
            raise SchemaViolation(where, f"{_kind(value)}, expected {' or '.join(types)}")
    if "minimum" in schema and _JSON_TYPES["number"](value) and value < schema["minimum"]:
        raise SchemaViolation(where, f"{value} is below the minimum {schema['minimum']}")
    if "maximum" in schema and _JSON_TYPES["number"](value) and value > schema["maximum"]:
        raise SchemaViolation(where, f"{value} is above the maximum {schema['maximum']}")
    if "maxLength" in schema and isinstance(value, str) and len(value) > schema["maxLength"]:
        raise SchemaViolation(where, f"a text of {len(value)} characters, at most {schema['maxLength']} allowed")
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        raise SchemaViolation(where, f"{_show(value)} is not in the expected form")


def _check_object(value: dict, schema: dict, root: dict, where: str) -> None:
    for key in schema.get("required", ()):
        if key not in value:
            raise SchemaViolation(where, f"lacks {key!r}")
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        inner = f"{where}.{key}" if where else str(key)
        if key in properties:
            validate(item, properties[key], root=root, where=inner)
        elif extra is False:
            raise SchemaViolation(where, f"unexpected key {key!r}")
        elif isinstance(extra, dict):
            validate(item, extra, root=root, where=inner)


def _check_array(value: list, schema: dict, root: dict, where: str) -> None:
    if len(value) < schema.get("minItems", 0):
        raise SchemaViolation(where, f"{len(value)} items, expected at least {schema['minItems']}")
    if len(value) > schema.get("maxItems", len(value)):
        raise SchemaViolation(where, f"{len(value)} items, at most {schema['maxItems']} allowed")
    if "items" in schema:
        for i, item in enumerate(value):
            validate(item, schema["items"], root=root, where=f"{where}[{i}]")


def _kind(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return "an object" if isinstance(value, dict) else "a list"
    return f"{_show(value)} ({'null' if value is None else type(value).__name__})"


def _show(value: Any) -> str:
    if isinstance(value, (dict, list)):  # never repr a container: it may nest 200,000 deep
        return "an object" if isinstance(value, dict) else "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
