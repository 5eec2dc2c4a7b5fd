"""Decision-map REST API under /api/leader/ (leaders and administrators, within their jurisdiction)."""

from datetime import timedelta

from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import InputError
from core.geojson_fields import FeatureCollectionField, FeatureField
from core.security_log import source_of
from core.services import record_audit
from pipelines_mgmt.api import RepairOrderMapSerializer

from . import layers, periods, reports, selectors, services
from .models import Annotation
from .scope import IsLeader, area_for

PERIOD_PARAMETERS = [
    OpenApiParameter("period", str, enum=periods.KINDS, description="default: month (custom when from/to given)"),
    OpenApiParameter("from", str, description="first day of a custom period, YYYY-MM-DD"),
    OpenApiParameter("to", str, description=f"last day (included); at most {periods.MAX_PERIOD_DAYS} days"),
    OpenApiParameter("area", str, description="district code (default: the user's jurisdiction)"),
]
LAYER_PARAMETERS = [
    OpenApiParameter("by", str, enum=layers.CASE_GROUPS, description="cases: per district or unit grid"),
    OpenApiParameter("metric", str, enum=list(layers.CASE_METRICS)),
    OpenApiParameter("agency", str, enum=["110", "119", "120", "122"]),
]
REPORT_FORMATS = ("html", "png", "pdf")
REPORT_TYPES = {"html": "text/html; charset=utf-8", "png": "image/png", "pdf": "application/pdf"}


def _now_to_the_minute():
    """Now, rounded up to the next minute: periods ending "now" stay the same for a minute, so they cache."""
    return timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=1)


def period_and_area(request):
    params = request.query_params
    period = periods.parse(
        params.get("period"), params.get("from"), params.get("to"), now=_now_to_the_minute(),
        tz=timezone.get_current_timezone(),
    )  # fmt: skip
    return period, area_for(request.user, params.get("area"))


def _area_json(area) -> dict | None:
    return None if area is None else {"code": area.code, "name": area.name, "level": area.level}


@extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
class LeaderView(APIView):
    permission_classes = [IsLeader]


class SummaryView(LeaderView):
    """Headline indicators of a period and area with their change against the period before."""

    @extend_schema(parameters=PERIOD_PARAMETERS)
    def get(self, request):
        period, area = period_and_area(request)
        return Response({**layers.summary(period, area), "area": _area_json(area)})


class LayerView(LeaderView):
    """A thematic layer (GeoJSON + legend) for the period and area."""

    @extend_schema(parameters=PERIOD_PARAMETERS + LAYER_PARAMETERS)
    def get(self, request, layer):
        period, area = period_and_area(request)
        text = layers.build(layers.request_from(request.query_params, layer, period, area))
        return HttpResponse(text, content_type="application/json")


class TrendView(LeaderView):
    """Weekly series of an indicator with its forecast, held-out error and anomaly flags."""

    @extend_schema(parameters=[PERIOD_PARAMETERS[-1]])
    def get(self, request, indicator):
        if indicator not in selectors.TREND_SOURCES:
            raise InputError("indicator", f"indicator must be one of {', '.join(selectors.TREND_SOURCES)}")
        area = area_for(request.user, request.query_params.get("area"))
        return Response({**selectors.trend(indicator, area, timezone.now()), "area": _area_json(area)})


def _situation_incident(request, incident_id: int):
    incident = selectors.situation_incident(request.user, incident_id)
    if incident is None:  # elsewhere or nowhere: the same answer, so nothing leaks
        raise Http404("no such incident in your jurisdiction")
    return incident


class PopulationSerializer(serializers.Serializer):
    available = serializers.BooleanField(help_text="whether the city has a population raster")
    total = serializers.IntegerField(allow_null=True, help_text="people in the union of the affected areas")
    areas = serializers.ListField(child=serializers.DictField(), help_text="{id, symbol, population} per area")


class TimelineEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    type = serializers.CharField()
    text = serializers.CharField(allow_blank=True)
    actor = serializers.CharField(allow_null=True)


class SituationSerializer(serializers.Serializer):
    """The situation map's payload (selectors.situation); the page, the reports and the tests read this shape."""

    incident = FeatureField()
    units = FeatureCollectionField(help_text="assigned units: track (LineString or null) and last position")
    annotations = FeatureCollectionField(help_text="symbols drawn on the situation map")
    isolation = RepairOrderMapSerializer(many=True, help_text="repair orders opened for the incident")
    population = PopulationSerializer()
    timeline = TimelineEntrySerializer(many=True)


class SituationView(LeaderView):
    """Everything linked to one incident: units and tracks, drawn symbols, isolation, population, timeline."""

    @extend_schema(responses=SituationSerializer)
    def get(self, request, incident_id):
        situation = selectors.situation(_situation_incident(request, incident_id))
        return Response(SituationSerializer(situation).data)


class AnnotationListView(LeaderView):
    """Draw a symbol (command post, cordon, evacuation route, water source, hazard area) on the situation map."""

    def post(self, request, incident_id):
        incident = _situation_incident(request, incident_id)
        data = request.data if isinstance(request.data, dict) else {}
        annotation = services.add_annotation(
            request.user,
            incident,
            symbol=data.get("symbol"),
            geometry=data.get("geometry"),
            label=data.get("label", ""),
            crs=data.get("crs"),
        )
        return Response(selectors.annotation_feature(annotation), status=201)


class AnnotationDetailView(LeaderView):
    def delete(self, request, incident_id, annotation_id):
        incident = _situation_incident(request, incident_id)
        annotation = Annotation.objects.filter(incident_id=incident.pk, pk=annotation_id).first()
        if annotation is None:
            raise Http404("no such annotation on this incident")
        services.delete_annotation(request.user, incident, annotation)
        return Response(status=204)


class ReportView(LeaderView):
    """A dashboard layer or an incident's situation map as a standalone offline HTML map, PNG or PDF."""

    @extend_schema(parameters=PERIOD_PARAMETERS + LAYER_PARAMETERS + [OpenApiParameter("incident", int)])
    def get(self, request, view, fmt):
        if fmt not in REPORT_FORMATS:
            raise InputError("format", f"format must be one of {', '.join(REPORT_FORMATS)}")
        if view == "situation":
            page, name = self._situation(request)
        elif view in layers.LAYERS:
            page, name = self._layer(request, view)
        else:
            raise InputError("view", f"view must be one of {', '.join((*layers.LAYERS, 'situation'))}")
        body = page.encode() if fmt == "html" else reports.snapshot(page, fmt)
        record_audit(request.user, "export.report", None, f"{name}.{fmt}", source=source_of(request))
        return reports.attachment(body, REPORT_TYPES[fmt], f"{name}.{fmt}")

    def _layer(self, request, view):
        period, area = period_and_area(request)
        built = layers.build_dict(layers.request_from(request.query_params, view, period, area))
        local = timezone.localtime
        where = area.name if area else _("Whole city")
        subtitle = f"{where} · {local(period.start):%Y-%m-%d %H:%M} – {local(period.end):%Y-%m-%d %H:%M}"
        page = reports.layer_report(
            built,
            selectors.collection(selectors.districts(area)),
            title=built["title"],
            subtitle=subtitle,
            source=_source(built["source"]),
        )
        return page, f"cityops-{view}-{local(period.start):%Y%m%d}-{local(period.end):%Y%m%d}"

    def _situation(self, request):
        raw = request.query_params.get("incident")
        if not raw or not raw.isdigit():
            raise InputError("incident", "give the incident id as a number")
        incident = _situation_incident(request, int(raw))
        situation = selectors.situation(incident)
        props = situation["incident"]["properties"]
        situation_map = _("Situation map")
        page = reports.situation_report(
            situation,
            selectors.collection(selectors.districts(area_for(request.user, None))),
            title=f"{situation_map} {props['number']}",
            subtitle=f"{props['type_label']} · {props['address']} · {props['status_label']}",
            source=_source("dispatch"),
        )
        return page, f"cityops-situation-{props['number']}"


def _source(app: str) -> str:
    names = {
        "grid": _("CityOps digital city management (case evaluation)"),
        "dispatch": _("CityOps joint dispatch (incidents and response times)"),
        "pipelines": _("CityOps pipelines (repair orders and isolation plans)"),
    }
    return str(names[app])
