"""The operator's view of the upward exchange: every record with its state, attempts and the receiver's reason, and
an action that sends failed records again. Records are read-only: only the pump and that action change them."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import ReadOnlyAdmin

from . import selectors, services
from .models import Record


@admin.register(Record)
class RecordAdmin(ReadOnlyAdmin):
    list_display = ["record_id", "state", "attempts", "last_status", "last_error_short", "next_attempt_at", "sent_at"]
    list_filter = ["state", "last_status"]
    search_fields = ["record_id"]
    actions = ["retry_failed"]

    @admin.display(description=_("last error"))
    def last_error_short(self, record: Record) -> str:
        return record.last_error[:120]

    @admin.action(description=_("Send the selected failed records again"), permissions=["view"])
    def retry_failed(self, request, queryset):
        count = services.retry(request.user, queryset)
        self.message_user(
            request,
            ngettext("%(count)d record queued again.", "%(count)d records queued again.", count) % {"count": count},
            messages.SUCCESS if count else messages.WARNING,
        )

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}), "exchange_status": selectors.status(),
                                                 "exchange_enabled": services.enabled()})  # fmt: skip
