"""Spatial data API: roads, rasters (point value, profile, zonal statistics), import and export, query statistics,
zones (districts, unit grids) and saved queries."""

import json
import math
import shutil

import shapely
from django.contrib.gis.geos import GEOSGeometry
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from core import limits, uploads
from core.api_errors import validated
from core.errors import InputError
from core.geo import SUPPORTED_CRS_TEXT, parse_geometry, parse_point
from core.permissions import roles_required
from core.security_log import source_of
from core.services import record_audit

from . import coords, geocoder, importing, io, layers, rasters, saved_queries, selectors, services, statistics
from .models import ImportPreview, Road, SavedQuery


class RoadSerializer(GeoFeatureModelSerializer):
    class Meta:
        model = Road
        geo_field = "geom"
        fields = ["id", "name", "road_class", "speed_kmh", "oneway", "lanes"]


class RoadListView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("class", str, enum=Road.RoadClass.values, many=True)],
        responses=RoadSerializer(many=True),
    )
    def get(self, request):
        classes = request.query_params.getlist("class")
        unknown = sorted(set(classes) - set(Road.RoadClass.values))
        if unknown:
            return Response(
                {"error": "invalid_input", "field": "class", "detail": f"unknown road classes {unknown}"}, status=400
            )
        return Response(RoadSerializer(selectors.roads(classes), many=True).data)


# ---------------------------------------------------------------------------------------------- rasters


def _raster_or_error(name: str):
    """The raster's spec; 404 when its file is missing (InputError → 400 for an unknown name)."""
    raster_spec = rasters.spec(name)
    if not rasters.available(name):
        raise NotFound(f"raster {name!r} has not been generated (load the demo city)")
    return raster_spec


def _float_param(params, name: str, minimum: float | None = None, default: float | None = None) -> float:
    raw = params.get(name)
    if raw in (None, ""):
        if default is None:
            raise InputError(name, f"{name} is required")
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise InputError(name, f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value) or (minimum is not None and value < minimum):
        raise InputError(name, f"{name} must be a finite number ≥ {minimum}")
    return value


def _shape(geom: GEOSGeometry):
    return shapely.from_wkb(bytes(geom.wkb))


class RasterListView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        out = []
        for name, raster_spec in rasters.RASTERS.items():
            item = {"name": name, "title": str(raster_spec.title), "unit": raster_spec.unit}
            item["available"] = rasters.available(name)
            if item["available"]:
                item.update(rasters.info(name))
            item["tiles"] = request.build_absolute_uri(f"/tiles/raster/{name}/") + "{z}/{x}/{y}.png"
            out.append(item)
        return Response({"rasters": out})


class RasterImportRequest(serializers.Serializer):
    file = serializers.FileField(help_text="a GeoTIFF")
    crs = serializers.CharField(required=False, help_text="wgs84, cgcs2000 or EPSG:<code>; overrides the file's own")


class RasterImportView(APIView):
    """Replace a raster (dem, population, imagery) with an uploaded GeoTIFF, stored as a Cloud-Optimised GeoTIFF;
    the answer is the raster's new listing entry. A file is refused by what it declares: past the size limits,
    more pixels than it could hold, bounds outside its CRS, the wrong bands for the raster."""

    permission_classes = [roles_required(*services.IMPORT_ROLES, read_roles=services.IMPORT_ROLES)]
    parser_classes = [uploads.UploadParser]

    @extend_schema(request={"multipart/form-data": RasterImportRequest}, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, name):
        raster_spec = rasters.spec(name)
        data = validated(RasterImportRequest, request.data)
        result = services.import_raster(request.user, data["file"], name, crs=data.get("crs"))
        return Response({"name": name, "title": str(raster_spec.title), "unit": raster_spec.unit, **result}, 201)


class RasterValueView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("lon", float, required=True),
            OpenApiParameter("lat", float, required=True),
            OpenApiParameter("crs", str, description=SUPPORTED_CRS_TEXT),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, name):
        raster_spec = _raster_or_error(name)
        point = parse_point(
            request.query_params.get("lon"), request.query_params.get("lat"), request.query_params.get("crs")
        )
        value = rasters.value_at(name, point.x, point.y)
        return Response({"raster": name, "unit": raster_spec.unit, "lon": point.x, "lat": point.y, "value": value})


class RasterProfileRequest(serializers.Serializer):
    line = serializers.JSONField(help_text="GeoJSON LineString")
    crs = serializers.CharField(required=False, default="wgs84", help_text=SUPPORTED_CRS_TEXT)
    step_m = serializers.FloatField(required=False, default=25.0)


class RasterProfileView(APIView):
    """Values along a line (a pipe's terrain profile, a road's gradient); POST because the line can be long."""

    @extend_schema(request=RasterProfileRequest, responses=OpenApiTypes.OBJECT)
    def post(self, request, name):
        raster_spec = _raster_or_error(name)
        body = RasterProfileRequest(data=request.data)
        body.is_valid(raise_exception=True)
        line = parse_geometry(body.validated_data["line"], body.validated_data["crs"], field="line")
        if line.geom_type != "LineString":
            raise InputError("line", f"must be a LineString, not {line.geom_type}")
        samples = rasters.profile(name, _shape(line), body.validated_data["step_m"])
        return Response(
            {
                "raster": name,
                "unit": raster_spec.unit,
                "length_m": samples[-1][0],
                "points": [{"distance_m": d, "value": v} for d, v in samples],
            }
        )


MAX_ZONES = 5000


class RasterZonalRequest(serializers.Serializer):
    geometry = serializers.JSONField(help_text="GeoJSON Polygon or MultiPolygon")
    crs = serializers.CharField(required=False, default="wgs84", help_text=SUPPORTED_CRS_TEXT)


class RasterZonalView(APIView):
    """Zonal statistics: per feature of a polygon layer (GET ?layer=districts, streets, communities, grids or an
    imported dataset), in a circle (GET ?lon&lat&radius_m), or inside a posted polygon (POST) — e.g. the
    population of an isolation area or near an incident."""

    @extend_schema(
        parameters=[
            OpenApiParameter("layer", str, description="a polygon layer of the registry, e.g. districts"),
            OpenApiParameter("lon", float),
            OpenApiParameter("lat", float),
            OpenApiParameter("radius_m", float),
            OpenApiParameter("crs", str, description=SUPPORTED_CRS_TEXT),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, name):
        raster_spec = _raster_or_error(name)
        params = request.query_params
        if "layer" in params:
            layer = layers.get(params["layer"])
            if layer is None or not layer.readable_by(request.user):
                raise InputError("layer", f"no layer {params['layer']!r}")
            if not layer.geometry_type.endswith("Polygon"):
                raise InputError("layer", f"{layer.id} is not a polygon layer")
            label = next((p for p in ("code", "name") if p in layer.properties), None)
            zones = []
            rows = (
                layer.rows_for(request.user)
                .order_by(layer.id_field)
                .values_list(layer.id_field, layer.geometry_field, *([layer.properties[label].path] if label else []))
            )
            if rows.count() > MAX_ZONES:
                raise InputError("layer", f"{layer.id} has more than {MAX_ZONES} features")
            for fid, geom, *rest in rows:
                zone = {"id": fid, **({label: rest[0]} if label else {})}
                zones.append({**zone, **rasters.zonal_stats(name, _shape(geom))})
            return Response({"raster": name, "unit": raster_spec.unit, "layer": layer.id, "zones": zones})
        point = parse_point(params.get("lon"), params.get("lat"), params.get("crs"))
        radius = _float_param(params, "radius_m", minimum=0.01)
        if radius > 50_000:
            raise InputError("radius_m", "radius_m must be at most 50000")
        circle = rasters.buffer_m(point.x, point.y, radius, name)
        return Response({"raster": name, "unit": raster_spec.unit, **rasters.zonal_stats(name, circle)})

    @extend_schema(request=RasterZonalRequest, responses=OpenApiTypes.OBJECT)
    def post(self, request, name):
        raster_spec = _raster_or_error(name)
        body = RasterZonalRequest(data=request.data)
        body.is_valid(raise_exception=True)
        geom = parse_geometry(body.validated_data["geometry"], body.validated_data["crs"])
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise InputError("geometry", f"must be a Polygon or MultiPolygon, not {geom.geom_type}")
        return Response({"raster": name, "unit": raster_spec.unit, **rasters.zonal_stats(name, _shape(geom))})


# ------------------------------------------------------------------------------------- import, export


class ImportUploadRequest(serializers.Serializer):
    file = serializers.FileField()
    format = serializers.ChoiceField(choices=list(importing.VECTOR_FORMATS), required=False)
    crs = serializers.CharField(required=False, help_text=SUPPORTED_CRS_TEXT + "; overrides the file's own CRS")
    layer = serializers.CharField(required=False, help_text="layer of a GeoPackage")
    wkt_column = serializers.CharField(required=False)
    lon_column = serializers.CharField(required=False)
    lat_column = serializers.CharField(required=False)


class ImportCommitRequest(serializers.Serializer):
    slug = serializers.CharField(help_text="the layer becomes ds-<slug>")
    title = serializers.CharField()
    read_roles = serializers.ListField(child=serializers.CharField(), required=False)


def _preview_json(preview: ImportPreview) -> dict:
    return {
        "id": str(preview.pk),
        "file_name": preview.file_name,
        "created_at": preview.created_at,
        "committed_layer": layers.DATASET_PREFIX + preview.committed.slug if preview.committed_id else None,
        **preview.report,
    }


class ImportListView(APIView):
    """Upload a file (multipart `file`): it is read and checked, not imported; the answer is a preview to commit."""

    permission_classes = [roles_required(*services.IMPORT_ROLES, read_roles=services.IMPORT_ROLES)]
    parser_classes = [uploads.UploadParser]

    @extend_schema(request={"multipart/form-data": ImportUploadRequest}, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = validated(ImportUploadRequest, request.data)
        columns = {k: data[f"{k}_column"] for k in ("wkt", "lon", "lat") if data.get(f"{k}_column")}
        try:
            preview = services.preview_import(
                request.user,
                data["file"],
                fmt=data.get("format"),
                crs=data.get("crs"),
                layer=data.get("layer"),
                columns=columns,
            )
        except PermissionError as exc:
            raise PermissionDenied(str(exc)) from None
        return Response(_preview_json(preview), status=201)


class ImportDetailView(APIView):
    permission_classes = [roles_required(*services.IMPORT_ROLES, read_roles=services.IMPORT_ROLES)]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, preview_id):
        preview = get_object_or_404(ImportPreview, pk=preview_id, created_by=request.user)
        return Response(_preview_json(preview))


class ImportCommitView(APIView):
    permission_classes = [roles_required(*services.IMPORT_ROLES, read_roles=services.IMPORT_ROLES)]

    @extend_schema(request=ImportCommitRequest, responses=OpenApiTypes.OBJECT)
    def post(self, request, preview_id):
        preview = get_object_or_404(ImportPreview, pk=preview_id, created_by=request.user)
        data = validated(ImportCommitRequest, request.data)
        try:
            dataset = services.commit_import(request.user, preview, **data)
        except PermissionError as exc:
            raise PermissionDenied(str(exc)) from None
        layer_id = layers.DATASET_PREFIX + dataset.slug
        return Response(
            {
                "layer": layer_id,
                "title": dataset.title,
                "features": dataset.features.count(),
                "geometry_type": dataset.geometry_type,
                "fields": dataset.fields,
                "items": request.build_absolute_uri(f"/ogcapi/collections/{layer_id}/items"),
                "tiles": request.build_absolute_uri(f"/tiles/{layer_id}/") + "{z}/{x}/{y}.pbf",
            },
            status=201,
        )


class ExportView(APIView):
    """GET /api/gis/layers/{layer}/export/?f=gpkg[&filter=<CQL2>&bbox=…]: the layer or a query result as a file.

    Takes the OGC API items parameters (filter, filter-lang, bbox, datetime, sortby, property=value), so any
    result of the planner's query builder downloads as it was seen."""

    @extend_schema(
        parameters=[OpenApiParameter("f", str, enum=list(io.FORMATS), required=True)], responses=OpenApiTypes.BINARY
    )
    def get(self, request, layer_id):
        layer = layers.get(layer_id)
        if layer is None or not layer.readable_by(request.user):
            raise NotFound(f"no layer {layer_id!r}")
        fmt = request.query_params.get("f") or ""
        if fmt not in io.FORMATS:
            raise InputError("f", f"f (the file format) must be one of {', '.join(io.FORMATS)}")
        with limits.slot("export"):
            path, folder = services.export_to_temp(layer, request.query_params, request.user, fmt)
        record_audit(
            request.user,
            "export.layer",
            None,
            f"{layer_id} ({fmt})",
            {"query": {key: request.query_params.get(key) for key in request.query_params}},
            source=source_of(request),
        )
        stream = open(path, "rb")  # noqa: SIM115 (the response closes it once sent)
        response = FileResponse(stream, as_attachment=True, filename=path.name, content_type=io.CONTENT_TYPES[fmt])
        response._resource_closers.append(lambda: shutil.rmtree(folder, ignore_errors=True))  # after the stream
        return response


# --------------------------------------------------------------------------------- coordinate service


class TransformRequest(serializers.Serializer):
    geometry = serializers.JSONField(help_text="GeoJSON geometry")
    source_crs = serializers.CharField(required=False, default="wgs84", help_text=SUPPORTED_CRS_TEXT)
    target_crs = serializers.CharField(required=False, default="wgs84", help_text=SUPPORTED_CRS_TEXT)


class TransformView(APIView):
    """Convert a point or geometry between WGS84, CGCS2000, GCJ-02, BD-09 and projected CRSs (EPSG codes)."""

    @extend_schema(request=TransformRequest, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = validated(TransformRequest, request.data)
        geometry = coords.transform(data["geometry"], data["source_crs"], data["target_crs"])
        return Response({"geometry": geometry, "source_crs": data["source_crs"], "target_crs": data["target_crs"]})


# ------------------------------------------------------------------------ query statistics, zones, saved queries


class LayerStatsView(APIView):
    """GET /api/gis/layers/{layer}/stats/?by=district|grid[&field=<numeric property>][&filter=<CQL2>…]: the query's
    features counted per district or unit grid (with sum and mean of `field`, length of lines, area of polygons).

    Takes the OGC API items parameters, so the numbers are those of the result the planner sees."""

    @extend_schema(
        operation_id="gis_layer_stats",
        parameters=[
            OpenApiParameter("by", str, enum=list(statistics.ZONES), required=True),
            OpenApiParameter("field", str, description="a numeric property to sum and average"),
            OpenApiParameter("filter", str, description="CQL2 filter"),
            OpenApiParameter("filter-lang", str, enum=["cql2-text", "cql2-json"]),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, layer_id):
        layer = saved_queries.readable_layer(request.user, layer_id)
        params = request.query_params
        return Response(statistics.by_zone(layer, params, request.user, params.get("by"), params.get("field")))


class ZoneListView(APIView):
    """GET /api/gis/zones/?by=district|grid[&q=<code prefix or name>]: districts or unit grids to query inside."""

    @extend_schema(
        operation_id="gis_zone_list",
        parameters=[
            OpenApiParameter("by", str, enum=list(statistics.ZONES), required=True),
            OpenApiParameter("q", str, description="start of the code, or part of the name"),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        rows = statistics.zones(request.query_params.get("by"), (request.query_params.get("q") or "").strip()[:64])
        features = [
            {"type": "Feature", "geometry": json.loads(geom.geojson), "properties": {"code": code, "name": name}}
            for code, name, geom in rows
        ]
        return Response({"type": "FeatureCollection", "features": features})


class SavedQuerySerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    mine = serializers.SerializerMethodField()

    class Meta:
        model = SavedQuery
        fields = ["id", "name", "layer", "cql2", "shared", "owner", "mine", "created_at", "updated_at"]

    def get_mine(self, query) -> bool:
        return query.owner_id == self.context["request"].user.pk


class SavedQueryRequest(serializers.Serializer):
    name = serializers.CharField(max_length=200, allow_blank=True)
    layer = serializers.CharField(max_length=100)
    cql2 = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    shared = serializers.BooleanField(required=False, default=False)


QUERY_PERMISSION = roles_required(*saved_queries.QUERY_ROLES, read_roles=saved_queries.QUERY_ROLES)


class SavedQueryListView(APIView):
    """The signed-in user's saved queries and those shared in their organisation; POST saves one."""

    permission_classes = [QUERY_PERMISSION]

    @extend_schema(operation_id="gis_saved_query_list", responses=SavedQuerySerializer(many=True))
    def get(self, request):
        readable = {layer.id for layer in layers.layers_for(request.user)}
        queries = [q for q in selectors.saved_queries_for(request.user) if q.layer in readable]
        return Response(SavedQuerySerializer(queries, many=True, context={"request": request}).data)

    @extend_schema(operation_id="gis_saved_query_create", request=SavedQueryRequest, responses=SavedQuerySerializer)
    def post(self, request):
        data = validated(SavedQueryRequest, request.data)
        query = saved_queries.save_query(
            request.user, name=data["name"], layer_id=data["layer"], cql2=data["cql2"], shared=data["shared"]
        )
        return Response(SavedQuerySerializer(query, context={"request": request}).data, status=201)


class SavedQueryDetailView(APIView):
    permission_classes = [QUERY_PERMISSION]

    @extend_schema(operation_id="gis_saved_query_delete", responses={204: None})
    def delete(self, request, pk):
        query = get_object_or_404(selectors.saved_queries_for(request.user), pk=pk)
        saved_queries.delete_query(request.user, query)
        return Response(status=204)


# ------------------------------------------------------------------------------------------------ geocoding


class GeocodeQuery(serializers.Serializer):
    q = serializers.CharField(max_length=geocoder.MAX_QUERY_CHARS, help_text="address text, e.g. 福田区福华一路12号")
    limit = serializers.IntegerField(min_value=1, max_value=geocoder.MAX_LIMIT, default=5)


class GeocodeView(APIView):
    """GET /api/gis/geocode/?q=<address text>&limit=<1-20>: ranked candidate addresses with their elements, point,
    score (0–1), precision and unit grid, sub-district and community."""

    @extend_schema(operation_id="gis_geocode", parameters=[GeocodeQuery], responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = validated(GeocodeQuery, request.query_params)
        return Response(geocoder.geocode(query["q"], query["limit"]))


class ReverseQuery(serializers.Serializer):
    lon = serializers.FloatField(min_value=-180, max_value=180)
    lat = serializers.FloatField(min_value=-90, max_value=90)

    def validate(self, data):
        for name in ("lon", "lat"):
            if not math.isfinite(data[name]):
                raise serializers.ValidationError({name: "must be a finite number"})
        return data


class ReverseGeocodeView(APIView):
    """GET /api/gis/reverse/?lon=&lat= (WGS84): the nearest address and its distance (m), and the unit grid,
    sub-district and community at the point."""

    @extend_schema(operation_id="gis_reverse_geocode", parameters=[ReverseQuery], responses=OpenApiTypes.OBJECT)
    def get(self, request):
        point = validated(ReverseQuery, request.query_params)
        return Response(geocoder.reverse(point["lon"], point["lat"]))
