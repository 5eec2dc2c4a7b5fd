"""The burst map of the printed repair order: plain SVG from metric geometries (no database)."""

import shapely

from pipelines_mgmt.printing import burst_map_svg


def test_burst_map_is_self_contained_svg_with_escaped_labels():
    svg = burst_map_svg(
        background=[shapely.LineString([(0, 0), (500, 0)])],
        isolated=[shapely.LineString([(100, 0), (200, 0)])],
        outage=[shapely.MultiLineString([[(200, 0), (300, 0)], [(300, 0), (300, 50)]])],
        valves=[("1", shapely.Point(100, 0)), ("<2>", shapely.Point(200, 0)), ("3", shapely.Point(201, 1))],
        closed_valves=[shapely.Point(300, 50)],
        burst=shapely.Point(150, 0),
        customers=[shapely.Point(160, 10)],
        extent=(50, -50, 350, 100),
    )
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('class="iso"') == 1 and svg.count('class="out"') == 2 and svg.count('class="bg"') == 1
    assert "&lt;2&gt;" in svg and "<2>" not in svg
    assert svg.count('class="lead"') == 2  # valves 2 and 3 are a metre apart: labels moved apart, with leaders
    assert "href" not in svg and "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
