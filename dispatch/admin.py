from core.admin import MapAdmin
from django.contrib import admin

from .models import Station


@admin.register(Station)
class StationAdmin(MapAdmin):
    list_display = ["name", "kind", "agency", "district"]
    list_filter = ["kind", "agency", "district"]
    search_fields = ["name", "address"]
