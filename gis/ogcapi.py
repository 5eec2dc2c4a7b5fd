"""OGC API - Features (Part 1 core + GeoJSON, Part 3 filtering with CQL2) over the layer registry.

Endpoints (under /ogcapi/): landing page, conformance, collections, collection, queryables, items, item.
Everything is JSON (`f=json`); items are `application/geo+json`. Coordinates are CRS84 (lon/lat).

Access: a signed-in user (browser session) or HTTP Basic authentication, which is how GDAL's OAPIF
driver (`GDAL_HTTP_USERPWD`), QGIS and OWSLib authenticate. Basic auth sends the password with every
request, so production must serve /ogcapi/ over HTTPS only. Anonymous requests get 403 JSON; a
layer the user's roles may not read is a 404 and is absent from /collections (its existence is not
revealed).

Filters: `filter` + `filter-lang` (cql2-text | cql2-json) are parsed by pygeofilter, and every
property name is checked against the layer's allow-list before a Django Q is built (gis.cql).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import json
import math
import time
from urllib.parse import urlencode

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

from . import cql, layers
from .layers import DATETIME, GEOMETRY_QUERYABLE, Layer

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOJSON = "application/geo+json"
JSON = "application/json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000

_F1 = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
_F3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"
_CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"
CONFORMANCE = [
    _F1 + "core",
    _F1 + "geojson",
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
    """The OpenAPI 3.0 description of this OGC API (GDAL reads the items `limit` bounds from it)."""

    def get(self, request):
        ok = {"description": "OK", "content": {JSON: {}}}
        geo = {"description": "OK", "content": {GEOJSON: {}}}
        cid = {"name": "collectionId", "in": "path", "required": True, "schema": {"type": "string"}}
        fid = {"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}}
        items_params = [
            cid,
            _param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
            _param("offset", {"type": "integer", "minimum": 0, "default": 0}),
            _param("bbox", {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 6}),
            _param("datetime", {"type": "string"}),
            _param("properties", {"type": "string"}, "comma-separated property names"),
            _param("sortby", {"type": "string"}, "comma-separated property names, each with an optional +/-"),
            _param("filter", {"type": "string"}, "CQL2 filter"),
            _param("filter-lang", {"type": "string", "enum": list(cql.LANGUAGES), "default": "cql2-text"}),
        ]
        doc = {
            "openapi": "3.0.3",
            "info": {"title": "CityOps OGC API - Features", "version": "1.0.0"},
            "servers": [{"url": self.url("landing").rstrip("/")}],
            "components": {
                "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
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
                    "get": {"operationId": "queryables", "parameters": [cid], "responses": {"200": ok}}
                },
                "/collections/{collectionId}/items": {
                    "get": {"operationId": "items", "parameters": items_params, "responses": {"200": geo}}
                },
                "/collections/{collectionId}/items/{featureId}": {
                    "get": {"operationId": "item", "parameters": [cid, fid], "responses": {"200": geo}}
                },
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


def _collection(view: OgcView, layer: Layer) -> dict:
    lang = getattr(view.request, "LANGUAGE_CODE", "zh-hans") or "zh-hans"
    return {
        "id": layer.id,
        "title": layer.title_zh if lang.startswith("zh") else layer.title_en,
        "description": f"{layer.title_zh} / {layer.title_en}",
        "itemType": "feature",
        "extent": _extent(layer, view.request.user),
        "crs": [CRS84],
        "storageCrs": CRS84,
        "links": [
            {"rel": "self", "type": JSON, "title": "this collection", "href": view.url("collection", layer.id)},
            {"rel": "items", "type": GEOJSON, "title": "features", "href": view.url("items", layer.id)},
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "type": "application/schema+json",
                "title": "queryables",
                "href": view.url("queryables", layer.id),
            },
        ],
    }


class CollectionsView(OgcView):
    def get(self, request):
        return _json(
            {
                "links": [{"rel": "self", "type": JSON, "href": self.url("collections")}],
                "collections": [_collection(self, layer) for layer in layers.layers_for(request.user)],
            }
        )


class CollectionView(OgcView):
    def get(self, request, collection_id):
        layer = self.layer_or_404(collection_id)
        if layer is None:
            return _not_found(f"no collection {collection_id!r}")
        return _json(_collection(self, layer))


_SCHEMA_TYPES = {
    layers.STRING: {"type": "string"},
    layers.NUMBER: {"type": "number"},
    layers.INTEGER: {"type": "integer"},
    layers.BOOLEAN: {"type": "boolean"},
    layers.DATETIME: {"type": "string", "format": "date-time"},
}


class QueryablesView(OgcView):
    def get(self, request, collection_id):
        layer = self.layer_or_404(collection_id)
        if layer is None:
            return _not_found(f"no collection {collection_id!r}")
        props = {
            GEOMETRY_QUERYABLE: {
                "title": "geometry",
                "format": f"geometry-{layer.geometry_type.lower()}",
                "x-ogc-role": "primary-geometry",
            }
        }
        for name, prop in layer.properties.items():
            props[name] = {"title": prop.title or name, **_SCHEMA_TYPES[prop.type]}
        return _json(
            {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$id": self.url("queryables", layer.id),
                "type": "object",
                "title": layer.title_en,
                "properties": props,
                "additionalProperties": False,
            },
            content_type="application/schema+json",
        )


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


def _bbox_q(layer: Layer, raw: str) -> Q:
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
    west, south, east, north = numbers
    if south > north or not (-90 <= south <= 90 and -90 <= north <= 90):
        raise InputError("bbox", "bbox latitudes must be -90…90 with south ≤ north")
    field = f"{layer.geometry_field}__intersects"
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


def _page(layer: Layer, qs: QuerySet, names: list[str], offset: int, limit: int) -> tuple[int, list[str]]:
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
        """|| COALESCE(ST_AsGeoJSON(q.ogc_geom, 7, 0), 'null') || ',"properties":' """
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
        q &= _bbox_q(layer, params["bbox"])
    if params.get("datetime"):
        q &= _datetime_q(layer, params["datetime"]) or Q()
    if params.get("filter"):
        q &= cql.to_q(params["filter"], params.get("filter-lang") or "cql2-text", layer)
    elif params.get("filter-lang") and params["filter-lang"] not in cql.LANGUAGES:
        raise InputError("filter-lang", f"unsupported filter-lang; use one of {', '.join(cql.LANGUAGES)}")
    return layer.rows_for(user).filter(q).order_by(*_ordering(layer, params.get("sortby")))


class ItemsView(OgcView):
    def get(self, request, collection_id):
        layer = self.layer_or_404(collection_id)
        if layer is None:
            return _not_found(f"no collection {collection_id!r}")
        params = request.query_params
        for crs_param in ("bbox-crs", "filter-crs"):
            if params.get(crs_param) not in (None, "", CRS84):
                raise InputError(crs_param, f"only {CRS84} is supported")
        limit = min(_int_param(params, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT)
        offset = _int_param(params, "offset", 0, 0)
        names = _names(layer, params["properties"], "properties") if "properties" in params else list(layer.properties)
        names = [name.lstrip("+-") for name in names]

        qs = query(layer, params, request.user)
        try:
            matched, features = _page(layer, qs, names, offset, limit)
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
        response["Content-Crs"] = f"<{CRS84}>"
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
        one = layer.rows_for(request.user).filter(**{layer.id_field: fid}).order_by(layer.id_field)
        feature = next(iter(_page(layer, one, list(layer.properties), 0, 1)[1]), None)
        if feature is None:
            return _not_found(f"no feature {feature_id!r} in {collection_id}")
        links = [
            {"rel": "self", "type": GEOJSON, "href": self.url("item", layer.id, fid)},
            {"rel": "collection", "type": JSON, "href": self.url("collection", layer.id)},
        ]
        body = feature[:-1] + ',"links":' + json.dumps(links) + "}"
        return HttpResponse(body, content_type=f"{GEOJSON}; charset=utf-8")
