"""Shapes for the OpenAPI schema of answers that have no serializer of their own (the fuzzer checks every answer
against the schema)."""

# As extend_schema(responses=...): a JSON array of objects whose keys each view documents.
LIST_OF_OBJECTS = {200: {"type": "array", "items": {"type": "object", "additionalProperties": True}}}
