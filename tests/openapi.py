"""Validate a real API answer against the OpenAPI schema the server publishes at /api/schema/ (drf-spectacular).

The schema is OpenAPI 3.0: `nullable: true` becomes JSON Schema's type null, and `$ref`s resolve inside the document.
"""

from functools import cache

import jsonschema
from drf_spectacular.generators import SchemaGenerator


@cache
def _document() -> dict:
    return _json_schema(SchemaGenerator().get_schema(request=None, public=True))


def _json_schema(node):
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def validate(instance, component: str) -> None:
    """Raise jsonschema.ValidationError if `instance` does not have the shape of schema component `component`."""
    document = _document()
    schema = {**document["components"]["schemas"][component], "components": document["components"]}
    jsonschema.validate(instance, schema)
