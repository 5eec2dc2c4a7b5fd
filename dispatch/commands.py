"""Commands to vehicles (JT/T 808 downlink): validation, queueing, the state changes the ingest makes, reads.

A command is a row first (``queued``); the ingest holding the terminal's session claims it with a conditional
UPDATE (→ ``sent``, so two replicas never both send one), and the terminal's answer makes it ``answered`` or
``failed``; past ``expires_at`` an unanswered one is ``expired``. Queueing tells the ingest processes with a
PostgreSQL NOTIFY sent at commit (never before the row is visible; lost while no ingest listens, which is why
they also re-scan the queue every few seconds and on every authentication). Every state change is an event
on topic "incidents" (orgs: the vehicle's agency), so consoles follow it live under the same row rule.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound

from core.errors import InputError
from core.events import publish_many
from core.geo import parse_geometry
from core.models import AdminArea, Organisation, User
from core.realtime import Viewer
from core.services import record_audit

from . import jt808, selectors
from .features import iso
from .models import CommandBatch, TerminalCommand, Vehicle, VehicleGroup

Kind = TerminalCommand.Kind
State = TerminalCommand.State
NOTIFY_CHANNEL = "cityops_terminal_commands"
NOTIFY_ALL = "*"  # payload: re-scan every connected terminal (too many vehicles to name)
PENDING = (State.QUEUED, State.SENT)
# One frame carries at most 1023 body bytes; the flag and (2019) text-type bytes come first. Longer texts would
# need JT/T 808 subpackages, which terminals support unevenly.
TEXT_MAX_BYTES = jt808.MAX_BODY_LENGTH - 2
CALL_NUMBER_MAX = 20
TRACKING_INTERVAL_S = (1, 3600)
TRACKING_VALIDITY_S = (10, 86400)
EXPIRES_IN_S = (60, 7 * 86400)  # the API's bounds of a command's lifetime
DEFAULT_EXPIRES_IN_S = 86400
BATCH_TARGETS = [t for t in CommandBatch.Target.values if t != CommandBatch.Target.VEHICLE]
MAX_BATCH_VEHICLES = 5000
POSITIVE_PARAMS = {0x0001, 0x0027, 0x0028, 0x0029}  # intervals: 0 would stop the terminal reporting
TERMINAL_KINDS = [k for k in Kind.values if k != Kind.TEXT]  # what only a JT/T 808 terminal can do
# The command kinds an answer can settle, by the message id it answers (0x0001 names it) or its own id.
KINDS_ANSWERED_BY = {
    jt808.MsgId.TEXT_MESSAGE: {Kind.TEXT},
    jt808.MsgId.POSITION_QUERY: {Kind.POSITION_QUERY},
    jt808.MsgId.TEMPORARY_TRACKING: {Kind.TRACKING},
    jt808.MsgId.SET_PARAMS: {Kind.SET_PARAMS},
    jt808.MsgId.QUERY_ALL_PARAMS: {Kind.QUERY_PARAMS},
    jt808.MsgId.QUERY_PARAMS: {Kind.QUERY_PARAMS},
    jt808.MsgId.CALL_BACK: {Kind.CALL_BACK},
    jt808.MsgId.VEHICLE_CONTROL: {Kind.VEHICLE_CONTROL},
    jt808.MsgId.TERMINAL_PARAMS: {Kind.QUERY_PARAMS},
    jt808.MsgId.POSITION_ANSWER: {Kind.POSITION_QUERY},
    jt808.MsgId.CONTROL_ANSWER: {Kind.VEHICLE_CONTROL},
}
# Kinds whose success is a dedicated answer: a 0x0001 "ok" only says the terminal got them (stop resending).
DEDICATED_ANSWER = {Kind.POSITION_QUERY, Kind.QUERY_PARAMS, Kind.VEHICLE_CONTROL}


# -- validation ----------------------------------------------------------------------------------------


def _mapping(value, field: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(field, _("must be a JSON object"))
    return value


def _flag(params: dict, name: str) -> bool:
    value = params.get(name, False)
    if not isinstance(value, bool):
        raise InputError(f"params.{name}", _("must be true or false"))
    return value


def _whole_number(value, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(field, _("must be a whole number from %(low)s to %(high)s") % {"low": low, "high": high})
    return value


def _integer(params: dict, name: str, low: int, high: int) -> int:
    return _whole_number(params.get(name), f"params.{name}", low, high)


def _param_id(raw, field: str) -> int:
    try:
        value = raw if isinstance(raw, int) and not isinstance(raw, bool) else int(str(raw), 0)
    except ValueError:
        raise InputError(field, _('%(id)r is not a parameter id (e.g. "0x0029")') % {"id": raw}) from None
    if value not in jt808.PARAM_TYPES:
        known = ", ".join(f"0x{i:04X}" for i in jt808.PARAM_TYPES)
        raise InputError(field, _("unknown parameter id %(id)s; known: %(known)s") % {"id": raw, "known": known})
    return value


def _param_value(param_id: int, value, field: str):
    kind = jt808.PARAM_TYPES[param_id]
    if kind is jt808.ParamType.STRING:
        if not isinstance(value, str) or not value:
            raise InputError(field, _("must be a non-empty text"))
        _gbk(value, field, 255)
        return value
    low = 1 if param_id in POSITIVE_PARAMS else 0
    return _whole_number(value, field, low, (1 << (8 * kind.value)) - 1)


def _gbk(text: str, field: str, limit: int) -> None:
    try:
        size = len(text.encode("gbk"))
    except UnicodeEncodeError as exc:
        raise InputError(
            field, _("%(char)r cannot be sent: terminals read GBK text") % {"char": exc.object[exc.start]}
        ) from None
    if size > limit:
        raise InputError(field, _("is %(size)s bytes in GBK; at most %(limit)s fit") % {"size": size, "limit": limit})


def validate_params(kind: str, raw) -> dict:
    """The command's parameters checked and normalised for its kind (InputError naming the field otherwise)."""
    params = _mapping(raw, "params")
    if kind == Kind.TEXT:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise InputError("params.text", _("the text to send is required"))
        if "\x00" in text:
            raise InputError("params.text", _("must not contain NUL characters"))
        _gbk(text, "params.text", TEXT_MAX_BYTES)
        return {"text": text, "urgent": _flag(params, "urgent"), "tts": _flag(params, "tts")}
    if kind == Kind.POSITION_QUERY:
        return {}
    if kind == Kind.TRACKING:
        return {
            "interval_s": _integer(params, "interval_s", *TRACKING_INTERVAL_S),
            "validity_s": _integer(params, "validity_s", *TRACKING_VALIDITY_S),
        }
    if kind == Kind.SET_PARAMS:
        values = _mapping(params.get("params"), "params.params")
        if not values:
            raise InputError("params.params", _("name at least one parameter to set"))
        checked = {}
        for key, value in values.items():
            param_id = _param_id(key, f"params.params.{key}")
            checked[f"0x{param_id:04X}"] = _param_value(param_id, value, f"params.params.{key}")
        return {"params": checked}
    if kind == Kind.QUERY_PARAMS:
        ids = params.get("ids", [])
        if not isinstance(ids, list) or len(ids) > 255:
            raise InputError("params.ids", _("must be a list of at most 255 parameter ids (empty: all)"))
        return {"ids": sorted({f"0x{_param_id(i, 'params.ids'):04X}" for i in ids})}
    if kind == Kind.CALL_BACK:
        number = params.get("number")
        if not isinstance(number, str) or not number.isascii() or not number.isdigit() or len(number) > CALL_NUMBER_MAX:
            raise InputError("params.number", _("must be 1 to %(n)s digits") % {"n": CALL_NUMBER_MAX})
        return {"number": number, "monitor": _flag(params, "monitor")}
    if kind == Kind.VEHICLE_CONTROL:
        doors = params.get("doors")
        if doors not in ("lock", "unlock"):
            raise InputError("params.doors", _('must be "lock" or "unlock"'))
        return {"doors": doors}
    raise InputError("kind", _("must be one of %(kinds)s") % {"kinds": ", ".join(Kind.values)})


def body_for(kind: str, params: dict, v2019: bool) -> jt808.Body:
    """The JT/T 808 body of a (validated) command, in the terminal's header form."""
    if kind == Kind.TEXT:
        flag = jt808.TextFlag.DISPLAY
        if params.get("urgent"):
            flag |= jt808.TextFlag.URGENT
        if params.get("tts"):
            flag |= jt808.TextFlag.TTS
        return jt808.TextMessage(int(flag), params["text"], jt808.TextType.NOTIFICATION)
    if kind == Kind.POSITION_QUERY:
        return jt808.PositionQuery()
    if kind == Kind.TRACKING:
        return jt808.TemporaryTracking(params["interval_s"], params["validity_s"])
    if kind == Kind.SET_PARAMS:
        return jt808.SetParams(tuple((int(k, 16), v) for k, v in params["params"].items()))
    if kind == Kind.QUERY_PARAMS:
        ids = tuple(int(i, 16) for i in params.get("ids", ()))
        return jt808.QueryParams(ids) if ids else jt808.QueryAllParams()
    if kind == Kind.CALL_BACK:
        flag = jt808.CallBackFlag.MONITOR if params.get("monitor") else jt808.CallBackFlag.CALL
        return jt808.CallBack(flag, params["number"])
    if kind == Kind.VEHICLE_CONTROL:
        lock = int(params["doors"] == "lock")
        return jt808.VehicleControl(items=((jt808.ControlType.DOORS, lock),)) if v2019 else jt808.VehicleControl(lock)
    raise ValueError(f"unknown command kind {kind!r}")


# -- reads ---------------------------------------------------------------------------------------------


def summary(command: TerminalCommand) -> str:
    """One line for a console's list: what was asked."""
    p = command.params
    if command.kind == Kind.TEXT:
        return p.get("text", "")
    if command.kind == Kind.TRACKING:
        return _("every %(i)s s for %(v)s s") % {"i": p.get("interval_s"), "v": p.get("validity_s")}
    if command.kind == Kind.SET_PARAMS:
        return ", ".join(f"{k}={v}" for k, v in p.get("params", {}).items())
    if command.kind == Kind.QUERY_PARAMS:
        return ", ".join(p.get("ids", [])) or _("all parameters")
    if command.kind == Kind.CALL_BACK:
        return p.get("number", "") + (_(" (monitor)") if p.get("monitor") else "")
    if command.kind == Kind.VEHICLE_CONTROL:
        return _("lock doors") if p.get("doors") == "lock" else _("unlock doors")
    return ""


def command_json(command: TerminalCommand) -> dict:
    vehicle = command.vehicle
    return {
        "id": command.pk,
        "vehicle_id": command.vehicle_id,
        "call_sign": vehicle.call_sign,
        "batch_id": command.batch_id,
        "kind": command.kind,
        "kind_label": str(Kind(command.kind).label),
        "params": command.params,
        "summary": summary(command),
        "state": command.state,
        "state_label": str(State(command.state).label),
        "attempts": command.attempts,
        "created_by": command.created_by.display_name if command.created_by_id else "",
        "created_at": iso(command.created_at),
        "sent_at": iso(command.sent_at),
        "answered_at": iso(command.answered_at),
        "expires_at": iso(command.expires_at),
        "result_code": command.result_code,
        "answer": command.answer,
        "error": command.error,
        "read_at": iso(command.read_at),
    }


def command_feature(command: TerminalCommand) -> dict:
    position = command.vehicle.last_position
    geometry = {"type": "Point", "coordinates": list(position.coords)} if position is not None else None
    return {"type": "Feature", "geometry": geometry, "properties": command_json(command)}


def _with_vehicle(rows):
    return rows.select_related("vehicle", "created_by")


def commands_for_vehicle(vehicle: Vehicle, limit: int = 100) -> list[dict]:
    return [command_json(c) for c in _with_vehicle(vehicle.commands.all())[:limit]]


def visible_batch(viewer: Viewer, pk: int) -> dict | None:
    """A batch with its commands to the vehicles the viewer may see (None: none of them)."""
    batch = CommandBatch.objects.select_related("created_by").filter(pk=pk).first()
    if batch is None:
        return None
    rows = _with_vehicle(batch.commands.filter(vehicle__in=selectors.visible_units(viewer))).order_by(
        "vehicle__call_sign"
    )
    commands = [command_json(c) for c in rows]
    if not commands:
        return None
    counts = {state: 0 for state in State.values}
    for c in commands:
        counts[c["state"]] += 1
    return {
        "id": batch.pk,
        "kind": batch.kind,
        "kind_label": str(Kind(batch.kind).label),
        "params": batch.params,
        "target": batch.target,
        "target_label": batch.target_label,
        "created_by": batch.created_by.display_name if batch.created_by_id else "",
        "created_at": iso(batch.created_at),
        "counts": counts,
        "commands": commands,
    }


def mdt_messages(vehicle: Vehicle, limit: int = 50) -> list[dict]:
    """The texts the dispatchers sent this vehicle, newest first, as its crew's MDT shows them."""
    rows = vehicle.commands.filter(kind=Kind.TEXT).select_related("created_by")[:limit]
    return [
        {
            "id": c.pk,
            "text": c.params.get("text", ""),
            "sent_by": c.created_by.display_name if c.created_by_id else "",
            "created_at": iso(c.created_at),
            "state": c.state,
            "read_at": iso(c.read_at),
        }
        for c in rows
    ]


def _visible_groups(viewer: Viewer):
    """The vehicle groups of the viewer's organisations (every group: a viewer who sees every organisation)."""
    orgs = viewer.org_ids
    return VehicleGroup.objects.all() if orgs is None else VehicleGroup.objects.filter(organisation_id__in=sorted(orgs))


def groups_for(viewer: Viewer) -> list[dict]:
    return [group_json(g) for g in _visible_groups(viewer).select_related("organisation").prefetch_related("vehicles")]


def group_json(group: VehicleGroup) -> dict:
    vehicles = sorted(group.vehicles.all(), key=lambda v: v.call_sign)
    return {
        "id": group.pk,
        "name": group.name,
        "description": group.description,
        "organisation": group.organisation.name,
        "vehicles": [{"id": v.pk, "call_sign": v.call_sign} for v in vehicles],
    }


def visible_group(viewer: Viewer, pk) -> VehicleGroup | None:
    return _visible_groups(viewer).filter(pk=pk).first()


def create_group(user, viewer: Viewer, name: str, description: str, vehicle_ids: list[int]) -> VehicleGroup:
    """A group of the user's organisation, of units the user may see."""
    if user.organisation_id is None:
        raise InputError("organisation", _("your account belongs to no organisation to keep the group"))
    if VehicleGroup.objects.filter(organisation_id=user.organisation_id, name=name).exists():
        raise InputError("name", _("your organisation already has a group named %(name)s") % {"name": name})
    wanted = set(vehicle_ids)
    found = set(selectors.visible_units(viewer).filter(pk__in=wanted).values_list("pk", flat=True))
    if wanted - found:
        missing = ", ".join(map(str, sorted(wanted - found)[:10]))
        raise InputError("vehicle_ids", _("no units %(ids)s visible to you") % {"ids": missing})
    with transaction.atomic():
        group = VehicleGroup.objects.create(organisation_id=user.organisation_id, name=name, description=description)
        group.vehicles.set(sorted(found))
        record_audit(_actor(user), "vehicle_group.create", group, name, {"vehicles": sorted(found)})
    return group


# -- queueing ------------------------------------------------------------------------------------------


@dataclass
class Target:
    """Which vehicles a batch goes to, as the operator picked them."""

    kind: str
    label: str
    vehicles: object  # a Vehicle queryset
    group: VehicleGroup | None = None
    organisation: Organisation | None = None
    area: AdminArea | None = None
    polygon: object = None


def resolve_target(viewer: Viewer, data: dict) -> Target:
    """The target of a batch (group / agency / area / polygon), limited to the vehicles the viewer may see.
    ``data`` is the API's validated input (a group's id is a number)."""
    visible = selectors.visible_units(viewer)
    kind = data.get("target")
    if kind == CommandBatch.Target.GROUP:
        group = visible_group(viewer, data.get("group"))
        if group is None:
            raise NotFound(_("no vehicle group %(id)s visible to you") % {"id": data.get("group")})
        return Target(kind, group.name, visible.filter(groups=group), group=group)
    if kind == CommandBatch.Target.AGENCY:
        org = Organisation.objects.filter(agency=data.get("agency") or "-").exclude(agency="").first()
        if org is None:
            raise InputError("agency", _("must be an agency code (110, 119, 120, 122)"))
        vehicles = visible.filter(agency=org)
        if not vehicles.exists():
            raise NotFound(_("no vehicles of agency %(agency)s visible to you") % {"agency": org.agency})
        return Target(kind, org.name, vehicles, organisation=org)
    if kind == CommandBatch.Target.AREA:
        area = AdminArea.objects.filter(code=str(data.get("area", ""))).first()
        if area is None:
            raise InputError("area", _("must be the code of an administrative area"))
        return Target(kind, area.name, visible.filter(last_position__intersects=area.geom), area=area)
    if kind == CommandBatch.Target.POLYGON:
        polygon = parse_geometry(data.get("polygon"), "wgs84", "polygon")
        if polygon.geom_type != "Polygon":
            raise InputError("polygon", _("must be a GeoJSON Polygon"))
        label = _("drawn area")
        return Target(kind, label, visible.filter(last_position__intersects=polygon), polygon=polygon)
    raise InputError("target", _("must be one of %(targets)s") % {"targets": ", ".join(BATCH_TARGETS)})


def _actor(user) -> User | None:
    return user if user is not None and user.is_authenticated else None


def _notify(vehicle_ids) -> None:
    """Wake the ingest processes at commit: NOTIFY is transactional, so no listener looks before the rows exist."""
    ids = sorted(set(vehicle_ids))
    payload = ",".join(map(str, ids))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [NOTIFY_CHANNEL, payload if len(payload) < 7000 else NOTIFY_ALL])


def _publish(commands: list[TerminalCommand]) -> None:
    publish_many(
        "incidents",
        [("command.state", command_feature(c), c.vehicle.last_position, [c.vehicle.agency_id]) for c in commands],
    )


def queue_command(user, vehicle: Vehicle, kind: str, params: dict, lifetime: timedelta) -> TerminalCommand:
    """One command to one vehicle (which the caller checked the user may see)."""
    if kind in TERMINAL_KINDS and not vehicle.jt808_phone:
        raise InputError("kind", _("%(unit)s has no JT/T 808 terminal; only text reaches its MDT") % {"unit": vehicle})
    return _queue(user, [vehicle], kind, params, lifetime, None)[0]


def queue_batch(user, target: Target, kind: str, params: dict, lifetime: timedelta) -> CommandBatch:
    """The same command to every vehicle of the target (those without a terminal get texts on their MDT only)."""
    vehicles = target.vehicles
    if kind in TERMINAL_KINDS:
        vehicles = vehicles.filter(jt808_phone__isnull=False)
    vehicles = list(vehicles.order_by("call_sign")[: MAX_BATCH_VEHICLES + 1])
    if not vehicles:
        raise InputError("target", _("%(target)s has no vehicle you may send this to") % {"target": target.label})
    if len(vehicles) > MAX_BATCH_VEHICLES:
        raise InputError("target", _("more than %(n)s vehicles: pick a smaller target") % {"n": MAX_BATCH_VEHICLES})
    with transaction.atomic():
        batch = CommandBatch.objects.create(
            kind=kind,
            params=params,
            target=target.kind,
            target_label=target.label[:160],
            group=target.group,
            organisation=target.organisation,
            area=target.area,
            polygon=target.polygon,
            created_by=_actor(user),
            created_at=timezone.now(),
        )
        _queue(user, vehicles, kind, params, lifetime, batch)
    return batch


def _queue(user, vehicles, kind, params, lifetime, batch) -> list[TerminalCommand]:
    now = timezone.now()
    with transaction.atomic():
        commands = TerminalCommand.objects.bulk_create(
            TerminalCommand(
                vehicle=v,
                batch=batch,
                kind=kind,
                params=params,
                created_by=_actor(user),
                created_at=now,
                expires_at=now + lifetime,
            )
            for v in vehicles
        )
        target = batch if batch is not None else vehicles[0]
        record_audit(
            _actor(user),
            f"command.{kind}",
            target,
            str(target),
            {"vehicles": [v.pk for v in vehicles], "params": params},
        )
        _notify(v.pk for v in vehicles if v.jt808_phone)
        _publish(commands)
    return commands


def mark_read(vehicle: Vehicle, command_id: int) -> TerminalCommand:
    """The crew read a text on the MDT (idempotent). For a vehicle without a terminal this is its delivery."""
    with transaction.atomic():
        command = vehicle.commands.select_for_update().filter(pk=command_id, kind=Kind.TEXT).first()
        if command is None:
            raise NotFound(_("no message %(id)s to this vehicle") % {"id": command_id})
        if command.read_at is not None:
            return command
        now = timezone.now()
        command.read_at = now
        fields = ["read_at"]
        if not vehicle.jt808_phone and command.state in PENDING:
            command.state, command.answered_at = State.ANSWERED, now
            fields += ["state", "answered_at"]
        command.save(update_fields=fields)
        command.vehicle = vehicle
        _publish([command])
    return command


# -- what the ingest does (each on its database thread) ------------------------------------------------


@dataclass(frozen=True)
class Pending:
    """A command to send now: what its claim must still find (state and attempts) to be this sender's."""

    id: int
    kind: str
    params: dict
    state: str
    attempts: int


def pending_for(vehicle_id: int) -> list[Pending]:
    """The vehicle's unexpired commands not yet answered, oldest first (sent ones: left by an earlier session).

    A read only, on every authentication and notification: marking the expired ones is the periodic re-scan's
    ``expire_due``; until then the filter here and ``claim``'s guard keep them from being sent."""
    rows = TerminalCommand.objects.filter(vehicle_id=vehicle_id, state__in=PENDING, expires_at__gt=timezone.now())
    return [Pending(c.id, c.kind, c.params, c.state, c.attempts) for c in rows.order_by("created_at", "id")]


def vehicles_with_queued(vehicle_ids) -> list[int]:
    rows = TerminalCommand.objects.filter(vehicle_id__in=list(vehicle_ids), state=State.QUEUED)
    return sorted(set(rows.values_list("vehicle_id", flat=True)))


def _changed(rows) -> None:
    """Publish the state of the commands an UPDATE just changed (in its transaction)."""
    commands = list(_with_vehicle(TerminalCommand.objects.filter(pk__in=rows)))
    if commands:
        _publish(commands)


def claim(pending: Pending, serial: int, max_attempts: int) -> bool:
    """queued/sent → sent with this serial, only if nobody else claimed it since it was read (attempts unchanged)
    and it may still be sent: the one guard against sending a command twice or after it was settled."""
    with transaction.atomic():
        claimed = TerminalCommand.objects.filter(
            pk=pending.id,
            state__in=PENDING,
            attempts=pending.attempts,
            attempts__lt=max_attempts,
            expires_at__gt=timezone.now(),
        ).update(state=State.SENT, serial=serial, attempts=pending.attempts + 1, sent_at=timezone.now())
        if claimed:
            _changed([pending.id])
    return bool(claimed)


def settle(vehicle_id: int, serial: int, kinds, result: int, answer: dict | None, error: str = "") -> bool:
    """The terminal answered the command it got with ``serial``: answered (result 0) or failed."""
    state = State.ANSWERED if result == jt808.GeneralResult.SUCCESS else State.FAILED
    with transaction.atomic():
        ids = list(
            TerminalCommand.objects.filter(vehicle_id=vehicle_id, serial=serial, state=State.SENT, kind__in=kinds)
            .select_for_update()
            .values_list("pk", flat=True)
        )
        if not ids:
            return False
        TerminalCommand.objects.filter(pk__in=ids).update(
            state=state, answered_at=timezone.now(), result_code=result, answer=answer, error=error[:255]
        )
        _changed(ids)
    return True


def give_up(command_id: int, attempts: int, error: str) -> bool:
    """No answer after the last attempt: failed (unless an answer or another sender got there first)."""
    with transaction.atomic():
        done = TerminalCommand.objects.filter(pk=command_id, state=State.SENT, attempts=attempts).update(
            state=State.FAILED, error=error[:255]
        )
        if done:
            _changed([command_id])
    return bool(done)


def expire_due() -> int:
    """Commands still waiting past their expiry become expired (never sent from then on)."""
    with transaction.atomic():
        ids = list(
            TerminalCommand.objects.filter(state__in=PENDING, expires_at__lte=timezone.now())
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:1000]
        )
        if ids:
            TerminalCommand.objects.filter(pk__in=ids, state__in=PENDING).update(state=State.EXPIRED)
            _changed(ids)
    return len(ids)


def location_json(location: jt808.Location) -> dict:
    """A terminal's position answer as stored on the command."""
    return {
        "latitude": location.latitude,
        "longitude": location.longitude,
        "speed_kmh": location.speed_kmh,
        "direction": location.direction,
        "altitude": location.altitude,
        "time": iso(location.time),
        "fixed": location.fixed,
        "doors_locked": bool(location.status & jt808.Status.DOORS_LOCKED),
        "alarm": int(location.alarm),
        "status": int(location.status),
    }


def params_json(params) -> dict:
    return {f"0x{i:04X}": (v.hex() if isinstance(v, bytes) else v) for i, v in params}
