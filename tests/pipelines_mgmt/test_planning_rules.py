"""GB 50289 rule look-up, clearance geometry, replacement warnings and building a network from lines (no database)."""

import shapely

from pipelines_mgmt import clearance, maintenance, topology


def test_every_row_of_the_shipped_table_loads_with_its_confidence():
    rules = clearance.load_rules()
    assert len(rules) == 157
    assert {rule.kind for rule in rules} == {"horizontal", "vertical", "cover"}
    assert {rule.confidence for rule in rules} <= {"H", "M", "L"}
    sewer_building = next(r for r in rules if (r.type_a, r.type_b) == ("building", "sewer_storm"))
    assert sewer_building.min_m == 2.5 and sewer_building.severity == "error"


def test_a_pair_gets_the_largest_matching_minimum_in_either_order():
    book = clearance.RuleBook.of("horizontal")
    small_water = clearance.pipe_types("water", 150)
    large_water = clearance.pipe_types("water", 500)
    sewer = clearance.pipe_types("drainage", 800)
    assert book.required(small_water, sewer).min_m == 1.0
    assert book.required(sewer, large_water).min_m == 1.5
    gas_b = clearance.pipe_types("gas", 200, "medium_b")
    assert book.required(sewer, gas_b).min_m == 1.2
    assert book.required(large_water, gas_b).min_m == 0.5
    # Gas to gas: 0.4 m up to DN300, 0.5 m when either is larger.
    assert book.required(gas_b, clearance.pipe_types("gas", 300, "medium_a")).min_m == 0.4
    assert book.required(gas_b, clearance.pipe_types("gas", 400, "medium_a")).min_m == 0.5
    # Unknown gas pressure class: the strictest class applies (fail closed).
    assert book.required(sewer, clearance.pipe_types("gas", 200, "")).min_m == 2.0
    assert book.required(small_water, large_water) is None  # no water-to-water row in table 4.1.9


def test_vertical_and_cover_rules():
    vertical = clearance.RuleBook.of("vertical")
    assert vertical.required(clearance.pipe_types("drainage"), clearance.pipe_types("water")).min_m == 0.40
    assert vertical.required(clearance.pipe_types("gas"), clearance.pipe_types("water")).min_m == 0.15
    cover = clearance.RuleBook.of("cover")
    assert cover.required(clearance.pipe_types("gas"), ["under_motor_lane"]).min_m == 0.9
    assert cover.required(clearance.pipe_types("water"), ["under_sidewalk_or_non_motor_lane"]).min_m == 0.6


def test_clearance_geometry():
    assert clearance.horizontal_clearance(2.0, 500, 300) == 1.6
    assert clearance.horizontal_clearance(2.0, None, None) == 2.0
    # Gas DN200 with its crown at 1.0 m over water with its crown at 1.3 m: 0.1 m between them.
    assert round(clearance.vertical_clearance(1.3, 500, 1.0, 200), 3) == 0.1
    assert round(clearance.vertical_clearance(1.0, 200, 1.3, 500), 3) == 0.1
    assert clearance.vertical_clearance(1.0, 600, 1.3, 200) < 0  # they collide


def test_replacement_warnings():
    assert maintenance.pipe_warning("water", "ductile_iron", 2015, 0, 2026) is None
    old = maintenance.pipe_warning("water", "cast_iron", 1980, 0, 2026)
    assert old.level == "replace" and old.reasons[0][0] == "over_life"
    near = maintenance.pipe_warning("water", "cast_iron", 1992, 0, 2026)
    assert near.level == "inspect" and near.reasons[0] == ("near_life", {"age": 34, "life": 40})
    repeated = maintenance.pipe_warning("gas", "pe", 2018, 2, 2026)
    assert repeated.level == "replace" and repeated.reasons == (("repeated_repairs", {"count": 2, "years": 5}),)
    assert maintenance.pipe_warning("gas", "pe", 2018, 1, 2026).level == "inspect"
    assert maintenance.valve_warning("inoperable", 2020, 0, 2026).level == "replace"
    assert maintenance.valve_warning("unknown", 2000, 0, 2026).reasons[0][0] == "never_exercised"
    assert maintenance.valve_warning("working", 2000, 0, 2026) is None
    assert old.rank < near.rank


def line(*xy):
    return shapely.LineString(xy)


def test_build_snaps_ends_splits_tees_and_places_valves():
    lines = [
        (line((0, 0), (100, 0)), {"code": "main"}),
        (line((50.2, 0.3), (50, 80)), {"code": "branch"}),  # ends on the main's body: a tee
        (line((100.3, 0), (200, 0)), {"code": "next"}),  # 0.3 m gap at the main's end: snapped
    ]
    valves = [(shapely.Point(150, 0), {"code": "V1"}), (shapely.Point(50, 3), {"code": "V2"})]
    sources = [(shapely.Point(0, 0), {"code": "S"})]
    built = topology.build_from_lines(lines, valves, sources, tolerance=0.5)
    # The main is split at the tee; "next" and the branch at their valves, which are drawn on their bodies.
    assert len(built.pipes) == 6
    assert len(built.node_xy) == 7
    assert built.split_count == 3
    assert built.node_kind.count("source") == 1
    assert len(built.valves) == 2
    # V2 sits 3 m up the branch: on a branch piece, at the node made where it lies.
    pipe, node, *_ = built.valves[1]
    assert built.pipes[pipe][3]["code"] == "branch" and node in built.pipes[pipe][:2]
    assert built.report.ok and built.report.counts["isolated_component"] == 0


def test_lines_that_do_not_connect_are_reported_with_locations():
    lines = [
        (line((0, 0), (100, 0)), {}),
        (line((101.5, 0), (200, 0)), {}),  # 1.5 m gap: beyond the snap tolerance, a near miss
        (line((0, 500), (100, 500)), {}),  # far away: its own island
    ]
    built = topology.build_from_lines(lines, [(shapely.Point(400, 400), {"code": "lost"})], [], tolerance=0.5)
    counts = built.report.counts
    assert counts["near_miss"] == 1 and counts["isolated_component"] == 2 and counts["valve_not_on_pipe"] == 1
    assert not built.report.ok
    near_miss = next(d for d in built.report.defects if d.kind == "near_miss")
    assert (round(near_miss.x), round(near_miss.y)) in {(100, 0), (102, 0)}
