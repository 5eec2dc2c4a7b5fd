"""Response plans API under /api/emergency/."""

from django.urls import path

from . import api, crossover_api

urlpatterns = [
    path("plans/", api.PlanListView.as_view(), name="emergency-plans"),
    path("plans/<slug:code>/versions/", api.PlanVersionsView.as_view(), name="emergency-plan-versions"),
    path("incidents/<int:pk>/suggestion/", api.SuggestionView.as_view(), name="emergency-suggestion"),
    path("incidents/<int:pk>/plan/", api.ActivationView.as_view(), name="emergency-activation"),
    path("incidents/<int:pk>/plan/level/", api.LevelView.as_view(), name="emergency-level"),
    path("incidents/<int:pk>/plan/surroundings/", api.SurroundingsView.as_view(), name="emergency-surroundings"),
    path(
        "incidents/<int:pk>/plan/actions/<int:item>/done/", api.ActionDoneView.as_view(), name="emergency-action-done"
    ),
    path("incidents/<int:pk>/plan/report/", api.AfterActionView.as_view(), name="emergency-after-action"),
]

# 平战结合: cases ↔ incidents
urlpatterns += [
    path("escalation-types/", crossover_api.EscalationTypesView.as_view(), name="emergency-escalation-types"),
    path("cases/<str:number>/escalate/", crossover_api.CaseEscalateView.as_view(), name="emergency-case-escalate"),
    path("cases/<str:number>/links/", crossover_api.CaseLinksView.as_view(), name="emergency-case-links"),
    path(
        "incidents/<int:pk>/follow-up-cases/",
        crossover_api.FollowUpCasesView.as_view(),
        name="emergency-follow-up-cases",
    ),
    path("incidents/<int:pk>/links/", crossover_api.IncidentLinksView.as_view(), name="emergency-incident-links"),
]
