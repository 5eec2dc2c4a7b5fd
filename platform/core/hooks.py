"""Typed reactions between apps: the app where something happens fires a hook after its commit; the apps that
react connect a handler from their AppConfig.ready(). So no domain app imports another to tell it something,
and a handler that fails is logged with its name and the payload, never silently dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from django.contrib.gis.geos import Point
from django.db import transaction

log = logging.getLogger(__name__)
Payload = TypeVar("Payload")


class Hook(Generic[Payload]):
    def __init__(self, name: str):
        self.name = name
        self._handlers: list[Callable[[Payload], object]] = []

    def connect(self, handler: Callable[[Payload], object]) -> None:
        if handler not in self._handlers:
            self._handlers.append(handler)

    def fire_on_commit(self, payload: Payload) -> None:
        """Run every handler once the caller's transaction has committed (at once outside one)."""
        transaction.on_commit(lambda: self._run(payload))

    def fire_in_transaction(self, payload: Payload) -> None:
        """Run every handler now, inside the caller's transaction: for a reaction that must commit or roll back with
        the fact (an outbox row). A handler that fails fails the caller, so the fact is never without its row."""
        for handler in self._handlers:
            handler(payload)

    def _run(self, payload: Payload) -> None:
        for handler in self._handlers:
            try:
                handler(payload)
            except Exception:  # the fact stands; the reaction can be redone by hand, so it must be seen
                log.exception("hook %s: handler %s failed for %r", self.name, handler.__qualname__, payload)


@dataclass(frozen=True)
class IncidentOpened:
    """A new incident: where it is, the utility network its type concerns ("" for none; "gas", "water"), and whether
    it is a drill's (an exercise: what it opens is an exercise too)."""

    incident_id: int
    point: Point
    utility: str
    exercise: bool = False


incident_opened: Hook[IncidentOpened] = Hook("incident.opened")


@dataclass(frozen=True)
class StoredFix:
    """One position as committed to the track: ``positioned`` False when the terminal said it had no satellite fix
    (its coordinates are then the last known ones)."""

    vehicle_id: int
    at: datetime
    lon: float
    lat: float
    speed_kmh: float
    positioned: bool


@dataclass(frozen=True)
class PositionsStored:
    """A batch of positions committed by any GPS path (JT/T 808 ingest, OsmAnd, the demo), refused fixes left out."""

    fixes: tuple[StoredFix, ...]


positions_stored: Hook[PositionsStored] = Hook("positions.stored")


@dataclass(frozen=True)
class CaseStepsRecorded:
    """Lines just added to cases' histories (grid's CaseTransition ids, in the order written: a report, a workflow
    transition, a step another app recorded), fired inside the transaction that writes them."""

    transition_ids: tuple[int, ...]


case_steps_recorded: Hook[CaseStepsRecorded] = Hook("case.steps_recorded")
