from django.contrib import admin

from core.admin import MapAdmin

from .models import Address, Landcover, Road


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
