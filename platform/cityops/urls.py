"""Public entry points (listed in README): pages, /api/, /healthz and /livez, admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core.admin import system_health
from core.imports_page import imports
from core.metrics import metrics
from core.views import healthz, livez, not_found
from dispatch.api import osmand as dispatch_osmand

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("livez", livez, name="livez"),
    path("metrics", metrics, name="metrics"),
    path("gps/osmand", dispatch_osmand, name="gps-osmand"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI's set-up script as a file (?script), not inline: the Content-Security-Policy allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/core/", include("core.urls")),
    path("api/gis/", include("gis.urls")),
    path("api/pipelines/", include("pipelines_mgmt.urls")),
    path("api/dispatch/", include("dispatch.urls")),
    path("api/grid/", include("grid.urls")),
    path("api/patrol/", include("patrol.urls")),
    path("open311/v2/", include("grid.open311_urls")),
    path("warnings/", include("notify.public_urls")),  # 公众预警: public page and CAP 1.2 feed, no sign-in
    path("tiles/", include("gis.tile_urls")),
    path("api/leader/", include("leader.urls")),
    path("api/notify/", include("notify.urls")),
    path("api/resources/", include("resources.urls")),
    path("api/duty/", include("duty.urls")),
    path("api/emergency/", include("emergency.urls")),
    path("api/drills/", include("drills.urls")),
    path("api/transport/", include("transport.urls")),
    path("api/fences/", include("fences.urls")),
    path("api/trips/", include("trips.urls")),
    path("api/crews/", include("crews.urls")),
    path("api/exchange/", include("exchange.urls")),
    path("imports/", imports, name="imports"),
    path("admin/system-health/", admin.site.admin_view(system_health), name="admin-system-health"),
    path("admin/", admin.site.urls),
    path("ogcapi/", include("gis.ogc_urls")),
    path("", include("dispatch.page_urls")),
    path("", include("grid.page_urls")),
    path("", include("pipelines_mgmt.page_urls")),
    path("", include("leader.page_urls")),
    path("", include("resources.page_urls")),
    path("", include("emergency.page_urls")),
    path("", include("drills.page_urls")),
    path("", include("duty.page_urls")),
    path("", include("transport.page_urls")),
    path("", include("fences.page_urls")),
    path("", include("trips.page_urls")),
    path("", include("crews.page_urls")),
    path("", include("frontend.urls")),
]
handler404 = not_found
