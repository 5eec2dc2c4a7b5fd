"""OGC API - Features (Part 1 core + GeoJSON, Part 2 CRS, Part 3 filtering with CQL2, Part 5 schemas) over the
layer registry.

Endpoints (under /ogcapi/): landing page, conformance, collections, collection, queryables, schema, items, item.
Everything is JSON (`f=json`); items are `application/geo+json`. Coordinates are CRS84 (lon/lat) unless `crs` asks
for another supported CRS (EPSG:4326, CGCS2000 EPSG:4490, the city's projected CRS), written in that CRS's own axis
order as Part 2 requires; `bbox-crs` names the CRS of `bbox` the same way.

Field types for GIS clients: each collection links a Part 5 schema (rel `…/ogc/1.0/schema`, which QGIS reads) and a
JSON Schema of one GeoJSON feature (rel `describedBy`, which GDAL's OAPIF driver reads), so a copy keeps decimals,
integers and date-times instead of guessing them from the first page.

Access: a signed-in user (browser session) or HTTP Basic authentication, which is how GDAL's OAPIF
driver (`GDAL_HTTP_USERPWD`), QGIS and OWSLib authenticate. Basic auth sends the password with every
request, so production must serve /ogcapi/ over HTTPS only. Anonymous requests get 403 JSON; a
layer the user's roles may not read is a 404 and is absent from /collections (its existence is not
revealed).

Filters: `filter` + `filter-lang` (cql2-text | cql2-json | cql-text) are parsed by pygeofilter, and every
property name is checked against the layer's allow-list before a Django Q is built (gis.cql). CQL2-JSON may also be
POSTed as the body of an items request (OWSLib's `cql=`). GDAL's OAPIF driver sends a `-where` clause to the server
only when the OpenAPI document lists `cql-text` in the items `filter-lang` enum and names the property as a query
parameter of that collection's items path, so /api describes every readable collection's own items path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hmac
import json
import math
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import pyproj
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.gis.db.models.aggregates import Extent
from django.contrib.gis.geos import Polygon
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Max, Min, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from core.errors import InputError
from core.selectors import metric_srid

from . import cql, layers
from .layers import DATETIME, GEOMETRY_QUERYABLE, Layer

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
CGCS2000 = EPSG + "4490"
JSON_SCHEMA = "application/schema+json"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
REL_SCHEMA = "http://www.opengis.net/def/rel/ogc/1.0/schema"
REL_QUERYABLES = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
GEOJSON = "application/geo+json"
JSON = "application/json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000

_F1 = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
_F3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"
_F5 = "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/"
_CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"
CONFORMANCE = [
    _F1 + "core",
    _F1 + "geojson",
    _F1 + "oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    _F5 + "schemas",  # QGIS reads a collection's schema for field types only when this is declared
    _F5 + "core-roles-features",
    _F3 + "filter",
    _F3 + "features-filter",
    _F3 + "queryables",
    _F3 + "queryables-query-parameters",
    _CQL2 + "cql2-text",
    _CQL2 + "cql2-json",
    _CQL2 + "basic-cql2",
    _CQL2 + "advanced-comparison-operators",
    _CQL2 + "basic-spatial-functions",
    _CQL2 + "basic-spatial-operators",  # the pre-final name, which QGIS 3.3x still looks for
    _CQL2 + "spatial-functions",
]

ITEMS_PARAMS = {
    "f",
    "crs",
    "bbox",
    "bbox-crs",
    "limit",
    "offset",
    "datetime",
    "properties",
    "sortby",
    "filter",
    "filter-lang",
    "filter-crs",
}


def _json(data, status: int = 200, content_type: str = JSON) -> HttpResponse:
    body = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)
    return HttpResponse(body, status=status, content_type=f"{content_type}; charset=utf-8")


def _bad(field: str, detail: str) -> HttpResponse:
    return _json({"error": "invalid_input", "field": field, "detail": detail}, status=400)


def _not_found(detail: str) -> HttpResponse:
    return _json({"error": "not_found", "detail": detail}, status=404)


# ---------------------------------------------------------------------------------------------- CRS (Part 2)


@dataclass(frozen=True)
class OutputCrs:
    """A CRS coordinates may be served or a bbox given in."""

    uri: str
    srid: int
    north_first: bool
    """The CRS's first axis is latitude or northing (EPSG:4326, EPSG:4490, the CGCS2000 Gauss-Krüger zones), so its
    coordinates are written (y, x) — Part 2 follows the CRS's own axis order; CRS84 is the lon/lat exception."""
    decimals: int


@functools.cache
def _crs_table(projected: int) -> dict[str, OutputCrs]:
    table = {}
    for uri, srid in [(CRS84, 4326), (EPSG + "4326", 4326), (CGCS2000, 4490), (EPSG + str(projected), projected)]:
        crs = pyproj.CRS.from_epsg(srid)
        north_first = uri != CRS84 and crs.axis_info[0].direction in ("north", "south")
        table[uri] = OutputCrs(uri, srid, north_first, 7 if crs.is_geographic else 3)
    return table


def supported_crs() -> dict[str, OutputCrs]:
    """URI → CRS, CRS84 (the default) first; besides the geographic ones, the city's metric CRS (the demo's:
    CGCS2000 3° Gauss-Krüger CM 114°E; the deployment's before a city is set up)."""
    return _crs_table(metric_srid())


def _crs_param(params, name: str) -> OutputCrs:
    raw = params.get(name)
    table = supported_crs()
    if raw in (None, ""):
        return table[CRS84]
    if raw not in table:
        raise InputError(name, f"unsupported {name} {raw!r}; supported: {', '.join(table)}")
    return table[raw]


_BASIC_CACHE: dict[str, tuple[float, int, str]] = {}
_LOCKED = "too many failed sign-ins: this account is locked for a while"
BASIC_CACHE_SECONDS = 300


class CachedBasicAuthentication(BasicAuthentication):
    """HTTP Basic auth for GIS clients (GDAL `GDAL_HTTP_USERPWD`, QGIS, OWSLib). HTTPS only in production.

    GDAL pages through a layer with one request per page, each with the password; checking it costs a
    1M-iteration PBKDF2 every time. A verified pair is therefore remembered in this process for
    BASIC_CACHE_SECONDS, keyed by an HMAC (SECRET_KEY) of user name and password — the password itself
    is not kept — and only while the user is active and their stored password hash is unchanged.
    """

    def authenticate_credentials(self, userid, password, request=None):
        key = hmac.new(settings.SECRET_KEY.encode(), f"{userid}\0{password}".encode(), "sha256").hexdigest()
        now = time.monotonic()
        hit = _BASIC_CACHE.get(key)
        if hit and hit[0] > now:
            # A remembered pair skips authenticate(), where django-axes checks the lock: check it here instead.
            if request is not None and AxesProxyHandler.is_locked(request, {"username": userid}):
                raise AuthenticationFailed(_LOCKED)
            user = get_user_model().objects.filter(pk=hit[1], is_active=True).first()
            if user is not None and user.password == hit[2]:
                return (user, None)
        user, auth = super().authenticate_credentials(userid, password, request)
        if len(_BASIC_CACHE) > 1000:
            _BASIC_CACHE.clear()
        _BASIC_CACHE[key] = (now + BASIC_CACHE_SECONDS, user.pk, user.password)
        return (user, auth)


class _JsonWhateverAccepted(BaseContentNegotiation):
    """Every answer is JSON, so the Accept header chooses nothing: `Accept: application/geo+json` alone (as a
    GeoJSON client sends it) must not be a 406 just because DRF's JSON renderer is filed as application/json."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class OgcView(APIView):
    """Base: session or HTTP Basic auth (HTTPS in production), any signed-in user, JSON only. Basic comes first,
    so an anonymous request is a 401 with `WWW-Authenticate: Basic` (what GIS clients answer), not a 403."""

    authentication_classes = [CachedBasicAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _JsonWhateverAccepted
    schema = None  # documented by the OGC API itself, not in the DRF OpenAPI schema

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        fmt = request.query_params.get("f")
        if fmt not in (None, "", "json", "geojson", "application/json", GEOJSON):
            raise _FormatError(fmt)

    def handle_exception(self, exc):
        if isinstance(exc, _FormatError):
            return _bad("f", f"unsupported format {exc.args[0]!r}; only f=json is served")
        if isinstance(exc, InputError):
            return _bad(exc.field, exc.detail)
        return super().handle_exception(exc)

    def url(self, name: str, *args, params: dict | None = None) -> str:
        path = reverse(f"ogcapi:{name}", args=args)
        query = f"?{urlencode(params)}" if params else ""
        return self.request.build_absolute_uri(path + query)

    def layer_or_404(self, collection_id: str) -> Layer | None:
        layer = layers.get(collection_id)
        if layer is None or not layer.readable_by(self.request.user):
            return None
        return layer


class _FormatError(Exception):
    pass


class LandingView(OgcView):
    def get(self, request):
        return _json(
            {
                "title": "CityOps OGC API - Features",
                "description": "城市运行平台空间数据服务 CityOps spatial data (OGC API - Features, CQL2 filtering)",
                "links": [
                    {"rel": "self", "type": JSON, "title": "this document", "href": self.url("landing")},
                    {
                        "rel": "service-desc",
                        "type": OPENAPI,
                        "title": "the OGC API definition",
                        "href": self.url("openapi"),
                    },
                    {
                        "rel": "service-desc",
                        "type": "application/vnd.oai.openapi+json",
                        "title": "the CityOps REST API definition",
                        "href": request.build_absolute_uri(reverse("api-schema") + "?format=json"),
                    },
                    {
                        "rel": "conformance",
                        "type": JSON,
                        "title": "conformance classes",
                        "href": self.url("conformance"),
                    },
                    {"rel": "data", "type": JSON, "title": "collections", "href": self.url("collections")},
                ],
            }
        )


def _param(name: str, schema: dict, description: str = "") -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


class OpenApiView(OgcView):
    """The OpenAPI 3.0 description of this OGC API. GDAL reads the items `limit` bounds from it, and decides from the
    items path of a collection whether a `-where` clause goes to the server (see the module docstring)."""

    def get(self, request):
        ok = {"description": "OK", "content": {JSON: {}}}
        geo = {"description": "OK", "content": {GEOJSON: {}}}
        schema = {"description": "OK", "content": {JSON_SCHEMA: {}}}
        cid = {"name": "collectionId", "in": "path", "required": True, "schema": {"type": "string"}}
        fid = {"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}}
        crs_list = {"type": "string", "enum": list(supported_crs()), "default": CRS84}
        shared = {
            "limit": _param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
            "offset": _param("offset", {"type": "integer", "minimum": 0, "default": 0}),
            "crs": _param("crs", crs_list, "CRS of the coordinates returned"),
            "bbox": _param("bbox", {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 6}),
            "bbox-crs": _param("bbox-crs", crs_list, "CRS of bbox, in that CRS's axis order"),
            "datetime": _param("datetime", {"type": "string"}),
            "properties": _param("properties", {"type": "string"}, "comma-separated property names"),
            "sortby": _param("sortby", {"type": "string"}, "comma-separated property names, each with an optional +/-"),
            "filter": _param("filter", {"type": "string"}, "CQL2 filter"),
            "filter-lang": _param(
                "filter-lang", {"type": "string", "enum": list(cql.LANGUAGES), "default": "cql2-text"}
            ),
            "filter-crs": _param("filter-crs", {"type": "string", "enum": [CRS84], "default": CRS84}),
        }
        refs = [{"$ref": f"#/components/parameters/{name}"} for name in shared]
        cql2_json_body = {
            "description": "a CQL2-JSON filter (the same query as GET with filter-lang=cql2-json)",
            "content": {JSON: {"schema": {"type": "object"}}, "application/query-cql-json": {}},
        }

        def items_operation(operation_id: str, parameters: list) -> dict:
            return {
                "get": {"operationId": operation_id, "parameters": parameters, "responses": {"200": geo}},
                "post": {
                    "operationId": f"{operation_id}ByCql2Json",
                    "parameters": parameters,
                    "requestBody": cql2_json_body,
                    "responses": {"200": geo},
                },
            }

        # Each readable collection's own items path names its properties as query parameters (Part 1 equality
        # filters, which ItemsView serves): GDAL and QGIS learn the queryable property names from there.
        own_paths = {
            f"/collections/{layer.id}/items": items_operation(
                f"items-{layer.id}",
                refs + [_param(name, _SCHEMA_TYPES[prop.type], prop.title) for name, prop in layer.properties.items()],
            )
            for layer in layers.layers_for(request.user)
        }
        doc = {
            "openapi": "3.0.3",
            "info": {"title": "CityOps OGC API - Features", "version": "1.0.0"},
            "servers": [{"url": self.url("landing").rstrip("/")}],
            "components": {
                "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
                "parameters": shared,
            },
            "security": [{"basic": []}],
            "paths": {
                "/": {"get": {"operationId": "landingPage", "responses": {"200": ok}}},
                "/conformance": {"get": {"operationId": "conformance", "responses": {"200": ok}}},
                "/collections": {"get": {"operationId": "collections", "responses": {"200": ok}}},
                "/collections/{collectionId}": {
                    "get": {"operationId": "collection", "parameters": [cid], "responses": {"200": ok}}
                },
                "/collections/{collectionId}/queryables": {
                    "get": {"operationId": "queryables", "parameters": [cid], "responses": {"200": schema}}
                },
                "/collections/{collectionId}/schema": {
                    "get": {"operationId": "schema", "parameters": [cid], "responses": {"200": schema}}
                },
                "/collections/{collectionId}/feature-schema": {
                    "get": {"operationId": "featureSchema", "parameters": [cid], "responses": {"200": schema}}
                },
                "/collections/{collectionId}/items": items_operation("items", [cid, *refs]),
                "/collections/{collectionId}/items/{featureId}": {
                    "get": {
                        "operationId": "item",
                        "parameters": [cid, fid, {"$ref": "#/components/parameters/crs"}],
                        "responses": {"200": geo},
                    }
                },
                **own_paths,
            },
        }
        return _json(doc, content_type=OPENAPI)


class ConformanceView(OgcView):
    def get(self, request):
        return _json({"conformsTo": CONFORMANCE})


def _extent(layer: Layer, user) -> dict:
    qs = layer.rows_for(user)
    box = qs.aggregate(e=Extent(layer.geometry_field))["e"]
    extent: dict = {"spatial": {"bbox": [list(box)] if box else [[-180, -90, 180, 90]], "crs": CRS84}}
    if layer.time_field:
        path = layer.properties[layer.time_field].path
        span = qs.aggregate(lo=Min(path), hi=Max(path))
        extent["temporal"] = {
            "interval": [[_iso(span["lo"]), _iso(span["hi"])]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    return extent


def _iso(value):
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def _collection(view: OgcView, layer: Layer, crs_uris: list[str]) -> dict:
    lang = getattr(view.request, "LANGUAGE_CODE", "zh-hans") or "zh-hans"
    return {
        "id": layer.id,
        "title": layer.title_zh if lang.startswith("zh") else layer.title_en,
        "description": f"{layer.title_zh} / {layer.title_en}",
        "itemType": "feature",
        "extent": _extent(layer, view.request.user),
        "crs": crs_uris,
        "storageCrs": CRS84,
        "links": [
            {"rel": "self", "type": JSON, "title": "this collection", "href": view.url("collection", layer.id)},
            {"rel": "items", "type": GEOJSON, "title": "features", "href": view.url("items", layer.id)},
            {
                "rel": REL_QUERYABLES,
                "type": JSON_SCHEMA,
                "title": "queryables",
                "href": view.url("queryables", layer.id),
            },
            {"rel": REL_SCHEMA, "type": JSON_SCHEMA, "title": "schema", "href": view.url("schema", layer.id)},
            {
                # GDAL's OAPIF driver matches this spelling and reads a schema of the whole GeoJSON feature
                "rel": "describedBy",
                "type": JSON_SCHEMA,
                "title": "JSON Schema of one feature",
                "href": view.url("feature-schema", layer.id),
            },
        ],
    }


class CollectionsView(OgcView):
    def get(self, request):
        crs_uris = list(supported_crs())
        return _json(
            {
                "links": [{"rel": "self", "type": JSON, "href": self.url("collections")}],
                "collections": [_collection(self, layer, crs_uris) for layer in layers.layers_for(request.user)],
            }
        )


class CollectionView(OgcView):
    def get(self, request, collection_id):
        layer = self.layer_or_404(collection_id)
        if layer is None:
            return _not_found(f"no collection {collection_id!r}")
        return _json(_collection(self, layer, list(supported_crs())))


_SCHEMA_TYPES = {
    layers.STRING: {"type": "string"},
    layers.NUMBER: {"type": "number"},
    layers.INTEGER: {"type": "integer"},
    layers.BOOLEAN: {"type": "boolean"},
    layers.DATETIME: {"type": "string", "format": "date-time"},
}


def _geometry_schema(layer: Layer) -> dict:
    return {"title": "geometry", "format": f"geometry-{layer.geometry_type.lower()}", "x-ogc-role": "primary-geometry"}


def _property_schemas(layer: Layer) -> dict:
    """Public name → JSON Schema of each allow-listed property, in the order features carry them."""
    schemas = {}
    for seq, (name, prop) in enumerate(layer.properties.items(), start=1):
        schemas[name] = {"title": prop.title or name, **_SCHEMA_TYPES[prop.type], "x-ogc-propertySeq": seq}
        if name == layer.time_field:
            schemas[name]["x-ogc-role"] = "primary-instant"
    return schemas


class _SchemaView(OgcView):
    """A JSON Schema (2020-12) about one collection; `json_schema(layer)` gives its body (a method named `schema`
    would hide DRF's `schema = None`, which keeps the OGC views out of the OpenAPI schema)."""

    name = ""

    def get(self, request, collection_id):
        layer = self.layer_or_404(collection_id)
        if layer is None:
            return _not_found(f"no collection {collection_id!r}")
        body = {"$schema": JSON_SCHEMA_DIALECT, "$id": self.url(self.name, layer.id), "title": layer.title_en}
        return _json({**body, "type": "object", **self.json_schema(layer)}, content_type=JSON_SCHEMA)


class QueryablesView(_SchemaView):
    """Part 3: the properties a filter may name."""

    name = "queryables"

    def json_schema(self, layer: Layer) -> dict:
        props = {GEOMETRY_QUERYABLE: _geometry_schema(layer), **_property_schemas(layer)}
        return {"properties": props, "additionalProperties": False}


class SchemaView(_SchemaView):
    """Part 5: the feature as a flat list of typed properties with their roles (what QGIS reads for field types)."""

    name = "schema"

    def json_schema(self, layer: Layer) -> dict:
        identifier = {"title": "id", "type": "integer", "x-ogc-role": "id", "readOnly": True}
        return {"properties": {"id": identifier, "geometry": _geometry_schema(layer), **_property_schemas(layer)}}


class FeatureSchemaView(_SchemaView):
    """One item of /items as a GeoJSON feature, its typed properties nested in `properties`: the shape GDAL's OAPIF
    driver reads from the `describedBy` link (it ignores a Part 5 schema, whose properties are not nested)."""

    name = "feature-schema"

    def json_schema(self, layer: Layer) -> dict:
        return {
            "required": ["type", "geometry", "properties"],
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "id": {"type": "integer"},
                "geometry": {"type": "object", "title": f"GeoJSON {layer.geometry_type}"},
                "properties": {"type": "object", "properties": _property_schemas(layer)},
            },
        }


# ---------------------------------------------------------------------------------------------- items


def _int_param(params, name: str, default: int, minimum: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InputError(name, f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise InputError(name, f"{name} must be ≥ {minimum}")
    return value


BOX_EDGE_POINTS = 16
"""Points per side of a bbox given in another CRS: its straight sides are curves in lon/lat."""


def _box_in(crs: OutputCrs, x0: float, y0: float, x1: float, y1: float) -> Polygon:
    steps = [i / BOX_EDGE_POINTS for i in range(BOX_EDGE_POINTS)]
    ring = (
        [(x0 + (x1 - x0) * t, y0) for t in steps]
        + [(x1, y0 + (y1 - y0) * t) for t in steps]
        + [(x1 - (x1 - x0) * t, y1) for t in steps]
        + [(x0, y1 - (y1 - y0) * t) for t in steps]
        + [(x0, y0)]
    )
    return Polygon(ring, srid=crs.srid)  # PostGIS transforms it to the layer's CRS


def _bbox_q(layer: Layer, raw: str, crs: OutputCrs) -> Q:
    try:
        numbers = [float(part) for part in raw.split(",")]
    except ValueError:
        raise InputError("bbox", f"bbox must be 4 or 6 comma-separated numbers, got {raw!r}") from None
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4:
        raise InputError("bbox", "bbox must have 4 or 6 numbers")
    if not all(math.isfinite(n) for n in numbers):
        raise InputError("bbox", f"bbox numbers must be finite, got {raw!r}")
    field = f"{layer.geometry_field}__intersects"
    if crs.uri != CRS84:
        # lower corner, upper corner, each in the CRS's axis order
        a0, b0, a1, b1 = numbers
        x0, y0, x1, y1 = (b0, a0, b1, a1) if crs.north_first else (a0, b0, a1, b1)
        if x0 > x1 or y0 > y1:
            raise InputError("bbox", f"bbox must be the lower corner, then the upper corner, in {crs.uri} axis order")
        return Q(**{field: _box_in(crs, x0, y0, x1, y1)})
    west, south, east, north = numbers
    if south > north or not (-90 <= south <= 90 and -90 <= north <= 90):
        raise InputError("bbox", "bbox latitudes must be -90…90 with south ≤ north")
    if west <= east:
        return Q(**{field: Polygon.from_bbox((west, south, east, north))})
    # Crossing the antimeridian: two boxes.
    return Q(**{field: Polygon.from_bbox((west, south, 180, north))}) | Q(
        **{field: Polygon.from_bbox((-180, south, east, north))}
    )


def _parse_date_or_datetime(text: str) -> tuple[dt.datetime | None, dt.date | None]:
    """Django's parsers return None for malformed text but raise for well-formed impossible dates (2024-02-30)."""
    try:
        value = parse_datetime(text)
        return value, (parse_date(text) if value is None else None)
    except ValueError as exc:
        raise InputError("datetime", f"not a valid date or date-time: {text!r} ({exc})") from exc


def _parse_instant(text: str, end: bool) -> dt.datetime | None:
    if text in ("", ".."):
        return None
    value, day = _parse_date_or_datetime(text)
    if value is None:
        if day is None:
            raise InputError("datetime", f"not an RFC 3339 date or date-time: {text!r}")
        value = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return value


def _datetime_q(layer: Layer, raw: str) -> Q | None:
    if not layer.time_field:
        return None  # the collection has no temporal property: the parameter does not restrict it
    path = layer.properties[layer.time_field].path
    if "/" in raw:
        start_text, end_text = raw.split("/", 1)
        start, end = _parse_instant(start_text, False), _parse_instant(end_text, True)
        if start is None and end is None:
            raise InputError("datetime", "an interval needs at least one end")
        q = Q()
        if start:
            q &= Q(**{f"{path}__gte": start})
        if end:
            q &= Q(**{f"{path}__lte": end})
        return q
    value, day = _parse_date_or_datetime(raw)
    if value is None and day is not None:
        return Q(**{f"{path}__gte": _parse_instant(raw, False), f"{path}__lte": _parse_instant(raw, True)})
    instant = _parse_instant(raw, False)
    if instant is None:
        raise InputError("datetime", "an instant cannot be open")
    return Q(**{path: instant})


def _names(layer: Layer, raw: str, param: str) -> list[str]:
    names = [part.strip() for part in raw.split(",") if part.strip()]
    for name in names:
        bare = name.lstrip("+-")
        if bare not in layer.properties:
            raise InputError(
                param, f"unknown property {bare!r}; properties of {layer.id}: {', '.join(layer.properties)}"
            )
    return names


def _ordering(layer: Layer, raw: str | None) -> list[str]:
    order: list[str] = []
    if raw:
        for name in _names(layer, raw, "sortby"):
            path = layer.properties[name.lstrip("+-")].path
            order.append(f"-{path}" if name.startswith("-") else path)
    order.append(layer.id_field)  # stable paging
    return order


def _equality_q(layer: Layer, params) -> Q:
    """Part 1 property equality filters (`?road_class=arterial`), allow-listed properties only."""
    q = Q()
    for name, raw in params.items():
        if name in ITEMS_PARAMS:
            continue
        prop = layer.properties.get(name)
        if prop is None:
            raise InputError(name, f"unknown query parameter {name!r}")
        value: object = raw
        try:
            if prop.type == layers.INTEGER:
                value = int(raw)
            elif prop.type == layers.NUMBER:
                value = float(raw)
            elif prop.type == layers.BOOLEAN:
                value = {"true": True, "false": False}[raw.lower()]
            elif prop.type == DATETIME:
                value = _parse_instant(raw, False)
        except (ValueError, KeyError):
            raise InputError(name, f"{name} is {prop.type}; got {raw!r}") from None
        q &= Q(**{prop.path: value})
    return q


def _geometry_sql(layer: Layer, crs: OutputCrs) -> str:
    """The page row's geometry as GeoJSON in `crs`: transformed by PostGIS (the same PROJ as pyproj), axes swapped
    where the CRS puts latitude or northing first. SRIDs and decimals are our integers, never request text."""
    geometry = "q.ogc_geom"
    if crs.srid != layer.model._meta.get_field(layer.geometry_field).srid:
        geometry = f"ST_Transform({geometry}, {crs.srid:d})"
    if crs.north_first:
        geometry = f"ST_FlipCoordinates({geometry})"
    return f"ST_AsGeoJSON({geometry}, {crs.decimals:d}, 0)"


def _page(
    layer: Layer, qs: QuerySet, names: list[str], offset: int, limit: int, crs: OutputCrs
) -> tuple[int, list[str]]:
    """(numberMatched, the page's features as GeoJSON text) in one statement, the JSON written by PostgreSQL.

    ST_AsGeoJSON and json_build_object run on the page's rows only (the inner query pages plain columns),
    so a page of 1000 features costs neither 1000 Python serialisations nor the JSON of rows skipped by
    OFFSET. Property names are the layer's allow-listed public names, bound as parameters."""
    quote = connection.ops.quote_name
    count_sql, count_params = qs.order_by().values(layer.id_field).query.sql_with_params()
    columns = {f"p{i}": F(layer.properties[name].path) for i, name in enumerate(names)}
    rows = qs.values(
        ogc_n=Window(RowNumber(), order_by=qs.query.order_by),
        ogc_id=F(layer.id_field),
        ogc_geom=F(layer.geometry_field),
        **columns,
    )[offset : offset + limit]
    rows_sql, rows_params = rows.query.sql_with_params()
    properties = ", ".join(f"%s::text, q.{quote(alias)}" for alias in columns)
    sql = (
        f"SELECT (SELECT count(*) FROM ({count_sql}) c), ARRAY("  # noqa: S608 (ORM SQL and our aliases; values bound)
        """SELECT '{"type":"Feature","id":' || to_json(q.ogc_id)::text || ',"geometry":' """
        f"""|| COALESCE({_geometry_sql(layer, crs)}, 'null') || ',"properties":' """
        f"|| json_build_object({properties})::text || '}}' FROM ({rows_sql}) q ORDER BY q.ogc_n)"
    )
    # Inside a transaction (ATOMIC_REQUESTS, a test) a savepoint keeps it usable when the database refuses the
    # query; in autocommit (a served request) the statement needs no BEGIN/COMMIT round trips of its own.
    guard = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    with guard, connection.cursor() as cursor:
        cursor.execute(sql, [*count_params, *names, *rows_params])
        return cursor.fetchone()


def query(layer: Layer, params, user) -> QuerySet:
    """The features of the layer that `user` may read, selected by OGC API items parameters (equality, bbox,
    datetime, CQL2 filter, sortby).

    Shared with export (whose `f` is the file format), so a query result downloads exactly as it pages."""
    q = _equality_q(layer, params)
    if params.get("bbox"):
        q &= _bbox_q(layer, params["bbox"], _crs_param(params, "bbox-crs"))
    if params.get("datetime"):
        q &= _datetime_q(layer, params["datetime"]) or Q()
    if params.get("filter"):
        q &= cql.to_q(params["filter"], params.get("filter-lang") or "cql2-text", layer)
    elif params.get("filter-lang") and params["filter-lang"] not in cql.LANGUAGES:
        raise InputError("filter-lang", f"unsupported filter-lang; use one of {', '.join(cql.LANGUAGES)}")
    return layer.rows_for(user).filter(q).order_by(*_ordering(layer, params.get("sortby")))


class ItemsView(OgcView):
    def get(self, request, collection_id):
        return self.items(collection_id, request.query_params)

    def post(self, request, collection_id):
        """A CQL2-JSON filter as the body (OWSLib's `cql=`): the same query as GET with filter-lang=cql2-json, whose
        next/prev links are plain GETs."""
        if request.query_params.get("filter"):
            raise InputError("filter", "send the filter either in the body or in the query string, not both")
        try:
            body = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError("filter", f"the body must be a CQL2-JSON filter: {exc}") from None
        params = request.query_params.copy()
        params["filter"] = json.dumps(body, ensure_ascii=False)
        params["filter-lang"] = "cql2-json"
        return self.items(collection_id, params)

    def items(self, collection_id, params):
        layer = self.layer_or_404(collection_id)
        if layer is None:
            return _not_found(f"no collection {collection_id!r}")
        if params.get("filter-crs") not in (None, "", CRS84):
            raise InputError("filter-crs", f"only {CRS84} is supported")
        crs = _crs_param(params, "crs")
        limit = min(_int_param(params, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT)
        offset = _int_param(params, "offset", 0, 0)
        names = _names(layer, params["properties"], "properties") if "properties" in params else list(layer.properties)
        names = [name.lstrip("+-") for name in names]

        qs = query(layer, params, self.request.user)
        try:
            matched, features = _page(layer, qs, names, offset, limit, crs)
        except (DatabaseError, ValueError, TypeError) as exc:
            # e.g. a literal the column type cannot take; the message is the database's, not SQL from user text
            raise InputError("filter", f"the query could not be run: {str(exc).splitlines()[0][:200]}") from None

        links = self._links(layer, params, offset, limit, len(features), matched)
        body = (
            '{"type":"FeatureCollection","features":['
            + ",".join(features)
            + "],"
            + json.dumps(
                {
                    "numberMatched": matched,
                    "numberReturned": len(features),
                    "timeStamp": _iso(timezone.now()),
                    "links": links,
                },
                ensure_ascii=False,
            )[1:]
        )
        response = HttpResponse(body, content_type=f"{GEOJSON}; charset=utf-8")
        response["Content-Crs"] = f"<{crs.uri}>"
        return response

    def _links(self, layer, params, offset, limit, returned, matched) -> list[dict]:
        base = {k: v for k, v in params.items() if k != "offset"}
        base["limit"] = str(limit)

        def href(at: int) -> str:
            return self.url("items", layer.id, params={**base, "offset": at} if at else base)

        links = [
            {"rel": "self", "type": GEOJSON, "title": "this page", "href": href(offset)},
            {"rel": "collection", "type": JSON, "href": self.url("collection", layer.id)},
        ]
        if offset + returned < matched:
            links.append({"rel": "next", "type": GEOJSON, "title": "next page", "href": href(offset + returned)})
        if offset > 0:
            links.append(
                {"rel": "prev", "type": GEOJSON, "title": "previous page", "href": href(max(0, offset - limit))}
            )
        return links


class ItemView(OgcView):
    def get(self, request, collection_id, feature_id):
        layer = self.layer_or_404(collection_id)
        if layer is None:
            return _not_found(f"no collection {collection_id!r}")
        try:
            fid = int(feature_id)
        except ValueError:
            return _not_found(f"no feature {feature_id!r} in {collection_id}")
        if not 0 < fid < 2**63:  # no row has such an id (and the database would refuse to compare it)
            return _not_found(f"no feature {feature_id!r} in {collection_id}")
        crs = _crs_param(request.query_params, "crs")
        one = layer.rows_for(request.user).filter(**{layer.id_field: fid}).order_by(layer.id_field)
        feature = next(iter(_page(layer, one, list(layer.properties), 0, 1, crs)[1]), None)
        if feature is None:
            return _not_found(f"no feature {feature_id!r} in {collection_id}")
        links = [
            {"rel": "self", "type": GEOJSON, "href": self.url("item", layer.id, fid)},
            {"rel": "collection", "type": JSON, "href": self.url("collection", layer.id)},
        ]
        body = feature[:-1] + ',"links":' + json.dumps(links) + "}"
        response = HttpResponse(body, content_type=f"{GEOJSON}; charset=utf-8")
        response["Content-Crs"] = f"<{crs.uri}>"
        return response
