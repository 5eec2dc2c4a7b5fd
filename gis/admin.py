from django.contrib import admin

from core.admin import MapAdmin

from .models import Address, Landcover, Road, SavedQuery


@admin.register(Road)
class RoadAdmin(MapAdmin):
    list_display = ["id", "name", "road_class", "speed_kmh", "oneway", "lanes"]
    list_filter = ["road_class", "oneway"]
    search_fields = ["name"]


@admin.register(Address)
class AddressAdmin(MapAdmin):
    list_display = ["label", "road_name", "number", "district"]
    list_filter = ["district"]
    search_fields = ["label"]


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
