"""OGC API - Features routes, mounted at /ogcapi/ (see gis.ogcapi)."""

from django.urls import path, re_path

from . import ogcapi

app_name = "ogcapi"

urlpatterns = [
    path("", ogcapi.LandingView.as_view(), name="landing"),
    # Some clients add a trailing slash; both spellings are served.
    re_path(r"^api/?$", ogcapi.OpenApiView.as_view(), name="openapi"),
    re_path(r"^conformance/?$", ogcapi.ConformanceView.as_view(), name="conformance"),
    re_path(r"^collections/?$", ogcapi.CollectionsView.as_view(), name="collections"),
    re_path(r"^collections/(?P<collection_id>[\w-]+)/?$", ogcapi.CollectionView.as_view(), name="collection"),
    re_path(
        r"^collections/(?P<collection_id>[\w-]+)/queryables/?$",
        ogcapi.QueryablesView.as_view(),
        name="queryables",
    ),
    re_path(r"^collections/(?P<collection_id>[\w-]+)/schema/?$", ogcapi.SchemaView.as_view(), name="schema"),
    re_path(
        r"^collections/(?P<collection_id>[\w-]+)/feature-schema/?$",
        ogcapi.FeatureSchemaView.as_view(),
        name="feature-schema",
    ),
    re_path(r"^collections/(?P<collection_id>[\w-]+)/items/?$", ogcapi.ItemsView.as_view(), name="items"),
    re_path(
        r"^collections/(?P<collection_id>[\w-]+)/items/(?P<feature_id>[^/]+)/?$",
        ogcapi.ItemView.as_view(),
        name="item",
    ),
]
