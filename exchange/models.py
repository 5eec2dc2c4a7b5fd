"""The outbox of the upward exchange: one row per line of a case's history, written in the transaction of that line
(so no step is ever without its row, and no row without its step), sent in order per case and marked once the
upper platform accepted it."""

from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Record(models.Model):
    """One exchange record: a case's state after one step of its history, as the upper platform receives it.

    ``record_id`` = case number + "-" + the step's position in the case's history (0001 = the report), the same
    however often it is sent, so the receiver can drop a second copy."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    record_id = models.CharField(_("record id"), max_length=40, unique=True)
    case = models.ForeignKey("grid.Case", verbose_name=_("case"), on_delete=models.CASCADE, related_name="+")
    seq = models.PositiveIntegerField(_("step"))
    transition = models.OneToOneField(
        "grid.CaseTransition", verbose_name=_("history line"), on_delete=models.CASCADE, related_name="+"
    )
    payload = models.JSONField(_("payload"))
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(_("attempts made"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("written"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["case", "seq"], name="exchange_record_case_seq")]
        # the pump's questions: which records are due, and is an earlier record of their case still unsent
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(state="pending"), name="exchange_record_due"),
            models.Index(fields=["case", "seq"], condition=~Q(state="sent"), name="exchange_record_unsent"),
        ]
        verbose_name = _("exchange record")
        verbose_name_plural = _("exchange records")

    def __str__(self) -> str:
        return self.record_id
