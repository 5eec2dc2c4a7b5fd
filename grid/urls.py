"""City-management REST API under /api/grid/."""

from django.urls import path

from . import api, config_api

urlpatterns = [
    path("cases/", api.CaseListView.as_view(), name="grid-cases"),
    path("cases/batch/", api.CaseBatchView.as_view(), name="grid-cases-batch"),
    path("cases/duplicates/", api.DuplicateCheckView.as_view(), name="grid-cases-duplicates"),
    path("cases/<int:pk>/callbacks/", api.CaseCallbackView.as_view(), name="grid-case-callbacks"),
    path("cases/<int:pk>/merge/", api.CaseMergeView.as_view(), name="grid-case-merge"),
    path("cases/<int:pk>/", api.CaseDetailView.as_view(), name="grid-case"),
    path("cases/<int:pk>/actions/<str:action>/", api.CaseActionView.as_view(), name="grid-case-action"),
    path("photos/<int:pk>/", api.PhotoView.as_view(), name="grid-photo"),
    path("categories/", api.CategoryListView.as_view(), name="grid-categories"),
    path("grids/", api.GridListView.as_view(), name="grid-grids"),
    path("my-grids/", api.MyGridsView.as_view(), name="grid-my-grids"),
    path("my-tasks/", api.MyTasksView.as_view(), name="grid-my-tasks"),
    path("departments/", api.DepartmentListView.as_view(), name="grid-departments"),
    path("components/nearest/", api.NearestComponentView.as_view(), name="grid-components-nearest"),
    path("components/", api.ComponentListView.as_view(), name="grid-components"),
    path("components/<int:pk>/", api.ComponentDetailView.as_view(), name="grid-component"),
    path("components/<int:pk>/retire/", api.ComponentRetireView.as_view(), name="grid-component-retire"),
    path("kpis/", api.KpiView.as_view(), name="grid-kpis"),
    path("config/categories/", config_api.ConfigCategoriesView.as_view(), name="grid-config-categories"),
    path("config/categories/<str:code>/", config_api.ConfigCategoryLimitsView.as_view(), name="grid-config-limits"),
    path("config/rules/", config_api.ConfigRulesView.as_view(), name="grid-config-rules"),
    path("config/rules/<int:pk>/", config_api.ConfigRuleView.as_view(), name="grid-config-rule"),
    path("config/draft/", config_api.ConfigDraftView.as_view(), name="grid-config-draft"),
    path("config/publish/", config_api.ConfigPublishView.as_view(), name="grid-config-publish"),
    path("config/versions/", config_api.ConfigVersionsView.as_view(), name="grid-config-versions"),
    path("config/diff/", config_api.ConfigDiffView.as_view(), name="grid-config-diff"),
]
