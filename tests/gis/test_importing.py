"""The import pipeline (gis/importing.py): every registered handler reads a real file of its type, a file whose
name lies about its content is refused by its first bytes, zip bombs and unsafe zips are refused before they are
unpacked, the size limit is checked before a byte is read; and a file gives the same rows through the API and
the command line, each import with its audit row."""

import io as stdio
import re
import zipfile
from pathlib import Path

import geopandas as gpd
import prcoords
import pytest
import shapely
import wntr
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from core.errors import InputError
from core.models import AuditEntry
from gis import importing, io
from gis.models import Dataset, DatasetFeature

POINTS = gpd.GeoDataFrame(
    {"name": ["甲站", "乙站"], "容量": [10, 25]},
    geometry=[shapely.Point(114.05, 22.54), shapely.Point(114.06, 22.55)],
    crs=4326,
)
NET3 = Path(wntr.__file__).parent / "library" / "networks" / "Net3.inp"
GEOJSON = POINTS.to_json(drop_id=True).encode()


def received(name: str, content: bytes, formats=importing.VECTOR_FORMATS, **options):
    return importing.receive(SimpleUploadedFile(name, content), formats, **options)


def test_every_builtin_vector_format_is_registered():
    assert set(importing.VECTOR_FORMATS) == set(io.FORMATS)  # what can be exported can be imported
    assert importing.handler("inp").label == "EPANET model"  # registered by pipelines_mgmt's AppConfig.ready()


@pytest.mark.parametrize("fmt", importing.VECTOR_FORMATS)
def test_each_vector_handler_reads_a_file_of_its_type_to_wgs84(tmp_path, fmt):
    path = io.write(POINTS, fmt, tmp_path, "stations")
    with received(path.name, path.read_bytes()) as file:
        assert file.handler is importing.handler(fmt)
        read = importing.read_vector(file)
    assert list(read.frame.index) == [1, 2]  # row numbers in the file
    assert read.frame.crs.to_epsg() == 4326
    assert list(read.frame["name"]) == ["甲站", "乙站"]
    for geometry, expected in zip(read.frame.geometry, POINTS.geometry, strict=True):
        assert shapely.equals_exact(geometry, expected, 1e-9)


def test_the_epanet_handler_reads_a_model():
    with received("Net3.inp", NET3.read_bytes(), formats=("inp",)) as file:
        model = file.handler.read(file)
    assert model.num_nodes == 97 and model.num_links == 119


def test_a_zip_of_several_shapefiles_is_a_file_of_layers(tmp_path):
    folder = tmp_path / "layers"
    folder.mkdir()
    POINTS.to_file(folder / "stations.shp", encoding="UTF-8")
    lines = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.LineString([(114.05, 22.54), (114.06, 22.55)])], crs=4326)
    lines.to_file(folder / "mains.shp", encoding="UTF-8")
    archive = stdio.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for part in sorted(folder.iterdir()):
            zipped.write(part, f"export/{part.name}")
    with received("network.zip", archive.getvalue()) as file:
        assert sorted(file.handler.layers(file)) == [("mains", "LineString"), ("stations", "Point")]
        assert importing.read_vector(file, layer="mains").frame.geom_type.tolist() == ["LineString"]


def test_the_users_crs_wins_and_gcj02_is_undone():
    shifted = prcoords.wgs_gcj(prcoords.Coords(22.54, 114.05))  # the file says WGS84, as AMap exports do
    content = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(shifted.lon, shifted.lat)], crs=4326).to_json()
    with received("amap.geojson", content.encode()) as file:
        read = importing.read_vector(file, crs="gcj02")
    assert read.source_crs == "gcj02" and not read.assumed_crs
    assert (read.frame.geometry[1].x, read.frame.geometry[1].y) == pytest.approx((114.05, 22.54), abs=1e-7)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("stations.gpkg", GEOJSON),
        ("stations.zip", b"SQLite format 3\x00" + bytes(100)),
        ("stations.geojson", b"<html><body>not a map</body></html>"),
        ("stations.json", b"MZ\x90\x00\x03\x00\x00\x00 an executable"),
        ("stations.kml", GEOJSON),
        ("stations.csv", b"MZ\x90\x00\x03\x00\x00\x00 an executable"),
    ],
)
def test_a_file_whose_name_lies_is_refused_by_its_first_bytes(name, content):
    with pytest.raises(InputError, match="does not hold what it claims") as refused, received(name, content):
        pass
    assert refused.value.field == "file"


def test_an_inp_name_on_another_file_and_a_format_that_lies_are_refused():
    with pytest.raises(InputError, match="expected EPANET model"), received("n.inp", GEOJSON, formats=("inp",)):
        pass
    with pytest.raises(InputError, match="expected GeoPackage"), received("stations.geojson", GEOJSON, fmt="gpkg"):
        pass


def test_a_type_the_target_does_not_take_is_named():
    pipelines = ("shp", "gpkg", "geojson")
    named = r"give a \.zip \(zipped shapefile\), \.gpkg \(GeoPackage\) or \.geojson \(GeoJSON\) file"
    with pytest.raises(InputError, match=named), received("stations.csv", b"lon,lat\n114,22\n", formats=pipelines):
        pass
    with pytest.raises(InputError, match="unsupported format") as refused, received("a.geojson", GEOJSON, fmt="dwg"):
        pass
    assert refused.value.field == "format"


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = stdio.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ({"bomb.shp": b"\0" * (300 * 1024 * 1024), "bomb.dbf": b""}, "zip bomb"),
        ({"../../outside.shp": b"x" * 100, "../../outside.dbf": b"x" * 100}, "unsafe path"),
        ({f"part{i}.txt": b"x" for i in range(70)}, "at most 64"),
        ({"readme.txt": b"no shapefile here"}, "no .shp file"),
    ],
)
def test_unsafe_zips_are_refused_before_they_are_unpacked(entries, reason):
    content = _zip(entries)
    assert len(content) < 2 * 1024 * 1024
    with pytest.raises(InputError, match=reason), received("roads.zip", content):
        pass


def test_the_size_limit_is_checked_before_a_byte_is_read(settings, tmp_path):
    settings.CITYOPS_IMPORT_MAX_BYTES = 100
    path = tmp_path / "big.geojson"
    path.write_bytes(GEOJSON)
    handle = path.open("rb")
    handle.close()  # reading it now would fail: the refusal must come from the size alone
    with (
        pytest.raises(InputError, match="at most 100") as refused,
        importing.receive(File(handle, name=path.name), importing.VECTOR_FORMATS),
    ):
        pass
    assert refused.value.field == "file"


def test_errors_name_the_file_and_not_the_servers_folders():
    broken = b'{"type": "FeatureCollection", "feat'
    with received("broken.geojson", broken) as file, pytest.raises(InputError) as refused:
        importing.read_vector(file)
    assert refused.value.detail.startswith("broken.geojson is not a readable GeoJSON")
    assert not re.search(r"/(tmp|var|work|home|root)/|cityops-|upload", refused.value.detail)


# ------------------------------------------------------------------------- one path for the API and the command


@pytest.mark.django_db
def test_a_dataset_through_the_api_and_the_command_gives_the_same_rows_and_an_audit_row_each(api, tmp_path, settings):
    settings.VAR_DIR = tmp_path / "var"
    path = io.write(POINTS, "gpkg", tmp_path, "stations")
    client = api("planner")
    upload = stdio.BytesIO(path.read_bytes())
    upload.name = path.name
    preview = client.post("/api/gis/imports/", {"file": upload}, format="multipart").json()
    done = client.post(f"/api/gis/imports/{preview['id']}/commit/", {"slug": "via-api", "title": "泵站"}, format="json")
    assert done.status_code == 201, done.content
    call_command("import_layer", str(path), slug="via-cli", title="泵站", user="planner", stdout=stdio.StringIO())

    def rows(slug):
        features = DatasetFeature.objects.filter(dataset__slug=slug).order_by("id")
        return [(f.properties, f.geom.wkt) for f in features]

    assert rows("via-api") == rows("via-cli") and len(rows("via-api")) == 2
    for slug in ("via-api", "via-cli"):
        dataset = Dataset.objects.get(slug=slug)
        audit = AuditEntry.objects.get(action="dataset.import", target_id=str(dataset.pk))
        assert audit.actor.username == "planner" and audit.summary == f"ds-{slug} from stations.gpkg"
