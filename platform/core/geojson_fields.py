"""Serializer fields for GeoJSON in API answers, with their OpenAPI schema: the declared shape that tests
validate real answers against, so a payload that changes shape fails there and not in a browser."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

GEOMETRY = {
    "type": "object",
    "required": ["type", "coordinates"],
    "properties": {
        "type": {
            "type": "string",
            "enum": ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"],
        },
        "coordinates": {"type": "array"},
    },
}
FEATURE = {
    "type": "object",
    "required": ["type", "geometry", "properties"],
    "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
        "geometry": {**GEOMETRY, "nullable": True},
        "properties": {"type": "object", "additionalProperties": True},
    },
}
FEATURE_COLLECTION = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": FEATURE},
    },
}


class _AnswerField(serializers.Field):
    """Output only: the value is already JSON; the field exists to declare its shape."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return value


@extend_schema_field(GEOMETRY)
class GeometryField(_AnswerField):
    """A GeoJSON geometry (WGS84)."""


@extend_schema_field(FEATURE)
class FeatureField(_AnswerField):
    """A GeoJSON Feature (WGS84)."""


@extend_schema_field(FEATURE_COLLECTION)
class FeatureCollectionField(_AnswerField):
    """A GeoJSON FeatureCollection (WGS84)."""
