from django.contrib import admin

from .models import PatrolShift


@admin.register(PatrolShift)
class PatrolShiftAdmin(admin.ModelAdmin):
    """Patrol shifts are entered by the supervision centre; positions come only from the tablets (no admin)."""

    list_display = ("inspector", "start", "end")
    date_hierarchy = "start"
    raw_id_fields = ("inspector",)
