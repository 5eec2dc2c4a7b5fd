"""`manage.py import_inp`: EPANET models through WNTR's reader into the database, all or nothing."""

from collections import defaultdict
from pathlib import Path

import pyproj
import pytest
import wntr
from django.conf import settings
from django.core.management import CommandError, call_command
from wntr.metrics.topographic import valve_segments
from wntr.network.layer import generate_valve_layer

from core.models import AuditEntry
from pipelines_mgmt.graph import network_graph
from pipelines_mgmt.models import Network, Node, Pipe, Valve

pytestmark = pytest.mark.django_db
LIBRARY = Path(wntr.__file__).parent / "library" / "networks"
NET3 = LIBRARY / "Net3.inp"
ORIGIN = (507000.0, 2494000.0)  # EPSG:4547 metres inside the demo city


def import_inp(path, code, *extra):
    call_command("import_inp", str(path), "--network", code, *extra)
    return Network.objects.get(code=code)


def offset_args(scale=30, model_origin=(0.0, 0.0)):
    """Place the model's `model_origin` at ORIGIN, `scale` metres per model unit."""
    x, y = (ORIGIN[i] - scale * model_origin[i] for i in (0, 1))
    return ["--offset-x", str(x), "--offset-y", str(y), "--scale", str(scale)]


def model_args(path):
    """Georeference of a library model: Net3 is drawn in small units, the Kentucky models in state-plane feet."""
    if path.stem.startswith("ky"):
        xy = [node.coordinates for _, node in wntr.network.WaterNetworkModel(str(path)).nodes()]
        return offset_args(0.3048, (min(x for x, _ in xy), min(y for _, y in xy)))
    return offset_args()


def rows():
    return Network.objects.count(), Node.objects.count(), Pipe.objects.count(), Valve.objects.count()


def test_net3_counts_equal_wntr(demo_city):
    model = wntr.network.WaterNetworkModel(str(NET3))
    network = import_inp(NET3, "net3", *offset_args())
    nodes = Node.objects.filter(network=network)
    pipes = Pipe.objects.filter(network=network)
    assert nodes.count() == model.num_nodes == 97
    assert nodes.filter(kind="junction").count() == model.num_junctions
    assert nodes.filter(source_kind="reservoir").count() == model.num_reservoirs
    assert nodes.filter(source_kind="tank").count() == model.num_tanks
    assert pipes.count() == model.num_links == 119
    assert pipes.filter(link_type="pipe").count() == model.num_pipes
    assert pipes.filter(link_type="pump").count() == model.num_pumps
    assert not Valve.objects.filter(pipe__network=network).exists()
    assert network.version > 0 and network.owner.code == "SZ-WATER-GROUP"

    link = model.get_link("20")
    pipe = pipes.get(code="20")
    assert (pipe.start_node.code, pipe.end_node.code) == (link.start_node_name, link.end_node_name)
    assert pipe.length_m == pytest.approx(link.length) and pipe.diameter_mm == pytest.approx(link.diameter * 1000)
    x, y = model.get_node("10").coordinates
    expected = pyproj.Transformer.from_crs(settings.CITYOPS_METRIC_SRID, 4326, always_xy=True).transform(
        ORIGIN[0] + 30 * x, ORIGIN[1] + 30 * y
    )
    assert nodes.get(code="10").geom.coords == pytest.approx(expected, abs=1e-9)


def partition(node_segment, pipe_segment):
    groups = defaultdict(set)
    for node, segment in node_segment.items():
        groups[segment].add(("node", node))
    for pipe, segment in pipe_segment.items():
        groups[segment].add(("pipe", pipe))
    return {frozenset(group) for group in groups.values()}


@pytest.mark.parametrize("model_name", ["Net3", "ky10"])
def test_imported_network_has_wntrs_valve_segments(demo_city, model_name):
    """Generated valve layer → Valve rows; the stored network's segments equal WNTR's, segment by segment."""
    path = LIBRARY / f"{model_name}.inp"
    network = import_inp(path, model_name.lower(), *model_args(path), "--valve-layer", "strategic", "--valve-n", "2")
    model = wntr.network.WaterNetworkModel(str(path))
    layer = generate_valve_layer(model, "strategic", 2, seed=123)  # the command's default seed
    valves = Valve.objects.filter(pipe__network=network)
    assert valves.filter(code__startswith="V-").count() == len(layer)
    assert valves.filter(code__startswith="CV-").count() == model.num_valves
    node_segments, link_segments, _ = valve_segments(model.to_graph(), layer)
    expected = partition(node_segments.to_dict(), link_segments.to_dict())

    node_code = dict(Node.objects.filter(network=network).values_list("id", "code"))
    pipe_code = dict(Pipe.objects.filter(network=network).values_list("id", "code"))
    # The EPANET control valves get an isolation valve too, which WNTR's layer does not have: leave them out.
    graph = network_graph(network.pk).isolation
    for valve_id in valves.filter(code__startswith="CV-").values_list("id", flat=True):
        graph.set_valve_state(valve_id, operability="inoperable")
    ours_nodes, ours_pipes = graph.valve_segments()
    ours = partition({node_code[k]: v for k, v in ours_nodes.items()}, {pipe_code[k]: v for k, v in ours_pipes.items()})
    assert len(ours) == len(expected) > 10
    assert ours == expected


def test_control_valves_become_links_with_an_isolation_valve(demo_city):
    network = import_inp(LIBRARY / "ky10.inp", "ky10-cv", *model_args(LIBRARY / "ky10.inp"))
    model = wntr.network.WaterNetworkModel(str(LIBRARY / "ky10.inp"))
    controls = Pipe.objects.filter(network=network, link_type="control_valve")
    assert set(controls.values_list("code", flat=True)) == set(model.valve_name_list)
    for valve in Valve.objects.filter(pipe__network=network).select_related("pipe", "node"):
        assert valve.code == f"CV-{valve.pipe.code}" and valve.node_id == valve.pipe.start_node_id


def test_epsg_georeference_equals_the_offset_one(demo_city, tmp_path):
    """Net3 redrawn in EPSG:4547 metres and imported with --georef lands where the offset import puts it."""
    model = wntr.network.WaterNetworkModel(str(NET3))
    for _, node in model.nodes():
        node.coordinates = (ORIGIN[0] + 30 * node.coordinates[0], ORIGIN[1] + 30 * node.coordinates[1])
    for _, link in model.links():
        link.vertices = [(ORIGIN[0] + 30 * x, ORIGIN[1] + 30 * y) for x, y in link.vertices]
    wntr.network.write_inpfile(model, str(tmp_path / "net3-4547.inp"))
    projected = import_inp(tmp_path / "net3-4547.inp", "net3-4547", "--georef", "EPSG:4547")
    offset = import_inp(NET3, "net3-offset", *offset_args())
    for code in ("River", "10", "255"):
        a = Node.objects.get(network=projected, code=code).geom.coords
        b = Node.objects.get(network=offset, code=code).geom.coords
        assert a == pytest.approx(b, abs=1e-8)


def broken_copy(tmp_path, old, new, name="broken.inp"):
    text = NET3.read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("[PIPES]\n", "[PIPES]\n 9999 nosuchnode 20 99 99 199 0 Open ;\n", "undefined node, 'nosuchnode', at line"),
        ("[PIPES]\n", "[PIPES]\n 9998 10 20 long 99 199 0 Open ;\n", "illegal link property value"),
        (
            "\n10              \t9.000",
            "\n;10 9.000",
            "1 node(s) have no [COORDINATES] in broken.inp, so cannot be placed: 10",
        ),
    ],
)
def test_a_broken_file_is_a_clear_error_and_imports_nothing(demo_city, tmp_path, old, new, fragment):
    before = rows()
    with pytest.raises(CommandError, match="nothing was imported") as error:
        import_inp(broken_copy(tmp_path, old, new), "broken", *offset_args())
    assert fragment in str(error.value)
    assert rows() == before


def test_a_failure_while_writing_leaves_nothing_behind(demo_city, monkeypatch):
    """Nodes and pipes are written before the valves: a failure there must roll all of it back."""
    before = rows()

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Valve.objects, "bulk_create", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        import_inp(NET3, "half", *offset_args(), "--valve-layer", "random", "--valve-n", "10")
    assert rows() == before


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ([], "need a georeference"),
        (["--georef", "EPSG:4326", "--offset-x", "1", "--offset-y", "2"], "not both"),
        (["--georef", "UTM50"], "must look like EPSG"),
        (["--georef", "EPSG:999999"], "unknown CRS"),
        (["--offset-x", "0", "--offset-y", "0", "--owner", "NOBODY"], "unknown owner"),
    ],
)
def test_bad_options_are_refused(demo_city, args, fragment):
    before = rows()
    with pytest.raises(CommandError, match=fragment):
        import_inp(NET3, "opts", *args)
    assert rows() == before


def test_an_existing_network_code_is_refused(demo_city):
    with pytest.raises(CommandError, match="already exists"):
        import_inp(NET3, "sz-water", *offset_args())


def test_the_command_line_import_is_audited(demo_city):
    network = import_inp(NET3, "net3-audited", *offset_args())
    audit = AuditEntry.objects.get(action="network.import", target_id=str(network.pk))
    assert audit.actor is None and audit.summary == "net3-audited from Net3.inp"
    assert audit.changes == {"nodes": 97, "links": 119, "generated_valves": 0}


def test_a_file_that_is_not_a_model_is_refused_by_its_first_bytes(demo_city, tmp_path):
    path = tmp_path / "model.inp"
    path.write_bytes(b"PK\x03\x04 a zip named .inp")
    with pytest.raises(CommandError, match=r"\(expected EPANET model content\); nothing was imported"):
        import_inp(path, "not-a-model", *offset_args())
