from django.contrib import admin

from core.admin import MapAdmin

from .models import Station, Vehicle


@admin.register(Station)
class StationAdmin(MapAdmin):
    list_display = ["name", "kind", "agency", "district"]
    list_filter = ["kind", "agency", "district"]
    search_fields = ["name", "address"]


@admin.register(Vehicle)
class VehicleAdmin(MapAdmin):
    list_display = ["call_sign", "kind", "agency", "station", "status", "jt808_phone", "osmand_id", "last_fix_at"]
    list_filter = ["kind", "agency", "status"]
    search_fields = ["call_sign", "plate", "jt808_phone", "osmand_id"]
    readonly_fields = ["last_position", "last_fix_at", "last_speed_kmh", "last_heading"]
    list_select_related = ["agency", "station"]
