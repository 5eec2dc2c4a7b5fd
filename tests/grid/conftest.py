"""Set-up the grid tests share."""

import pytest
from django.contrib.gis.geos import Point

from core.models import AdminArea


@pytest.fixture
def spot(demo_city) -> Point:
    """A point inside the small demo city's first community (so inside a unit grid, a street and a district)."""
    return AdminArea.objects.filter(level="community").order_by("code").first().geom.point_on_surface
