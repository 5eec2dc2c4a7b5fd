"""Django admin for the core tables; every edit made here lands in the audit log too."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.gis.admin import GISModelAdmin
from django.utils.translation import gettext_lazy as _

from .models import AdminArea, AuditEntry, Event, Organisation, User
from .services import record_audit
from .widgets import OfflineMapWidget

admin.site.site_header = _("CityOps administration")
admin.site.site_title = _("CityOps")


class AuditedAdmin(admin.ModelAdmin):
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        record_audit(
            request.user, "admin.change" if change else "admin.add", obj, str(obj), {"fields": form.changed_data}
        )

    def delete_model(self, request, obj):
        record_audit(request.user, "admin.delete", obj, str(obj))
        super().delete_model(request, obj)


class MapAdmin(AuditedAdmin, GISModelAdmin):
    gis_widget = OfflineMapWidget


@admin.register(AdminArea)
class AdminAreaAdmin(MapAdmin):
    list_display = ["code", "name", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name"]
    raw_id_fields = ["parent"]


@admin.register(Organisation)
class OrganisationAdmin(AuditedAdmin):
    list_display = ["code", "name", "kind", "agency", "parent", "area"]
    list_filter = ["kind", "agency"]
    search_fields = ["code", "name"]
    raw_id_fields = ["parent", "area"]


@admin.register(User)
class CityOpsUserAdmin(AuditedAdmin, UserAdmin):
    fieldsets = [*UserAdmin.fieldsets, (_("Organisation"), {"fields": ["organisation", "phone"]})]
    list_display = ["username", "first_name", "organisation", "is_staff", "is_active"]
    list_filter = [*UserAdmin.list_filter, "organisation"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records of what happened are never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "action", "target_type", "target_id", "summary"]
    list_filter = ["action", "target_type"]
    search_fields = ["target_id", "summary"]


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "at", "topic", "type"]
    list_filter = ["topic"]
