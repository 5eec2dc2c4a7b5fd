"""`manage.py setup_city`: a real city on a fresh database, from its data (see README "Setting up a real city").

    setup_city --name 某市 --boundary city.shp [--areas district=districts.gpkg ...] [--roads city.osm.pbf]
    setup_city --name Helsinki --osm helsinki.osm.pbf --country FI --crs EPSG:3067

The areas come from boundary files (anything GDAL reads) or from the boundary relations of the OSM extract (the
extract's hull is the city when it has none); roads from the OSM extract through `import_osm`; the profile keeps
the projected CRS, the country, the map home view and an optional external base layer.
"""

from pathlib import Path

import shapely
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core import city, services
from core.errors import InputError


def _levels(text: str) -> dict[int, str]:
    """'5,6,8,10' → the OSM admin_level of the city, district, street and community (fewer: the upper ones)."""
    parts = [part.strip() for part in text.split(",")]
    if not 1 <= len(parts) <= len(city.LEVELS) or not all(part.isdigit() for part in parts):
        raise CommandError("--admin-levels takes up to four OSM admin_level numbers: city,district,street,community")
    return dict(zip(map(int, parts), city.LEVELS, strict=False))


class Command(BaseCommand):
    help = "Set up a real city on a fresh database: boundary, administrative areas, roads and its profile."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="the city's name, as the consoles show it")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--boundary", type=Path, help="the city's outline: a file GDAL reads (its polygons)")
        source.add_argument("--osm", type=Path, help="an OSM PBF extract: boundary relations (else its hull), roads")
        parser.add_argument(
            "--areas",
            action="append",
            default=[],
            metavar="LEVEL=FILE",
            help="administrative areas of one level (district, street or community) from a file; repeatable",
        )
        parser.add_argument("--name-field", default="name", help="the areas' name attribute (default: name)")
        parser.add_argument("--code-field", default="code", help="the areas' code attribute (default: code)")
        parser.add_argument("--code", default="", help="the city's code (GB/T 2260, e.g. 440300; default 000000)")
        parser.add_argument(
            "--admin-levels",
            help="OSM admin_level of the city, district, street, community (default for CN: 5,6,8,10)",
        )
        parser.add_argument("--roads", type=Path, help="an OSM PBF extract to take the roads from (with --boundary)")
        parser.add_argument("--country", default="CN", help="ISO 3166-1 alpha-2 code (default CN)")
        parser.add_argument("--crs", help="projected CRS, EPSG:<code> (default for CN: the CGCS2000 3° zone)")
        parser.add_argument("--center", help="map home centre lon,lat (default: the boundary's)")
        parser.add_argument("--zoom", type=float, help="map home zoom (default: the boundary fits the screen)")
        parser.add_argument("--base-layer", default="", help="external XYZ/WMTS tile URL template with {z} {x} {y}")
        parser.add_argument("--base-layer-attribution", default="", help="the external base layer's attribution")

    def handle(self, *args, **opts):
        country = opts["country"].strip().upper()
        try:
            with transaction.atomic():
                areas, left_out = self._areas(opts, country)
                profile = services.create_city(
                    areas,
                    name=opts["name"],
                    country=country,
                    projected_srid=self._srid(opts["crs"]),
                    home=self._home(opts, areas[0]),
                    base_layer_url=opts["base_layer"],
                    base_layer_attribution=opts["base_layer_attribution"],
                )
                roads = opts["osm"] or opts["roads"]
                if roads:
                    # the country picks the road import's default speeds; one transaction with the areas
                    call_command("import_osm", str(roads), country=country, stdout=self.stdout)
        except InputError as exc:
            raise CommandError(f"{exc.field}: {exc.detail}") from None
        if left_out:
            self.stdout.write(f"{len(left_out)} areas lie outside the city and were left out")
        self.stdout.write(
            self.style.SUCCESS(
                f"city {profile.name} set up: {len(areas)} areas, EPSG:{profile.projected_srid}, "
                f"home {profile.home_center.x:.5f},{profile.home_center.y:.5f} zoom {profile.home_zoom}"
            )
        )

    def _areas(self, opts, country: str) -> tuple[list[city.Area], list[city.Area]]:
        fields = {"name_field": opts["name_field"], "code_field": opts["code_field"]}
        lower = []
        for item in opts["areas"]:
            level, _, path = item.partition("=")
            if level not in city.LEVELS[1:] or not path:
                raise CommandError(f"--areas takes district=FILE, street=FILE or community=FILE, not {item!r}")
            lower += city.read_areas(self._file(Path(path)), level, **fields)
        if opts["boundary"]:
            outline = city.read_areas(self._file(opts["boundary"]), "city", **fields)
            whole = city.Area(
                name=opts["name"],
                level="city",
                geometry=shapely.union_all([a.geometry for a in outline]),
                code=opts["code"] or (outline[0].code if len(outline) == 1 else ""),
            )
            return city.nest(whole, lower)
        pbf = self._file(opts["osm"])
        if opts["admin_levels"]:
            levels = _levels(opts["admin_levels"])
        elif country == "CN":
            levels = city.CHINA_ADMIN_LEVELS
        else:
            levels = {}
        relations = city.read_osm_areas(pbf, levels) if levels else []
        cities = [a for a in relations if a.level == "city"]
        if len(cities) > 1:
            cities = [a for a in cities if a.name == opts["name"]]
            if len(cities) != 1:
                names = ", ".join(sorted(a.name for a in relations if a.level == "city"))
                raise CommandError(f"the extract holds several cities ({names}); give one of them as --name")
        outline = cities[0].geometry if cities else city.osm_extent(pbf)
        whole = city.Area(name=opts["name"], level="city", geometry=outline, code=opts["code"])
        return city.nest(whole, [a for a in relations if a.level != "city"] + lower)

    @staticmethod
    def _file(path: Path) -> Path:
        if not path.is_file():
            raise CommandError(f"no file {path}")
        return path

    @staticmethod
    def _srid(text: str | None) -> int | None:
        if not text:
            return None
        code = text.strip().upper().removeprefix("EPSG:")
        if not code.isdigit():
            raise CommandError(f"--crs takes EPSG:<code>, not {text!r}")
        return int(code)

    @staticmethod
    def _home(opts, whole: city.Area) -> tuple[float, float, float] | None:
        if opts["center"] is None and opts["zoom"] is None:
            return None
        lon, lat, zoom = city.home_view(whole.geometry.bounds)
        if opts["center"]:
            try:
                lon, lat = (float(v) for v in opts["center"].split(","))
            except ValueError:
                raise CommandError("--center takes lon,lat") from None
        return lon, lat, opts["zoom"] if opts["zoom"] is not None else zoom
