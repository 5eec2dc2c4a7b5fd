"""MapLibre styles of the base map, served by CityOps: a light one for desks and a dark one for the wall.

No `glyphs` URL on purpose: MapLibre (≥ 5.11) then draws every label with the browser's local fonts named
in `text-font` (and `localIdeographFontFamily` for CJK), so no font file is fetched from anywhere.
Everything comes from one vector source, the `basemap` tile set of gis.tiles.
"""

from __future__ import annotations

FONTS = ["Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", "sans-serif"]
FONTS_BOLD = ["Noto Sans CJK SC Bold", *FONTS]
LOCAL_IDEOGRAPH_FONT_FAMILY = '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif'

PALETTES = {
    "basemap": {
        "background": "#f4f1ea",
        "water": "#a9d3f2",
        "water_label": "#2b6aa3",
        "green": "#cfe8c0",
        "woodland": "#b5daa3",
        "green_label": "#3f7a37",
        "district_line": "#7c6aa6",
        "street_line": "#a99fc4",
        "label": "#24324b",
        "minor_label": "#56657d",
        "halo": "rgba(255,255,255,0.92)",
        "roads": {
            "expressway": ("#f49a42", "#c9742a"),
            "arterial": ("#ffd773", "#d3a93d"),
            "secondary": ("#ffffff", "#b4bfcf"),
            "branch": ("#ffffff", "#c9d1dd"),
        },
    },
    "basemap-dark": {
        "background": "#0b1220",
        "water": "#16324f",
        "water_label": "#7fb2e5",
        "green": "#13291f",
        "woodland": "#173325",
        "green_label": "#6fa88a",
        "district_line": "#6d7fb3",
        "street_line": "#34405e",
        "label": "#d8e1f0",
        "minor_label": "#93a0b8",
        "halo": "rgba(11,18,32,0.9)",
        "roads": {
            "expressway": ("#b2733a", "#0b1220"),
            "arterial": ("#8a7440", "#0b1220"),
            "secondary": ("#3a4663", "#0b1220"),
            "branch": ("#2a3450", "#0b1220"),
        },
    },
}
ROAD_WIDTHS = {  # px at zoom 10, 12, 15, 18
    "expressway": (1.2, 3.2, 9, 22),
    "arterial": (0.8, 2.4, 7, 18),
    "secondary": (0.5, 1.6, 5, 14),
    "branch": (0, 0.8, 3, 10),
}
ROAD_ZOOMS = (10, 12, 15, 18)
SOURCE = "cityops"


def _by_class(values: dict[str, object], fallback) -> list:
    expression: list = ["match", ["get", "road_class"]]
    for name, value in values.items():
        expression += [name, value]
    return [*expression, fallback]


def _road_width(extra: float = 0) -> list:
    expression: list = ["interpolate", ["exponential", 1.5], ["zoom"]]
    for i, zoom in enumerate(ROAD_ZOOMS):
        widths = {name: (w[i] + extra if w[i] > 0 else 0) for name, w in ROAD_WIDTHS.items()}
        expression += [zoom, _by_class(widths, 0)]
    return expression


def _name_label(
    layer_id: str, source_layer: str, minzoom: float, size: int, color: str, halo: dict, layout: dict | None = None
) -> dict:
    """A layer writing each feature's `name` at its label point (water, green and street names)."""
    return {
        "id": layer_id,
        "type": "symbol",
        "source": SOURCE,
        "source-layer": source_layer,
        "minzoom": minzoom,
        "layout": {"text-field": ["get", "name"], "text-font": FONTS, "text-size": size, **(layout or {})},
        "paint": {"text-color": color, **halo},
    }


def build(name: str, tiles_url: str) -> dict:
    """The style `name` ('basemap' | 'basemap-dark'); `tiles_url` is the absolute …/{z}/{x}/{y}.pbf template."""
    p = PALETTES[name]
    halo = {"text-halo-color": p["halo"], "text-halo-width": 1.6, "text-halo-blur": 0.4}
    roads_by_rank = [("branch", "secondary"), ("arterial",), ("expressway",)]
    layers: list[dict] = [
        {"id": "background", "type": "background", "paint": {"background-color": p["background"]}},
        {
            "id": "green",
            "type": "fill",
            "source": SOURCE,
            "source-layer": "green",
            "paint": {
                "fill-color": ["match", ["get", "kind"], "woodland", p["woodland"], p["green"]],
                "fill-opacity": 0.9,
            },
        },
        {
            "id": "water",
            "type": "fill",
            "source": SOURCE,
            "source-layer": "water",
            "paint": {"fill-color": p["water"]},
        },
        {
            "id": "street-boundary",
            "type": "line",
            "source": SOURCE,
            "source-layer": "streets",
            "minzoom": 12,
            "paint": {"line-color": p["street_line"], "line-width": 1, "line-dasharray": [3, 2]},
        },
        {
            "id": "district-boundary",
            "type": "line",
            "source": SOURCE,
            "source-layer": "districts",
            "layout": {"line-join": "round"},
            "paint": {
                "line-color": p["district_line"],
                "line-width": ["interpolate", ["linear"], ["zoom"], 9, 1.2, 15, 3],
            },
        },
    ]
    for classes in roads_by_rank:
        suffix = "-".join(classes)
        road_filter = ["in", ["get", "road_class"], ["literal", list(classes)]]
        # the casing (palette's second colour, wider) under the fill (first colour)
        for prefix, shade, fallback, extra_width in (("road-casing", 1, "#999999", 1.5), ("road", 0, "#cccccc", 0)):
            layers.append(
                {
                    "id": f"{prefix}-{suffix}",
                    "type": "line",
                    "source": SOURCE,
                    "source-layer": "roads",
                    "filter": road_filter,
                    "layout": {"line-join": "round", "line-cap": "round"},
                    "paint": {
                        "line-color": _by_class({k: v[shade] for k, v in p["roads"].items()}, fallback),
                        "line-width": _road_width(extra_width),
                    },
                }
            )
    layers += [
        _name_label("water-label", "water-labels", 12, 13, p["water_label"], halo, {"text-letter-spacing": 0.3}),
        _name_label("green-label", "green-labels", 13, 12, p["green_label"], halo),
        {
            "id": "road-label",
            "type": "symbol",
            "source": SOURCE,
            "source-layer": "roads",
            "minzoom": 13.5,
            "filter": ["!=", ["get", "road_class"], "branch"],
            "layout": {
                "symbol-placement": "line",
                "symbol-spacing": 320,
                "text-field": ["get", "name"],
                "text-font": FONTS,
                "text-size": ["interpolate", ["linear"], ["zoom"], 14, 11, 17, 14],
                "text-max-angle": 30,
            },
            "paint": {"text-color": p["minor_label"], **halo},
        },
        _name_label("street-label", "streets-labels", 12.3, 12, p["minor_label"], halo, {"text-padding": 4}),
        {
            "id": "district-label",
            "type": "symbol",
            "source": SOURCE,
            "source-layer": "districts-labels",
            "layout": {
                "text-field": ["get", "name"],
                "text-font": FONTS_BOLD,
                "text-size": ["interpolate", ["linear"], ["zoom"], 9, 12, 12, 17, 15, 24],
                "text-letter-spacing": 0.12,
                "text-allow-overlap": True,
            },
            "paint": {"text-color": p["label"], **halo, "text-halo-width": 2},
        },
    ]
    return {
        "version": 8,
        "name": "CityOps " + name,
        "metadata": {"cityops:localIdeographFontFamily": LOCAL_IDEOGRAPH_FONT_FAMILY},
        "sources": {SOURCE: {"type": "vector", "tiles": [tiles_url], "minzoom": 0, "maxzoom": 16}},
        "layers": layers,
    }
