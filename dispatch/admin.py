from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from core.admin import MapAdmin

from . import tracks
from .models import Alarm, Incident, IncidentType, ResponsePlanItem, RestrictedZone, Station, Vehicle


@admin.register(Station)
class StationAdmin(MapAdmin):
    list_display = ["name", "kind", "agency", "district"]
    list_filter = ["kind", "agency", "district"]
    search_fields = ["name", "address"]


@admin.register(Vehicle)
class VehicleAdmin(MapAdmin):
    list_display = [
        "call_sign", "kind", "agency", "station", "status",
        "jt808_phone", "jt808_registered", "osmand_id", "last_fix_at",
    ]  # fmt: skip
    actions = ["release_jt808_registration", "issue_osmand_token", "revoke_osmand_token"]
    list_filter = ["kind", "agency", "status"]
    search_fields = ["call_sign", "plate", "jt808_phone", "osmand_id"]
    readonly_fields = ["last_position", "last_fix_at", "last_speed_kmh", "last_heading"]
    list_select_related = ["agency", "station"]

    @admin.display(boolean=True, description=_("JT/T 808 registered"))
    def jt808_registered(self, vehicle: Vehicle) -> bool:
        return bool(vehicle.jt808_auth_code)

    @admin.action(description=_("Issue a new OsmAnd device token (the old one stops working)"))
    def issue_osmand_token(self, request, queryset):
        for vehicle in queryset:
            token = tracks.issue_osmand_token(request.user, vehicle)
            message = _("%(unit)s: enter %(token)s as the phone's device id (shown only now).")
            self.message_user(request, message % {"unit": vehicle.call_sign, "token": token}, messages.WARNING)

    @admin.action(description=_("Revoke the OsmAnd device token"))
    def revoke_osmand_token(self, request, queryset):
        for vehicle in queryset:
            tracks.revoke_osmand_token(request.user, vehicle)
        self.message_user(request, _("%(count)d tokens revoked.") % {"count": queryset.count()})

    @admin.action(description=_("Let the JT/T 808 terminal register again (its old code stops working)"))
    def release_jt808_registration(self, request, queryset):
        for vehicle in queryset:
            tracks.release_jt808_registration(request.user, vehicle)
        self.message_user(request, _("%(count)d terminals may register again.") % {"count": queryset.count()})


class ResponsePlanInline(admin.TabularInline):
    model = ResponsePlanItem
    extra = 1


@admin.register(IncidentType)
class IncidentTypeAdmin(admin.ModelAdmin):
    """The code tables and their response plans (run cards): which agencies send how many units of which kind."""

    list_display = ["code", "name", "agency", "default_priority", "utility", "active"]
    list_filter = ["agency", "active"]
    search_fields = ["code", "name", "name_en"]
    inlines = [ResponsePlanInline]


@admin.register(Incident)
class IncidentAdmin(MapAdmin):
    """Read-only: incidents change through the dispatch console, where every change is timed and published."""

    list_display = ["number", "incident_type", "priority", "status", "district", "call_received_at"]
    list_filter = ["status", "incident_type__agency", "priority"]
    search_fields = ["number", "address", "caller_number"]
    list_select_related = ["incident_type", "district"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RestrictedZone)
class RestrictedZoneAdmin(MapAdmin):
    list_display = ["name"]
    search_fields = ["name"]


@admin.register(Alarm)
class AlarmAdmin(admin.ModelAdmin):
    list_display = ["at", "kind", "vehicle", "message", "cleared_at"]
    list_filter = ["kind"]
    list_select_related = ["vehicle"]
    readonly_fields = ["vehicle", "kind", "message", "at", "geom", "cleared_at"]
