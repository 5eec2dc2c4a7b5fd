"""Duty management (值班管理): desks and their shifts, the roster, shift sessions with hand-over items, and the
entries people write in the duty log. What the system did (incidents, plan levels, notifications) is not stored
here: the duty log reads it from core's event log (duty/entries.py), so no app has to call duty."""

from datetime import datetime, time, timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Organisation, User


class Desk(models.Model):
    """A duty position that is staffed shift by shift: the command centre's 总值班, the leader on duty, an agency
    desk. Its organisation decides which events its duty log shows (a command centre's: every organisation's)."""

    class Kind(models.TextChoices):
        COMMAND_CENTRE = "command_centre", _("Command centre (general duty)")
        LEADER = "leader", _("Leader on duty")
        POLICE = "110", _("Police desk (110)")
        FIRE = "119", _("Fire desk (119)")
        AMBULANCE = "120", _("Ambulance desk (120)")
        TRAFFIC = "122", _("Traffic police desk (122)")
        CITY_MANAGEMENT = "city_management", _("City-management desk")

    code = models.SlugField(_("code"), max_length=32, unique=True, help_text=_("Used in roster files."))
    name = models.CharField(_("name"), max_length=64)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("Its duty log shows the events this organisation may see; empty: every event."),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("duty desk")
        verbose_name_plural = _("duty desks")

    def __str__(self) -> str:
        return self.name


class Shift(models.Model):
    """One shift of a desk's day, in the server's time zone (settings.TIME_ZONE); an end at or before the start
    means the shift ends the next morning (a night shift 20:00–08:00)."""

    desk = models.ForeignKey(Desk, verbose_name=_("desk"), on_delete=models.CASCADE, related_name="shifts")
    code = models.SlugField(_("code"), max_length=16, help_text=_("Used in roster files, e.g. day, night."))
    name = models.CharField(_("name"), max_length=32)
    start = models.TimeField(_("start"))
    end = models.TimeField(_("end"))

    class Meta:
        ordering = ["desk", "start"]
        constraints = [models.UniqueConstraint(fields=["desk", "code"], name="duty_shift_code_per_desk")]
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")

    def __str__(self) -> str:
        return f"{self.name} {self.start:%H:%M}–{self.end:%H:%M}"

    def window(self, day) -> tuple[datetime, datetime]:
        """The shift of `day` as an aware [start, end) interval."""
        zone = timezone.get_default_timezone()
        start = timezone.make_aware(datetime.combine(day, self.start), zone)
        end_day = day + timedelta(days=1) if self.end <= self.start else day
        return start, timezone.make_aware(datetime.combine(end_day, self.end), zone)


DEFAULT_SHIFTS = (("day", _("Day shift"), time(8), time(20)), ("night", _("Night shift"), time(20), time(8)))


class DutyRole(models.TextChoices):
    LEADER_ON_DUTY = "leader_on_duty", _("Leader on duty")
    DUTY_OFFICER = "duty_officer", _("Duty officer")
    DESK_OFFICER = "desk_officer", _("Desk officer")


class RosterEntry(models.Model):
    """One person on one desk's shift of one day (排班)."""

    desk = models.ForeignKey(Desk, verbose_name=_("desk"), on_delete=models.CASCADE, related_name="roster")
    date = models.DateField(_("date"))
    shift = models.ForeignKey(Shift, verbose_name=_("shift"), on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, verbose_name=_("person"), on_delete=models.CASCADE, related_name="+")
    role = models.CharField(_("role on the shift"), max_length=16, choices=DutyRole.choices)

    class Meta:
        ordering = ["date", "shift__start", "desk", "role"]
        constraints = [
            models.UniqueConstraint(fields=["desk", "date", "shift", "user"], name="duty_roster_once_per_shift")
        ]
        indexes = [models.Index(fields=["date"])]
        verbose_name = _("roster entry")
        verbose_name_plural = _("roster")

    def __str__(self) -> str:
        return f"{self.date} {self.desk} {self.shift.code} {self.user}"


class ShiftSession(models.Model):
    """A desk's shift as it was worked: who signed on and when, when it was handed over, with which notes, and who
    took over (set when the next shift signs on)."""

    desk = models.ForeignKey(Desk, verbose_name=_("desk"), on_delete=models.CASCADE, related_name="sessions")
    date = models.DateField(_("date"))
    shift = models.ForeignKey(Shift, verbose_name=_("shift"), on_delete=models.CASCADE, related_name="+")
    signed_on_by = models.ForeignKey(User, verbose_name=_("signed on by"), on_delete=models.PROTECT, related_name="+")
    signed_on_at = models.DateTimeField(_("signed on"))
    handed_over_at = models.DateTimeField(_("handed over"), null=True, blank=True)
    handed_over_to = models.ForeignKey(
        User, verbose_name=_("handed over to"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    notes = models.TextField(_("hand-over notes"), blank=True)

    class Meta:
        ordering = ["-signed_on_at"]
        constraints = [
            models.UniqueConstraint(fields=["desk", "date", "shift"], name="duty_one_session_per_shift"),
            models.UniqueConstraint(
                fields=["desk"], condition=Q(handed_over_at__isnull=True), name="duty_one_open_session_per_desk"
            ),
        ]
        verbose_name = _("shift session")
        verbose_name_plural = _("shift sessions")

    def __str__(self) -> str:
        return f"{self.desk} {self.date} {self.shift.code}"


class HandoverItem(models.Model):
    """An open matter a shift passes to the next (交接事项), until someone marks it done; optionally about an object
    of another app (app, id, number, label), e.g. an open incident listed automatically at hand-over."""

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")

    desk = models.ForeignKey(Desk, verbose_name=_("desk"), on_delete=models.CASCADE, related_name="items")
    text = models.CharField(_("text"), max_length=500)
    ref_app = models.CharField(_("about (app)"), max_length=32, blank=True)
    ref_id = models.CharField(_("about (id)"), max_length=64, blank=True)
    ref_number = models.CharField(_("about (number)"), max_length=64, blank=True)
    ref_label = models.CharField(_("about (label)"), max_length=200, blank=True)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.OPEN)
    created_by = models.ForeignKey(
        User, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.ForeignKey(
        User, verbose_name=_("done by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sessions = models.ManyToManyField(
        ShiftSession, verbose_name=_("shifts"), related_name="items", blank=True, help_text=_("Every shift it was on.")
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["desk", "ref_app", "ref_id"],
                condition=Q(state="open") & ~Q(ref_app=""),
                name="duty_one_open_item_per_object",
            )
        ]
        verbose_name = _("hand-over item")
        verbose_name_plural = _("hand-over items")

    def __str__(self) -> str:
        return self.text


class DutyLogEntry(models.Model):
    """What a person wrote in a desk's duty log: a 大事记 (major event) or a routine entry."""

    class Kind(models.TextChoices):
        MAJOR = "major", _("Major event")
        ROUTINE = "routine", _("Routine")

    desk = models.ForeignKey(Desk, verbose_name=_("desk"), on_delete=models.CASCADE, related_name="log")
    session = models.ForeignKey(
        ShiftSession, verbose_name=_("shift"), null=True, blank=True, on_delete=models.SET_NULL, related_name="log"
    )
    at = models.DateTimeField(_("time"), db_index=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.ROUTINE)
    text = models.TextField(_("text"), max_length=4000)
    author = models.ForeignKey(User, verbose_name=_("author"), null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("duty log entry")
        verbose_name_plural = _("duty log")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.text[:40]}"
