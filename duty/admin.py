from django.contrib import admin

from .models import Desk, DutyLogEntry, HandoverItem, RosterEntry, Shift, ShiftSession


class ShiftInline(admin.TabularInline):
    model = Shift
    extra = 0


@admin.register(Desk)
class DeskAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "organisation", "order")
    inlines = [ShiftInline]


@admin.register(RosterEntry)
class RosterEntryAdmin(admin.ModelAdmin):
    list_display = ("date", "desk", "shift", "user", "role")
    list_filter = ("desk", "role")
    date_hierarchy = "date"
    raw_id_fields = ("user",)


@admin.register(ShiftSession)
class ShiftSessionAdmin(admin.ModelAdmin):
    list_display = ("desk", "date", "shift", "signed_on_by", "signed_on_at", "handed_over_at", "handed_over_to")
    list_filter = ("desk",)


@admin.register(HandoverItem)
class HandoverItemAdmin(admin.ModelAdmin):
    list_display = ("desk", "text", "state", "created_at", "done_at")
    list_filter = ("desk", "state")


@admin.register(DutyLogEntry)
class DutyLogEntryAdmin(admin.ModelAdmin):
    list_display = ("desk", "at", "kind", "text", "author")
    list_filter = ("desk", "kind")
