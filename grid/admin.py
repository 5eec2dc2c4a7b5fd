"""Django admin of 数字城管: each city edits its categories, responsibilities, grids and components here (a
category's limits and settings and the responsibilities only until the first configuration version: then at
/grid/config/, grid/config.py).

Cases are read-only: their stage changes only through the workflow (grid/services.py), never by a form.
"""

import hashlib

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin import AuditedAdmin, MapAdmin

from .config import ROW_FIELDS
from .models import (
    Case,
    Category,
    Component,
    ComponentClass,
    ConfigVersion,
    Open311Client,
    Responsibility,
    UnitGrid,
)


@admin.register(Category)
class CategoryAdmin(AuditedAdmin):
    list_display = ["code", "name", "scheme", "kind", "department_type", "dispatch_hours", "handling_limit",
                    "handling_unit", "active"]  # fmt: skip
    list_editable = ["active"]
    list_filter = ["scheme", "kind", "department_type", "handling_unit", "active"]
    search_fields = ["code", "name", "name_en", "major_name"]

    def get_readonly_fields(self, request, obj=None):
        # once a configuration version exists, limits and settings change at /grid/config/ (versioned, for new
        # cases only): an edit here would reach no case and be overwritten by the next publish
        if ConfigVersion.objects.exists():
            return [*super().get_readonly_fields(request, obj), *ROW_FIELDS]
        return super().get_readonly_fields(request, obj)

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        if ConfigVersion.objects.exists():  # "active" too is versioned then (see above)
            changelist.list_editable = ()
        return changelist


@admin.register(ComponentClass)
class ComponentClassAdmin(AuditedAdmin):
    list_display = ["code", "legacy_code", "name", "major_name", "department_type"]
    search_fields = ["code", "legacy_code", "name"]


@admin.register(Responsibility)
class ResponsibilityAdmin(AuditedAdmin):
    """Read-only once a configuration version exists: routing is then edited at /grid/config/ (see above)."""

    list_display = ["department_type", "organisation", "district"]
    list_filter = ["department_type"]

    def has_add_permission(self, request):
        return not ConfigVersion.objects.exists() and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return not ConfigVersion.objects.exists() and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not ConfigVersion.objects.exists() and super().has_delete_permission(request, obj)


@admin.register(UnitGrid)
class UnitGridAdmin(MapAdmin):
    list_display = ["code", "community", "street", "district", "area_m2"]
    search_fields = ["code"]
    raw_id_fields = ["community", "street", "district"]
    filter_horizontal = ["inspectors"]


@admin.register(Component)
class ComponentAdmin(MapAdmin):
    list_display = ["ident", "name", "component_class", "status", "owner", "grid"]
    list_filter = ["status", "component_class__major_name"]
    search_fields = ["ident", "legacy_ident", "name"]
    raw_id_fields = ["grid", "owner", "component_class"]


class Open311ClientForm(forms.ModelForm):
    """The key is typed once and only its SHA-256 is stored."""

    api_key = forms.CharField(label=_("API key"), required=False, min_length=16, widget=forms.PasswordInput)

    class Meta:
        model = Open311Client
        fields = ["name", "active"]

    def clean(self):
        data = super().clean()
        if not self.instance.pk and not data.get("api_key"):
            self.add_error("api_key", _("A new client needs an API key."))
        return data

    def save(self, commit=True):
        if self.cleaned_data.get("api_key"):
            self.instance.key_sha256 = hashlib.sha256(self.cleaned_data["api_key"].encode()).hexdigest()
        return super().save(commit)


@admin.register(Open311Client)
class Open311ClientAdmin(AuditedAdmin):
    form = Open311ClientForm
    list_display = ["name", "active"]


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["number", "stage", "category", "channel", "department", "reported_at", "deadline_at"]
    list_filter = ["stage", "channel"]
    search_fields = ["number", "address", "description"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
