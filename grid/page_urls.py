"""City-management pages: /grid/ (case center), /m/ (inspector tablet PWA), /dept/ (department handler),
/grid/wall/ (the city-management wall), /grid/components/ (component survey)."""

from django.urls import path

from . import pages

urlpatterns = [
    path("grid/", pages.case_center, name="grid-center"),
    path("m/", pages.tablet, name="grid-tablet"),
    # Served from /m/ (not /static/) so that the worker's scope, and what it controls, is the tablet app.
    path("m/sw.js", pages.service_worker, name="grid-tablet-sw"),
    path("m/manifest.webmanifest", pages.manifest, name="grid-tablet-manifest"),
    path("dept/", pages.department, name="grid-dept"),
    path("grid/wall/", pages.wall, name="grid-wall"),
    path("grid/config/", pages.config_screen, name="grid-config"),
    path("grid/components/", pages.component_survey, name="grid-components-page"),
]
