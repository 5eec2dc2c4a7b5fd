"""CQL2 (text and JSON) → Django Q, through pygeofilter, checked against a layer's allow-list first.

pygeofilter's Django backend passes unknown attribute names straight to the ORM (``owner__password``
would become ``Q(owner__password__exact=…)``), so every attribute in the AST is checked against the
layer's queryables *before* ``to_filter`` runs, and only our own name → ORM path mapping is used.
User text never becomes SQL: the ORM builds parameterised queries from the validated Q.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from django.db.models import Q
from pygeofilter import ast, values
from pygeofilter.backends.django.evaluate import DjangoFilterEvaluator
from pygeofilter.backends.evaluator import handle
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text

from core.errors import InputError

from .layers import BOOLEAN, DATETIME, GEOMETRY_QUERYABLE, INTEGER, NUMBER, STRING, Layer

LANGUAGES = ("cql2-text", "cql2-json")
MAX_FILTER_LENGTH = 20_000


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


class _Evaluator(DjangoFilterEvaluator):
    """pygeofilter's Django evaluator with a correct LIKE (its own drops `_` and an all-`%` pattern)."""

    @handle(ast.Like)
    def like(self, node, lhs):
        lookup = "iregex" if node.nocase else "regex"
        q = Q(**{f"{lhs.name}__{lookup}": like_regex(node.pattern)})
        return ~q if node.not_ else q


def parse(text, lang: str = "cql2-text"):
    """Parse a CQL2 filter (text, or JSON given as a string or an already decoded object) into an AST."""
    if lang not in LANGUAGES:
        raise FilterError(f"unsupported filter-lang {lang!r}; use one of {', '.join(LANGUAGES)}", "filter-lang")
    if isinstance(text, str) and len(text) > MAX_FILTER_LENGTH:
        raise FilterError(f"filter longer than {MAX_FILTER_LENGTH} characters")
    try:
        if lang == "cql2-text":
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


def to_q(text, lang: str, layer: Layer) -> Q:
    """Parse, check against the layer's allow-list, and translate to a Q (raises FilterError)."""
    node = parse(text, lang)
    check(node, layer)
    try:
        q = _Evaluator(layer.field_mapping(), None).evaluate(node)
    except (NotImplementedError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise FilterError(f"unsupported filter: {_reason(exc) or type(exc).__name__}") from None
    if not isinstance(q, Q):
        raise FilterError("the filter is not a condition")
    return q
