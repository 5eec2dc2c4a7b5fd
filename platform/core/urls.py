from django.urls import path

from . import api, jobs_api

urlpatterns = [
    path("areas/", api.AreaListView.as_view(), name="area-list"),
    path("areas/<str:code>/", api.AreaDetailView.as_view(), name="area-detail"),
    path("locate/", api.LocateView.as_view(), name="locate"),
    path("me/", api.MeView.as_view(), name="me"),
    path("health/", api.HealthView.as_view(), name="health"),
    path("jobs/", jobs_api.JobListView.as_view(), name="job-list"),
    path("jobs/<int:job_id>/", jobs_api.JobDetailView.as_view(), name="job-detail"),
    path("jobs/<int:job_id>/cancel/", jobs_api.JobCancelView.as_view(), name="job-cancel"),
    path("jobs/<int:job_id>/retry/", jobs_api.JobRetryView.as_view(), name="job-retry"),
]
