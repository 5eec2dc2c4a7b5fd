"""CQL2 (text and JSON) → Django Q, through pygeofilter, checked against a layer's allow-list first.

pygeofilter's Django backend passes unknown attribute names straight to the ORM (``owner__password``
would become ``Q(owner__password__exact=…)``), so every attribute in the AST is checked against the
layer's queryables *before* ``to_filter`` runs, and only our own name → ORM path mapping is used.
User text never becomes SQL: the ORM builds parameterised queries from the validated Q.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path

import pygeofilter.parsers
from django.contrib.gis.measure import D
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from lark import Lark, v_args
from pygeofilter import ast, values
from pygeofilter.backends.django.evaluate import DjangoFilterEvaluator
from pygeofilter.backends.evaluator import handle
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from pygeofilter.parsers.cql2_text.parser import CQLTransformer

from core.errors import InputError

from .layers import BOOLEAN, DATETIME, GEOMETRY_QUERYABLE, INTEGER, NUMBER, STRING, Layer

LANGUAGES = ("cql2-text", "cql2-json", "cql-text")
"""`cql-text` is the draft name GDAL's OAPIF driver looks for before it sends a filter: parsed as CQL2 text, with
GDAL's way of writing a timestamp ('2024-05-01T08:00:00Z', a quoted string) and a boolean (0/1) understood."""
TEXT_LANGUAGES = ("cql2-text", "cql-text")
MAX_FILTER_LENGTH = 20_000
MAX_DISTANCE_M = 100_000
METRES_PER_UNIT = {"meters": 1.0, "metres": 1.0, "kilometers": 1000.0, "kilometres": 1000.0}


class FilterError(InputError):
    """A filter the client must fix; `field` is the query parameter (or property) at fault."""

    def __init__(self, detail: str, field: str = "filter"):
        super().__init__(field, detail)


def like_regex(pattern: str) -> str:
    """A CQL2 LIKE pattern (`%` any run, `_` one character, `\\` escapes) as an anchored regular expression."""
    out, escaped = ["^"], False
    for char in pattern:
        if escaped:
            out.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append(re.escape(char))
    if escaped:
        out.append(re.escape("\\"))
    out.append("$")
    return "".join(out)


# CQL2 text as pygeofilter parses it, plus one distance predicate it lacks (CQL2 1.0 has none; the planner's
# "within N metres of a feature" needs one): S_DWITHIN(geometry, <geometry>, <distance>, meters|kilometers);
# and strings holding a quote, which CQL2 writes doubled ('O''Brien') and pygeofilter's grammar ends at the first.
_GRAMMAR_DIR = Path(pygeofilter.parsers.__file__).parent
_SPATIAL_RULE = "?spatial_predicate: "
_S_DWITHIN_RULE = (
    _SPATIAL_RULE + '"S_DWITHIN"i "(" expression "," expression "," full_number "," DISTANCE_UNIT ")" -> s_dwithin\n'
    "                  | "
)
_grammar = (_GRAMMAR_DIR / "cql2_text" / "grammar.lark").read_text()
if _grammar.count(_SPATIAL_RULE) != 1:  # a pygeofilter upgrade changed its grammar: fail at start, not per request
    raise ImportError("pygeofilter's CQL2 text grammar has changed; update gis.cql's S_DWITHIN rule")
_DISTANCE_UNIT = "\nDISTANCE_UNIT: /(meters|metres|kilometers|kilometres)\\b/i\n"
_SINGLE_QUOTED = 'SINGLE_QUOTED: "\'" /.*?/ "\'"'
if _grammar.count(_SINGLE_QUOTED) != 1:
    raise ImportError("pygeofilter's CQL2 text grammar has changed; update gis.cql's SINGLE_QUOTED rule")
_grammar = _grammar.replace(_SPATIAL_RULE, _S_DWITHIN_RULE).replace(_SINGLE_QUOTED, "SINGLE_QUOTED: /'(?:[^']|'')*'/")
_grammar += _DISTANCE_UNIT


@v_args(inline=True)
class _TextTransformer(CQLTransformer):
    def SINGLE_QUOTED(self, token):  # lark calls a terminal's callback by its name
        return token[1:-1].replace("''", "'")

    def s_dwithin(self, lhs, rhs, distance, units):
        return ast.DistanceWithin(lhs, rhs, distance, str(units).lower())


_text_parser = Lark(
    _grammar,
    parser="lalr",
    maybe_placeholders=False,
    transformer=_TextTransformer(),
    import_paths=[str(_GRAMMAR_DIR), str(_GRAMMAR_DIR / "cql2_text")],
)


def parse_cql2_text(text: str):
    return _text_parser.parse(text)


def _degrees_margin(geometry, metres: float) -> float:
    """Degrees of longitude (the shorter way at the geometry's latitude) that surely span `metres`."""
    lat = max(abs(geometry.extent[1]), abs(geometry.extent[3])) + metres / 110_000
    return metres / (111_320 * math.cos(math.radians(min(lat, 89.0)))) * 1.01


class _Evaluator(DjangoFilterEvaluator):
    """pygeofilter's Django evaluator with a correct LIKE (its own drops `_` and an all-`%` pattern) and
    distances in metres on the spheroid (with an index-friendly degree box first)."""

    @handle(ast.Like)
    def like(self, node, lhs):
        lookup = "iregex" if node.nocase else "regex"
        q = Q(**{f"{lhs.name}__{lookup}": like_regex(node.pattern)})
        return ~q if node.not_ else q

    @handle(ast.SpatialDistancePredicate, subclasses=True)
    def spatial_distance(self, node, lhs, rhs):
        if not isinstance(node, ast.DistanceWithin):
            raise FilterError("only S_DWITHIN is supported among the distance predicates")
        if not hasattr(rhs, "extent"):
            raise FilterError("S_DWITHIN compares the geometry with a geometry literal")
        unit = str(node.units).lower()
        if unit not in METRES_PER_UNIT:
            raise FilterError(f"unknown distance unit {node.units!r}; use meters or kilometers")
        metres = float(node.distance) * METRES_PER_UNIT[unit]
        if not 0 <= metres <= MAX_DISTANCE_M:
            raise FilterError(f"the distance must be 0…{MAX_DISTANCE_M} m")
        near = Q(**{f"{lhs.name}__dwithin": (rhs, _degrees_margin(rhs, metres))})
        return near & Q(**{f"{lhs.name}__distance_lte": (rhs, D(m=metres), "spheroid")})


def parse(text, lang: str = "cql2-text"):
    """Parse a CQL2 filter (text, or JSON given as a string or an already decoded object) into an AST."""
    if lang not in LANGUAGES:
        raise FilterError(f"unsupported filter-lang {lang!r}; use one of {', '.join(LANGUAGES)}", "filter-lang")
    if isinstance(text, str) and len(text) > MAX_FILTER_LENGTH:
        raise FilterError(f"filter longer than {MAX_FILTER_LENGTH} characters")
    try:
        if lang in TEXT_LANGUAGES:
            return parse_cql2_text(text)
        data = json.loads(text) if isinstance(text, str | bytes) else text
        if not isinstance(data, dict):
            raise FilterError("a CQL2-JSON filter must be a JSON object")
        return parse_cql2_json(data)
    except FilterError:
        raise
    except json.JSONDecodeError as exc:
        raise FilterError(f"invalid CQL2-JSON: {exc}") from None
    except Exception as exc:  # lark's UnexpectedInput & co., ValueError/KeyError from the JSON parser
        raise FilterError(f"invalid {lang}: {_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    reason = lines[0] if lines else type(exc).__name__
    return reason[:300]


_LITERAL_CHECKS = {
    STRING: lambda v: isinstance(v, str),
    NUMBER: lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    INTEGER: lambda v: isinstance(v, int) and not isinstance(v, bool),
    BOOLEAN: lambda v: isinstance(v, bool),
    DATETIME: lambda v: isinstance(v, dt.date | dt.datetime),
}


def attribute_names(node) -> set[str]:
    """Every attribute (property) name used anywhere in the AST."""
    names: set[str] = set()
    _walk(node, names)
    return names


def _walk(node, names: set[str]) -> None:
    if isinstance(node, ast.Attribute):
        names.add(node.name)
    elif isinstance(node, ast.Function):
        raise FilterError(f"function {node.name!r} is not supported")
    elif isinstance(node, ast.Node):
        for sub in node.get_sub_nodes():
            _walk(sub, names)
    elif isinstance(node, list | tuple):
        for sub in node:
            _walk(sub, names)


def check(node, layer: Layer) -> None:
    """Raise FilterError naming the first property the layer does not expose, or a literal of the wrong type."""
    allowed = layer.field_mapping()
    for name in sorted(attribute_names(node)):
        if name not in allowed:
            raise FilterError(
                f"unknown property {name!r}; queryables of {layer.id}: {', '.join(sorted(allowed))}", "filter"
            )
    _check_types(node, layer)


def _check_types(node, layer: Layer) -> None:
    if isinstance(node, ast.Comparison | ast.In | ast.Between | ast.Like):
        lhs = node.lhs
        if isinstance(lhs, ast.Attribute):
            if lhs.name == GEOMETRY_QUERYABLE:
                raise FilterError(f"{lhs.name!r} can only be used in spatial predicates")
            kind = layer.properties[lhs.name].type
            if isinstance(node, ast.Like):
                literals = [node.pattern]
                if kind != STRING:
                    raise FilterError(f"LIKE needs a string property; {lhs.name!r} is {kind}")
            elif isinstance(node, ast.In):
                literals = list(node.sub_nodes)
            elif isinstance(node, ast.Between):
                literals = [node.low, node.high]
            else:
                literals = [node.rhs]
            for literal in literals:
                if isinstance(literal, ast.Node | values.Geometry | values.Envelope):
                    continue
                if kind == NUMBER and isinstance(literal, int | float) and not isinstance(literal, bool):
                    continue
                if not _LITERAL_CHECKS[kind](literal):
                    raise FilterError(f"property {lhs.name!r} is {kind}; got {literal!r}")
    if isinstance(node, ast.TemporalPredicate):
        for side in (node.lhs, node.rhs):
            if isinstance(side, ast.Attribute) and layer.properties[side.name].type != DATETIME:
                raise FilterError(f"temporal predicates need a datetime property; {side.name!r} is not one")
    if isinstance(node, ast.SpatialComparisonPredicate | ast.BBox | ast.SpatialDistancePredicate | ast.Relate):
        sides = [node.lhs] + ([node.rhs] if hasattr(node, "rhs") else [])
        for side in sides:
            if isinstance(side, ast.Attribute) and side.name != GEOMETRY_QUERYABLE:
                raise FilterError(f"spatial predicates take {GEOMETRY_QUERYABLE!r}; got {side.name!r}")
    if isinstance(node, ast.Node):
        for sub in node.get_sub_nodes():
            _check_types(sub, layer)


def _gdal_timestamp(text: str) -> dt.datetime | None:
    """GDAL writes a date-time as '2024-05-01T08:00:00Z' and a date as '2024-05-01T'."""
    try:
        value = parse_datetime(text)
        if value is None and (day := parse_date(text.removesuffix("T"))):
            value = dt.datetime.combine(day, dt.time.min)
    except ValueError:
        return None
    return timezone.make_aware(value, dt.UTC) if value and timezone.is_naive(value) else value


def _read_gdal_literals(node, layer: Layer) -> None:
    """Give a cql-text comparison's literal the property's type where GDAL writes it otherwise."""
    if isinstance(node, ast.Comparison) and isinstance(node.lhs, ast.Attribute) and node.lhs.name in layer.properties:
        kind = layer.properties[node.lhs.name].type
        if kind == DATETIME and isinstance(node.rhs, str):
            node.rhs = _gdal_timestamp(node.rhs) or node.rhs
        elif kind == BOOLEAN and node.rhs in (0, 1) and not isinstance(node.rhs, bool):
            node.rhs = bool(node.rhs)
    if isinstance(node, ast.Node):
        for sub in node.get_sub_nodes():
            _read_gdal_literals(sub, layer)


def to_q(text, lang: str, layer: Layer) -> Q:
    """Parse, check against the layer's allow-list, and translate to a Q (raises FilterError)."""
    node = parse(text, lang)
    if lang == "cql-text":
        _read_gdal_literals(node, layer)
    check(node, layer)
    try:
        q = _Evaluator(layer.field_mapping(), None).evaluate(node)
    except FilterError:
        raise
    except (NotImplementedError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise FilterError(f"unsupported filter: {_reason(exc) or type(exc).__name__}") from None
    if not isinstance(q, Q):
        raise FilterError("the filter is not a condition")
    return q
