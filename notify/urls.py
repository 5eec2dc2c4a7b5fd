"""notify API routes (/api/notify/)."""

from django.urls import path

from . import api

urlpatterns = [
    path("notifications/", api.NotificationListView.as_view(), name="notify-notifications"),
    path("notifications/<int:pk>/", api.NotificationDetailView.as_view(), name="notify-notification"),
    path("inbox/", api.InboxView.as_view(), name="notify-inbox"),
    path("inbox/<int:pk>/ack/", api.AcknowledgeView.as_view(), name="notify-ack"),
    path("templates/", api.TemplateListView.as_view(), name="notify-templates"),
    path("templates/<int:pk>/", api.TemplateDetailView.as_view(), name="notify-template"),
    path("warnings/", api.WarningListView.as_view(), name="notify-warnings"),
]
