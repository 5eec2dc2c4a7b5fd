"""Saving and deleting a planner's queries (a layer and a CQL2 text filter), checked as the items endpoint checks
a filter, so a saved query always runs."""

from __future__ import annotations

import unicodedata

from django.db import IntegrityError, transaction

from core.errors import Forbidden, InputError
from core.models import Role

from . import cql, layers
from .models import SavedQuery

QUERY_ROLES = (Role.PLANNER, Role.OPERATOR, Role.LEADER, Role.ADMIN)
"""Who uses the planner workbench's query builder (and so may keep queries)."""
NAME_MAX = 100


def clean_name(raw) -> str:
    name = " ".join(str(raw or "").split())
    if not name:
        raise InputError("name", "give the query a name")
    if len(name) > NAME_MAX:
        raise InputError("name", f"the name is longer than {NAME_MAX} characters")
    if any(unicodedata.category(char).startswith("C") for char in name):
        raise InputError("name", "the name contains control or invisible characters")
    return name


def readable_layer(user, layer_id) -> layers.Layer:
    """The layer, if it exists and the user's roles may read it; otherwise a 400 that does not reveal which."""
    layer = layers.get(str(layer_id or ""))
    if layer is None or not layer.readable_by(user):
        raise InputError("layer", f"no layer {layer_id!r}")
    return layer


def save_query(user, *, name, layer_id, cql2: str = "", shared: bool = False) -> SavedQuery:
    if not user.has_role(*QUERY_ROLES):
        raise Forbidden("saving queries needs the planner, operator, leader or administrator role")
    name = clean_name(name)
    layer = readable_layer(user, layer_id)
    text = (cql2 or "").strip()
    if text:
        cql.to_q(text, "cql2-text", layer)  # FilterError (400) naming the problem
    if SavedQuery.objects.filter(owner=user, name=name).exists():
        raise InputError("name", f"you already have a query named {name!r}")
    try:
        with transaction.atomic():
            return SavedQuery.objects.create(
                owner=user,
                organisation_id=user.organisation_id,
                name=name,
                layer=layer.id,
                cql2=text,
                shared=bool(shared) and user.organisation_id is not None,
            )
    except IntegrityError:  # the same name saved twice at once
        raise InputError("name", f"you already have a query named {name!r}") from None


def delete_query(user, query: SavedQuery) -> None:
    if query.owner_id != user.pk:
        raise Forbidden("only the owner may delete a saved query")
    query.delete()
