"""Admin: templates are edited here too; notifications and public warnings are read (they are sent and issued
through the API, which validates and audits them)."""

from django.contrib import admin

from .models import Delivery, Notification, PublicWarning, Template


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "subject", "severity"]
    search_fields = ["code", "name", "subject"]


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = ["channel", "user", "address", "state", "attempts", "last_error", "sent_at", "acknowledged_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["subject", "severity", "sender", "about_label", "created_at", "acknowledged_at"]
    list_filter = ["severity"]
    search_fields = ["subject", "about_label"]
    inlines = [DeliveryInline]


@admin.register(PublicWarning)
class PublicWarningAdmin(ReadOnlyAdmin):
    list_display = ["identifier", "headline", "status", "msg_type", "severity", "sent"]
    list_filter = ["status", "msg_type"]
    search_fields = ["identifier", "headline"]
