"""Open311 GeoReport v2 (mounted at /open311/v2/): the citizen and 12345-hotline channel into the case workflow.

Mapping (grid-standards.md §6.1): a service is a case category (GB/T 47678.5-2026 codes; the major class is
the ``group``), a service request is a case (``service_request_id`` = the case number), the detailed stage
stays internal and is exposed as ``open``/``closed`` with the stage name in ``status_notes``; the handling
deadline is ``expected_datetime`` and the department ``agency_responsible``.

Reading is public, as the spec has it, but only of the requests the city publishes: by default those citizens
filed through Open311 (``CITYOPS_OPEN311_PUBLIC_CHANNELS`` adds the hotline's or the inspectors' own reports);
anything else is a 404 like a missing number. Creating needs an ``api_key`` (an :class:`Open311Client` row, or
``CITYOPS_OPEN311_KEYS`` = "name:key,…"). JSON and XML (``.json`` / ``.xml``); errors are a list of
``{"code", "description"}``. A POST may carry an ``Idempotency-Key`` header, so a hotline system that resends
after a timeout creates the case once. Uploaded ``media`` is checked like every photo; a ``media_url`` is
kept as given (the intranet does not fetch from outside). A request with an ``address_string`` and no lat/long is
placed by the address geocoder when it knows that door exactly.
"""

import hashlib
import hmac
from datetime import datetime, time, timedelta
from xml.etree import ElementTree as ET

from django.conf import settings
from django.contrib.gis.geos import Point
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from core.errors import InputError
from core.geo import parse_point
from core.parsers import CONTROL_CHARACTERS
from gis import geocoder

from . import services, workflow
from .models import Case, CasePhoto, Category, Open311Client
from .photos import check_photo

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-23T00:00:00+08:00"
MAX_RESULTS = 1000
DEFAULT_WINDOW = timedelta(days=90)
CONTACT_FIELDS = ("email", "device_id", "account_id", "first_name", "last_name", "phone", "media_url")
_ATTRIBUTE = {
    "variable": True,
    "code": "component_ident",
    "datatype": "string",
    "required": False,
    "datatype_description": "设施标识牌上的编号（17 位或 16 位）/ the number on the asset's plate (17 or 16 digits)",
    "order": 1,
    "description": "设施编号 / Asset number",
}


def _render(data, fmt: str, root: str, item: str | None = None, status: int = 200) -> HttpResponse:
    """JSON as is; XML as <root><item>…</item>…</root> for a list, or <root>…</root> for one object."""
    if fmt == "json":
        return JsonResponse(data, status=status, safe=False, json_dumps_params={"ensure_ascii": False})
    top = ET.Element(root)
    if item is None:
        _xml(top, data)
    for entry in data if item is not None else []:
        _xml(ET.SubElement(top, item), entry)
    body = ET.tostring(top, encoding="unicode", xml_declaration=True)
    return HttpResponse(body, status=status, content_type="text/xml; charset=utf-8")


def _xml(element, value) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            _xml(ET.SubElement(element, key), sub)
    elif isinstance(value, list):
        singular = {"endpoints": "endpoint", "formats": "format", "attributes": "attribute", "values": "value",
                    "keywords": "keyword"}.get(element.tag, "item")  # fmt: skip
        for sub in value:
            _xml(ET.SubElement(element, singular), sub)
    elif value is not None:
        text = str(value).lower() if isinstance(value, bool) else str(value)
        element.text = CONTROL_CHARACTERS.sub("", text)  # XML 1.0 has no place for them, whatever path stored them


def _errors(fmt: str, status: int, description: str) -> HttpResponse:
    return _render([{"code": status, "description": description}], fmt, "errors", "error", status)


def _fmt(fmt: str) -> str:
    if fmt not in ("json", "xml"):
        raise Http404
    return fmt


# GeoReport v2 is its own published specification (what 311 clients read), not part of our OpenAPI schema.
@extend_schema(exclude=True)
class Open311View(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def handle_exception(self, exc):
        fmt = self.kwargs.get("fmt", "json") if self.kwargs.get("fmt") in ("json", "xml") else "json"
        if isinstance(exc, InputError):
            return _errors(fmt, 400, f"{exc.field}: {exc.detail}")
        if isinstance(exc, Http404):
            return _errors(fmt, 404, "not found")
        return super().handle_exception(exc)


class DiscoveryView(Open311View):
    def get(self, request, fmt):
        fmt = _fmt(fmt)
        base = request.build_absolute_uri("/open311/v2/")
        data = {
            "changeset": CHANGESET,
            "contact": "数字化城市管理监督指挥中心 / city management supervision and command centre",
            "key_service": "向数字城管中心申请 API key / ask the city management centre for an API key",
            "endpoints": [
                {"specification": SPEC_URL, "url": base, "changeset": CHANGESET, "type": "production",
                 "formats": ["application/json", "text/xml"]}
            ],
        }  # fmt: skip
        return _render(data, fmt, "discovery")


def _services():
    return Category.objects.filter(active=True, scheme="gbt47678").order_by("code")


def _service(category: Category) -> dict:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": f"{category.major_name} / {category.name}（{category.name_en}）",
        "metadata": True,
        "type": "realtime",
        "keywords": category.name_en,
        "group": category.major_name,
    }


class ServiceListView(Open311View):
    def get(self, request, fmt):
        fmt = _fmt(fmt)
        return _render([_service(c) for c in _services()], fmt, "services", "service")


class ServiceDefinitionView(Open311View):
    def get(self, request, code, fmt):
        fmt = _fmt(fmt)
        if not _services().filter(code=code).exists():
            raise Http404
        return _render({"service_code": code, "attributes": [_ATTRIBUTE]}, fmt, "service_definition")


def _iso(value: datetime | None) -> str | None:
    return timezone.localtime(value).isoformat() if value else None


def _request_json(case: Case, request, photo_id: int | None) -> dict:
    closed = case.stage in workflow.TERMINAL_STATES
    return {
        "service_request_id": case.number,
        "status": "closed" if closed else "open",
        "status_notes": workflow.STATE_LABELS[workflow.State(case.stage)],
        "service_name": case.category.name,
        "service_code": case.category.code,
        "description": case.description,
        "agency_responsible": case.department.name if case.department_id else None,
        "service_notice": None,
        "requested_datetime": _iso(case.reported_at),
        "updated_datetime": _iso(case.closed_at or case.voided_at or case.updated_at),
        "expected_datetime": _iso(case.handling_deadline),
        "address": case.address,
        "address_id": case.grid.code if case.grid_id else None,
        "zipcode": None,
        "lat": case.geom.y,
        "long": case.geom.x,
        "media_url": request.build_absolute_uri(f"/open311/v2/media/{photo_id}") if photo_id else None,
    }


def _citizen_photos(cases) -> dict[int, int]:
    """The first photo of each citizen request (only what the citizen sent is public)."""
    rows = CasePhoto.objects.filter(case__in=cases, case__channel=Case.Channel.OPEN311, transition__action="report")
    out: dict[int, int] = {}
    for case_id, pk in rows.order_by("pk").values_list("case_id", "pk"):
        out.setdefault(case_id, pk)
    return out


def _moment(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None and (day := parse_date(value)) is not None:
        parsed = datetime.combine(day, time(0))
    if parsed is None:
        raise InputError(name, "use ISO 8601 (e.g. 2026-11-23T08:00:00+08:00)")
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


ADDRESS_MIN_SCORE = 0.75  # the road and the number both matched (geocoder.WEIGHTS)


def _address_point(text: str) -> Point:
    """GeoReport v2 lets a request carry ``address_string`` instead of lat/long: it is placed at the geocoder's best
    candidate, but only one standing for the door or building asked for — a guess along the road would send the
    inspector to the wrong place, so anything less is a 400 asking for lat/long."""
    if not text:
        raise InputError("lat/long", "lat and long, or an address_string, are required")
    if len(text) > geocoder.MAX_QUERY_CHARS:
        raise InputError("address_string", f"longer than {geocoder.MAX_QUERY_CHARS} characters")
    candidates = geocoder.geocode(text, limit=1)["candidates"]
    best = candidates[0] if candidates else None
    if best is None or best["precision"] not in ("door", "building") or best["score"] < ADDRESS_MIN_SCORE:
        raise InputError("address_string", f"{text!r} is not an address the city knows exactly; send lat and long")
    return Point(*best["point"]["coordinates"], srid=4326)


def _client(key: str) -> Open311Client | None:
    if not key:
        return None
    digest = hashlib.sha256(key.encode()).hexdigest()
    found = Open311Client.objects.filter(key_sha256=digest, active=True).first()
    if found is not None:
        return found
    for entry in settings.CITYOPS_OPEN311_KEYS:
        name, _, configured = entry.partition(":")
        if configured and hmac.compare_digest(configured, key):
            return Open311Client.objects.get_or_create(name=name, defaults={"key_sha256": digest})[0]
    return None


def published_requests():
    """The cases the city shows the public: those of the channels it publishes."""
    return Case.objects.filter(channel__in=settings.CITYOPS_OPEN311_PUBLIC_CHANNELS)


class RequestListView(Open311View):
    def get(self, request, fmt):
        fmt = _fmt(fmt)
        p = request.query_params
        qs = published_requests().select_related("category", "department", "grid")
        if p.get("service_request_id"):
            qs = qs.filter(number__in=[n.strip() for n in p["service_request_id"].split(",") if n.strip()])
        else:
            end = _moment(p.get("end_date"), "end_date") or timezone.now()
            start = _moment(p.get("start_date"), "start_date") or end - DEFAULT_WINDOW
            qs = qs.filter(reported_at__gte=start, reported_at__lte=end)
            if p.get("service_code"):
                qs = qs.filter(category__code__in=p["service_code"].split(","))
            status = p.get("status")
            if status not in (None, "", "open", "closed"):
                raise InputError("status", "status must be open or closed")
            terminal = [str(s) for s in workflow.TERMINAL_STATES]
            if status == "open":
                qs = qs.exclude(stage__in=terminal)
            elif status == "closed":
                qs = qs.filter(stage__in=terminal)
        cases = list(qs.order_by("-reported_at")[:MAX_RESULTS])
        photos = _citizen_photos(cases)
        data = [_request_json(c, request, photos.get(c.pk)) for c in cases]
        return _render(data, fmt, "service_requests", "request")

    def post(self, request, fmt):
        fmt = _fmt(fmt)
        data = request.data
        client = _client(str(data.get("api_key", "")))
        if client is None:
            return _errors(fmt, 403, "api_key missing or not valid")
        if data.get("lat") in (None, "") or data.get("long") in (None, ""):
            point = _address_point(str(data.get("address_string", "")).strip())
        else:
            point = parse_point(data.get("long"), data.get("lat"), "wgs84")
        media = request.FILES.getlist("media")
        contact = {k: str(data[k])[:200] for k in CONTACT_FIELDS if data.get(k)}
        name = " ".join(x for x in (contact.get("first_name"), contact.get("last_name")) if x)
        if name:
            contact["name"] = name
        report = services.Report(
            category_code=str(data.get("service_code", "")),
            position=point,
            description=str(data.get("description", ""))[:4000],
            address=str(data.get("address_string", ""))[:200],
            photos=[check_photo(f, "media") for f in media],
            reporter_contact=contact,
        )
        key = request.headers.get("Idempotency-Key", "").strip()[:100] or None
        try:
            case, created = services.report_case(None, report, idempotency_key=key, open311_client=client)
        except services.IdempotencyConflict as exc:
            return _errors(fmt, 409, str(exc))
        notice = "已受理，案件将由数字城管中心立案派遣 / received; the centre will register and dispatch it"
        body = [{"service_request_id": case.number, "service_notice": notice, "account_id": None}]
        return _render(body, fmt, "service_requests", "request", status=201 if created else 200)


class RequestDetailView(Open311View):
    def get(self, request, number, fmt):
        fmt = _fmt(fmt)
        case = published_requests().select_related("category", "department", "grid").filter(number=number).first()
        if case is None:
            raise Http404
        photos = _citizen_photos([case])
        return _render([_request_json(case, request, photos.get(case.pk))], fmt, "service_requests", "request")


class MediaView(Open311View):
    """The photo a citizen sent with a request (public, like the request itself)."""

    def get(self, request, pk):
        photo = CasePhoto.objects.filter(pk=pk, case__channel=Case.Channel.OPEN311, transition__action="report").first()
        if photo is None:
            raise Http404
        return FileResponse(photo.image.open("rb"), content_type=photo.content_type)
