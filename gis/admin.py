from django.contrib import admin

from core.admin import MapAdmin

from . import services
from .models import Address, Landcover, Road, SavedQuery, TurnRestriction


@admin.register(Road)
class RoadAdmin(MapAdmin):
    list_display = ["id", "name", "road_class", "highway", "speed_kmh", "oneway", "emergency_only", "lanes"]
    list_filter = ["road_class", "oneway", "emergency_only", "highway"]
    search_fields = ["name"]


@admin.register(TurnRestriction)
class TurnRestrictionAdmin(MapAdmin):
    list_display = ["id", "kind", "from_road", "to_road", "osm_relation_id"]
    list_filter = ["kind"]
    raw_id_fields = ["from_road", "to_road"]


@admin.register(Address)
class AddressAdmin(MapAdmin):
    list_display = ["label", "road_name", "number", "building", "district", "street", "community"]
    list_filter = ["district"]
    search_fields = ["label"]
    readonly_fields = ["province", "city", "street", "community", "road_key", "search_text"]

    def save_model(self, request, obj, form, change):
        """The derived elements follow the point and the road name (and the geocoder's road list the new road)."""
        super().save_model(request, obj, form, change)
        services.fill_address_elements([obj.pk])


@admin.register(Landcover)
class LandcoverAdmin(MapAdmin):
    list_display = ["id", "name", "kind"]
    list_filter = ["kind"]
    search_fields = ["name"]


@admin.register(SavedQuery)
class SavedQueryAdmin(admin.ModelAdmin):
    list_display = ["name", "layer", "owner", "organisation", "shared", "updated_at"]
    list_filter = ["layer", "shared", "organisation"]
    search_fields = ["name", "owner__username"]
    raw_id_fields = ["owner"]
