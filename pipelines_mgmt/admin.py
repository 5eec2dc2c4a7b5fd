"""Django admin for pipe networks; edits of nodes, pipes and valves re-key the cached analysis graphs."""

from django.contrib import admin

from core.admin import AuditedAdmin, MapAdmin

from .models import Network, Node, Pipe, RepairOrder, RepairRecord, ServiceConnection, Valve
from .services import bump_network_version


class NetworkPartAdmin(MapAdmin):
    """Any change to the graph's rows must bump the network version, or other processes keep a stale graph."""

    def network_id_of(self, obj) -> int:
        return obj.network_id

    def save_model(self, request, obj, form, change):
        # A part moved to another network changes both graphs.
        before = self.network_id_of(type(obj).objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        for network_id in {before, self.network_id_of(obj)} - {None}:
            bump_network_version(network_id)

    def delete_model(self, request, obj):
        network_id = self.network_id_of(obj)
        super().delete_model(request, obj)
        bump_network_version(network_id)

    def delete_queryset(self, request, queryset):
        network_ids = {self.network_id_of(obj) for obj in queryset}
        super().delete_queryset(request, queryset)
        for network_id in network_ids:
            bump_network_version(network_id)


@admin.register(Network)
class NetworkAdmin(AuditedAdmin):
    list_display = ["code", "name", "utility", "owner", "version"]
    list_filter = ["utility"]
    search_fields = ["code", "name"]


@admin.register(Node)
class NodeAdmin(NetworkPartAdmin):
    list_display = ["code", "network", "kind", "source_kind", "name", "elevation_m"]
    list_filter = ["network", "kind", "source_kind"]
    search_fields = ["code", "name"]


@admin.register(Pipe)
class PipeAdmin(NetworkPartAdmin):
    list_display = ["code", "network", "link_type", "diameter_mm", "material", "install_year", "length_m"]
    list_filter = ["network", "material", "pressure_class"]
    search_fields = ["code"]
    raw_id_fields = ["start_node", "end_node"]


@admin.register(Valve)
class ValveAdmin(NetworkPartAdmin):
    list_display = ["code", "pipe", "node", "normal_state", "operability"]
    list_filter = ["normal_state", "operability", "pipe__network"]
    search_fields = ["code"]
    raw_id_fields = ["pipe", "node"]

    def network_id_of(self, obj) -> int:
        return obj.pipe.network_id


@admin.register(ServiceConnection)
class ServiceConnectionAdmin(MapAdmin):
    list_display = ["customer_name", "customer_type", "sensitive", "meter_id", "pipe"]
    list_filter = ["customer_type", "sensitive", "pipe__network"]
    search_fields = ["customer_name", "meter_id", "address_text"]
    raw_id_fields = ["pipe", "address"]


@admin.register(RepairOrder)
class RepairOrderAdmin(MapAdmin):
    list_display = ["number", "network", "status", "burst_pipe", "incident_id", "created_by", "created_at"]
    list_filter = ["status", "network"]
    search_fields = ["number", "incident_ref"]
    readonly_fields = ["number", "network", "burst_pipe", "network_version", "isolation", "valves_to_close",
                       "failed_valves", "incident_id", "created_by", "created_at"]  # fmt: skip


@admin.register(RepairRecord)
class RepairRecordAdmin(admin.ModelAdmin):
    """Repair history (no geometry of its own; it does not change the network graph)."""

    list_display = ["repaired_on", "kind", "pipe", "valve", "note"]
    list_filter = ["kind"]
    date_hierarchy = "repaired_on"
    raw_id_fields = ["pipe", "valve"]
