"""Demo-city layer of the decision maps: what the command post has drawn on the live gas leak's situation map."""

from core.models import User

from . import services
from .models import Annotation

# Offsets from the incident in degrees (~100 m apart at Chinese latitudes).
COMMAND_POST = (-0.0025, -0.0012)
CORDON = [(-0.0012, -0.0009), (0.0013, -0.0009), (0.0013, 0.0010), (-0.0012, 0.0010)]


def load_live(context: dict) -> dict:
    incident = context.get("gas_leak_incident")
    if incident is None:
        return {}
    leader = User.objects.get(username="leader")
    x, y = incident.geom.x, incident.geom.y
    services.add_annotation(
        leader,
        incident,
        symbol=Annotation.Symbol.COMMAND_POST,
        geometry={"type": "Point", "coordinates": [x + COMMAND_POST[0], y + COMMAND_POST[1]]},
        label="现场指挥部",
    )
    ring = [[x + dx, y + dy] for dx, dy in CORDON]
    services.add_annotation(
        leader,
        incident,
        symbol=Annotation.Symbol.CORDON,
        geometry={"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
        label="燃气泄漏警戒区",
    )
    return {}


def clear_demo() -> None:
    Annotation.objects.all().delete()
