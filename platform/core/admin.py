"""Django admin for the core tables; every edit made here lands in the audit log too."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.gis.admin import GISModelAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from . import health
from .models import AdminArea, AuditEntry, CityProfile, Domain, Event, Organisation, Role, User
from .security_log import SECURITY_ACTIONS
from .services import record_audit
from .widgets import OfflineMapWidget

admin.site.site_header = _("CityOps administration")
admin.site.site_title = _("CityOps")
admin.site.index_template = "admin/cityops_index.html"  # the index with a link to 系统状态 (system_health below)


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


@admin.register(CityProfile)
class CityProfileAdmin(MapAdmin):
    """The city's settings after `setup_city`: its home view, CRS, country and external base layer. The command
    (or the demo loader) makes it with the areas; here it is only corrected, never added or removed."""

    list_display = ["name", "boundary", "projected_srid", "country", "home_zoom"]
    fields = [
        "name",
        "boundary",
        "projected_srid",
        "country",
        "home_center",
        "home_zoom",
        "base_layer_url",
        "base_layer_attribution",
    ]
    readonly_fields = ["boundary"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OrganisationForm(forms.ModelForm):
    oversees = forms.MultipleChoiceField(
        label=_("city-wide command over"),
        choices=Domain.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=Organisation._meta.get_field("oversees").help_text,
    )

    class Meta:
        model = Organisation
        fields = ["code", "name", "kind", "agency", "parent", "area", "oversees"]


@admin.register(Organisation)
class OrganisationAdmin(AuditedAdmin):
    form = OrganisationForm
    list_display = ["code", "name", "kind", "agency", "parent", "area", "oversees"]
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


class AuditCategoryFilter(admin.SimpleListFilter):
    """Security events (sign-ins, permission changes, devices, exports) apart from the changes of city data."""

    title = _("category")
    parameter_name = "category"

    def lookups(self, request, model_admin):
        return [("security", _("Security")), ("data", _("City data"))]

    def queryset(self, request, queryset):
        security = Q()
        for prefix in SECURITY_ACTIONS:
            security |= Q(action__startswith=prefix)
        if self.value() == "security":
            return queryset.filter(security)
        if self.value() == "data":
            return queryset.exclude(security)
        return queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "action", "target_type", "target_id", "summary", "source"]
    list_filter = [AuditCategoryFilter, "action", "target_type"]
    search_fields = ["target_id", "summary", "source"]
    date_hierarchy = "at"


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "at", "topic", "type"]
    list_filter = ["topic"]


def system_health(request):
    """系统状态: the same health reading as /api/core/health/ and /metrics, for administrators (linked from the
    admin index; mounted in cityops.urls behind admin.site.admin_view)."""
    if not (request.user.is_superuser or request.user.has_role(Role.ADMIN)):
        raise PermissionDenied
    reading = health.read()
    rows = [(health.COMPONENT_LABELS[c.name], c.status, health.STATUS_LABELS[c.status], c.detail)
            for c in reading.components]  # fmt: skip
    context = {
        **admin.site.each_context(request),
        "title": _("System status"),
        "reading": reading,
        "overall": health.STATUS_LABELS[reading.status],
        "rows": rows,
    }
    return TemplateResponse(request, "admin/system_health.html", context)
