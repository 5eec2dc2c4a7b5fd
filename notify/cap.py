"""Public warnings in CAP 1.2 (OASIS Common Alerting Protocol), the format alerting systems exchange: one alert
per warning, and an Atom feed indexing them (as public alerting feeds do)."""

from django.conf import settings
from django.utils import timezone
from lxml import etree

from .models import PublicWarning

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
LANGUAGE = "zh-CN"


def cap_time(value) -> str:
    """CAP's dateTime: with a numeric offset, never "Z" (CAP 1.2, 3.3.2)."""
    return timezone.localtime(value).replace(microsecond=0).isoformat()


def polygon_text(polygon) -> str:
    """CAP polygon: "lat,lon" pairs separated by spaces, first and last the same (WGS84)."""
    return " ".join(f"{lat:.6f},{lon:.6f}" for lon, lat in polygon.exterior_ring.coords)


def circle_text(center, radius_km: float) -> str:
    return f"{center.y:.6f},{center.x:.6f} {radius_km:g}"


def reference_text(warning: PublicWarning) -> str:
    return f"{settings.CITYOPS_CAP_SENDER},{warning.identifier},{cap_time(warning.sent)}"


def alert_element(warning: PublicWarning) -> etree._Element:
    alert = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})

    def add(parent, name, text):
        element = etree.SubElement(parent, f"{{{CAP_NS}}}{name}")
        element.text = text
        return element

    add(alert, "identifier", warning.identifier)
    add(alert, "sender", settings.CITYOPS_CAP_SENDER)
    add(alert, "sent", cap_time(warning.sent))
    add(alert, "status", warning.status)
    add(alert, "msgType", warning.msg_type)
    add(alert, "scope", "Public")
    if warning.references is not None:
        add(alert, "references", reference_text(warning.references))
    info = add(alert, "info", None)
    add(info, "language", LANGUAGE)
    add(info, "category", warning.category)
    add(info, "event", warning.event)
    add(info, "urgency", warning.urgency)
    add(info, "severity", warning.severity)
    add(info, "certainty", warning.certainty)
    add(info, "headline", warning.headline)
    add(info, "description", warning.description)
    if warning.instruction:
        add(info, "instruction", warning.instruction)
    area = add(info, "area", None)
    add(area, "areaDesc", warning.area_desc)
    if warning.polygon is not None:
        add(area, "polygon", polygon_text(warning.polygon))
    if warning.circle_center is not None:
        add(area, "circle", circle_text(warning.circle_center, warning.circle_radius_km))
    return alert


def alert_xml(warning: PublicWarning) -> bytes:
    return etree.tostring(alert_element(warning), xml_declaration=True, encoding="UTF-8", pretty_print=True)


def feed_xml(warnings, base_url: str, title: str) -> bytes:
    """An Atom feed of the alerts, newest first; each entry links to its CAP document."""
    feed = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})

    def add(parent, name, text=None, **attrs):
        element = etree.SubElement(parent, f"{{{ATOM_NS}}}{name}", **attrs)
        element.text = text
        return element

    warnings = list(warnings)
    add(feed, "id", f"{base_url}/warnings/cap/")
    add(feed, "title", title)
    add(feed, "updated", cap_time(warnings[0].sent if warnings else timezone.now()))
    add(feed, "link", rel="self", href=f"{base_url}/warnings/cap/")
    author = add(feed, "author")
    add(author, "name", settings.CITYOPS_CAP_SENDER)
    for warning in warnings:
        entry = add(feed, "entry")
        add(entry, "id", f"urn:cityops:cap:{warning.identifier}")
        add(entry, "title", warning.headline)
        add(entry, "updated", cap_time(warning.sent))
        add(entry, "summary", warning.description[:280])
        href = f"{base_url}/warnings/cap/{warning.identifier}.xml"
        add(entry, "link", rel="alternate", type="application/cap+xml", href=href)
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def warning_json(warning: PublicWarning) -> dict:
    return {
        "identifier": warning.identifier,
        "sent": cap_time(warning.sent),
        "status": warning.status,
        "msg_type": warning.msg_type,
        "references": warning.references.identifier if warning.references_id else None,
        "category": warning.category,
        "event": warning.event,
        "urgency": warning.urgency,
        "severity": warning.severity,
        "certainty": warning.certainty,
        "headline": warning.headline,
        "description": warning.description,
        "instruction": warning.instruction,
        "area_desc": warning.area_desc,
        "cap_url": f"/warnings/cap/{warning.identifier}.xml",
    }
