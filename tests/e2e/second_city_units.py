"""A fire brigade for the second city's browser test, run in `manage.py shell` on that city's own database: one
agency and three fire engines, put on the city's roads through the GPS ingest's own service (as their terminals'
first fixes would), spread from the first road to the last."""

from django.utils import timezone

from core.models import Organisation
from dispatch.models import Vehicle
from dispatch.tracks import Fix, record_fixes
from gis.models import Road

ENGINES = 3


def seed() -> None:
    brigade = Organisation.objects.create(
        code="RESCUE-119", name="Rescue department", kind=Organisation.Kind.AGENCY, agency=Organisation.Agency.FIRE
    )
    roads = list(Road.objects.order_by("id").values_list("geom", flat=True))
    now = timezone.now()
    fixes = []
    for n in range(ENGINES):
        engine = Vehicle.objects.create(
            call_sign=f"E{n + 1}", kind=Vehicle.Kind.FIRE_ENGINE, agency=brigade, jt808_phone=f"1390000000{n}"
        )
        lon, lat = roads[n * (len(roads) - 1) // (ENGINES - 1)].coords[0]
        fixes.append(Fix(engine.jt808_phone, engine.pk, now, lat, lon))
    result = record_fixes(fixes)
    assert not any(result.refused), result.refused
