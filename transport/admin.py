from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import KeyVehicle, LowerPlatform


class LowerPlatformForm(forms.ModelForm):
    """The password is written once and kept only as a hash (the 809 login compares against it)."""

    password = forms.CharField(
        label=_("password"),
        required=False,
        max_length=8,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("8 characters at most (the PASSWORD field of 0x1001); empty keeps the current one."),
    )

    class Meta:
        model = LowerPlatform
        fields = [
            "name", "access_code", "user_id", "password", "allowed_addresses", "version", "encrypted",
            "m1", "ia1", "ic1", "carrier", "enabled",
        ]  # fmt: skip

    def save(self, commit=True):
        platform = super().save(commit=False)
        if self.cleaned_data.get("password"):
            platform.set_password(self.cleaned_data["password"])
        if commit:
            platform.save()
        return platform


@admin.register(LowerPlatform)
class LowerPlatformAdmin(admin.ModelAdmin):
    form = LowerPlatformForm
    list_display = ["name", "access_code", "version", "encrypted", "enabled", "link_state", "last_seen_at"]
    list_filter = ["version", "enabled", "link_state"]
    search_fields = ["name", "access_code"]
    readonly_fields = ["link_state", "last_seen_at"]


@admin.register(KeyVehicle)
class KeyVehicleAdmin(admin.ModelAdmin):
    list_display = ["__str__", "category", "carrier", "cargo", "un_number", "platform", "registered_at"]
    list_filter = ["category", "platform"]
    search_fields = ["vehicle__plate", "vehicle__call_sign", "un_number", "cargo"]
    list_select_related = ["vehicle__agency", "platform"]
    raw_id_fields = ["vehicle"]
    readonly_fields = ["static_info", "registered_at"]

    @admin.display(description=_("carrier"), ordering="vehicle__agency__name")
    def carrier(self, key: KeyVehicle) -> str:
        return key.vehicle.agency.name
