"""State changes of transport supervision: the JT/T 809 link's look-ups and what its messages change (key vehicles
registered or created, static information, platform alarms), the platforms' link states, and the audit row of a
burst of failed logins. Called from the link process's database thread."""

import hmac
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.services import record_audit
from dispatch import alarms
from dispatch.models import Alarm, Vehicle

from . import jt809
from .models import VEHICLE_KIND, KeyVehicle, LowerPlatform

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlatformConfig:
    """What the link needs of a lower platform, read once per login (the password only as its hash)."""

    id: int
    name: str
    access_code: int
    user_id: int
    password_hash: str
    allowed_addresses: tuple[str, ...]
    version: int
    keys: jt809.Keys | None
    carrier_id: int | None

    def check_password(self, raw: str) -> bool:
        return LowerPlatform(password_hash=self.password_hash).check_password(raw)


def platform_config(access_code: int) -> PlatformConfig | None:
    """The enabled platform with this access code (None: unknown or disabled)."""
    p = LowerPlatform.objects.filter(access_code=access_code, enabled=True).first()
    if p is None:
        return None
    keys = jt809.Keys(p.m1, p.ia1, p.ic1) if p.encrypted else None
    return PlatformConfig(
        p.pk, p.name, p.access_code, p.user_id, p.password_hash, tuple(p.allowed_addresses), p.version, keys,
        p.carrier_id,
    )  # fmt: skip


def login_result(config: PlatformConfig | None, source: str, request: jt809.ConnectRequest) -> int:
    """The 0x1002 result of a login, checked in the standard's order: address, access code, user, password."""
    if config is None:
        return jt809.ConnectResult.BAD_ACCESS_CODE
    if source not in config.allowed_addresses:
        return jt809.ConnectResult.BAD_ADDRESS
    if not hmac.compare_digest(str(request.user_id), str(config.user_id)):
        return jt809.ConnectResult.USER_NOT_REGISTERED
    if not config.check_password(request.password):
        return jt809.ConnectResult.BAD_PASSWORD
    return jt809.ConnectResult.OK


def set_link_state(platform_id: int, state: str) -> None:
    LowerPlatform.objects.filter(pk=platform_id).update(link_state=state, last_seen_at=timezone.now())


def touch(platform_id: int) -> None:
    LowerPlatform.objects.filter(pk=platform_id).update(last_seen_at=timezone.now())


def terminal_key(access_code: int, plate: str) -> str:
    """The track's terminal of a vehicle reported over 809: namespaced by platform, never equal to a 808 phone."""
    return f"809:{access_code}:{plate}"


def vehicle_for_plate(config: PlatformConfig, plate: str, colour: int) -> int | None:
    """The dispatch unit of a reported plate. A plate not on record is created under the platform's default
    carrier as an "other" key vehicle (the console lists it to be classified); without a default carrier the
    platform may report only vehicles on record, and other plates are refused (None, logged by the caller)."""
    plate = plate.strip()
    if not plate:
        return None
    found = Vehicle.objects.filter(plate=plate, key_vehicle__isnull=False).values_list("pk", flat=True).first()
    if found is not None or config.carrier_id is None:
        return found
    with transaction.atomic():
        vehicle, created = Vehicle.objects.get_or_create(
            call_sign=f"809-{plate}",
            defaults={"kind": VEHICLE_KIND[KeyVehicle.Category.OTHER], "agency_id": config.carrier_id, "plate": plate},
        )
        if created or not hasattr(vehicle, "key_vehicle"):
            KeyVehicle.objects.get_or_create(
                vehicle=vehicle,
                defaults={"category": KeyVehicle.Category.OTHER, "plate_colour": colour, "platform_id": config.id},
            )
    log.info("key vehicle %s created from platform %s", plate, config.access_code)
    return vehicle.pk


def register_vehicle(vehicle_id: int, config: PlatformConfig, message: jt809.VehicleRegistration) -> None:
    """0x1201: the terminal fitted to a key vehicle (its reporting platform and terminal id are kept)."""
    KeyVehicle.objects.filter(vehicle_id=vehicle_id).update(
        platform_id=config.id,
        terminal_id=message.terminal_id[:32],
        plate_colour=message.colour,
        registered_at=timezone.now(),
    )


def update_static_info(vehicle_id: int, message: jt809.StaticInfo) -> None:
    """0x1601: the platform's static information of the vehicle, kept as its key/value pairs."""
    KeyVehicle.objects.filter(vehicle_id=vehicle_id).update(static_info=message.fields())


def raise_platform_alarm(vehicle_id: int, message: jt809.WarnReport) -> Alarm | None:
    """0x1402: an alarm of kind ``platform``, rule ``jt809:0x<type>``, published like the AVL's. While the same
    type is open on the vehicle a repeat is merged into it (None). Placed at the vehicle's last position."""
    vehicle = Vehicle.objects.get(pk=vehicle_id)
    if vehicle.last_position is None:
        log.warning("platform alarm 0x%04x for %s dropped: no position yet", message.warn_type, vehicle.plate)
        return None
    at = datetime.fromtimestamp(message.warn_time, UTC) if message.warn_time else timezone.now()
    detail = jt809.warn_type_label(message.warn_type)
    if message.content:
        detail += f"（{message.content}）"
    return alarms.raise_alarm(
        vehicle.pk,
        Alarm.Kind.PLATFORM,
        f"{vehicle.plate or vehicle.call_sign}: {detail}",
        vehicle.last_position,
        rule=f"jt809:0x{message.warn_type:04x}",
        at=min(at, timezone.now()),
    )


def report_login_failures(source: str, access_code: int | None, bursts: list[str]) -> None:
    """The audit row (security log, "device." actions) of a burst of failed logins (``FailureGuard.failed``): a
    source address cut off, or a platform's access code tried too often (then from several addresses)."""
    platform = LowerPlatform.objects.filter(access_code=access_code).first() if access_code is not None else None
    limit, backoff_s = settings.CITYOPS_JT809_LOGIN_FAILURE_LIMIT, settings.CITYOPS_JT809_LOGIN_BACKOFF_SECONDS
    scope = f"from {source}" if "source" in bursts else f"for access code {access_code}"
    summary = (
        f"JT/T 809 login of access code {access_code} from {source}: {limit} failed logins {scope} "
        f"in {backoff_s} s; the address is refused for {backoff_s} s"
    )
    changes = {"source": source, "access_code": access_code, "bursts": bursts, "failures": limit}
    record_audit(None, "device.jt809_login_failed", platform, summary, changes, source=source)
