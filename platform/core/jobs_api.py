"""Background import jobs over HTTP: start one with an upload, follow it (the import screen polls the job), cancel
or retry it. The work itself is core/jobs.py's."""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from . import jobs, uploads
from .errors import InputError
from .models import Job, Role
from .permissions import roles_required

IMPORT_ROLES = (Role.PLANNER, Role.ADMIN)
JOB_USERS = roles_required(*IMPORT_ROLES, read_roles=IMPORT_ROLES)
RECENT_JOBS = 50


def _job(job_id: int) -> Job:
    return get_object_or_404(jobs.followed(), pk=job_id)


class JobListView(APIView):
    """The latest jobs (GET); POST multipart `kind` (an import kind an app registered, as `run_import --help`
    lists them), `file` and the kind's fields queues an import and answers 202 with the job to follow at its `url`."""

    permission_classes = [JOB_USERS]
    parser_classes = [uploads.UploadParser]

    @extend_schema(operation_id="jobs_list", responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        recent = jobs.followed()[:RECENT_JOBS]
        return Response({"results": [jobs.describe(job) for job in recent]})

    @extend_schema(request={"multipart/form-data": OpenApiTypes.OBJECT}, responses={202: OpenApiTypes.OBJECT})
    def post(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            raise InputError("file", "attach the file as multipart field 'file'")
        fields = {name: request.data.get(name) for name in request.data if name not in ("file", "kind")}
        job = jobs.start_import(request.data.get("kind", ""), request.user, upload, fields)
        described = jobs.describe(_job(job.pk))
        url = request.build_absolute_uri(reverse("job-detail", args=[job.pk]))
        return Response(described | {"url": url}, status=status.HTTP_202_ACCEPTED)


class JobDetailView(APIView):
    """One job: state (todo, doing, cancelling, succeeded, failed, cancelled, aborted), stage, done/total."""

    permission_classes = [JOB_USERS]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, job_id: int):
        return Response(jobs.describe(_job(job_id)))


class JobCancelView(APIView):
    """Cancel a waiting or running job: nothing of it is written."""

    permission_classes = [JOB_USERS]

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, job_id: int):
        jobs.cancel(_job(job_id))
        return Response(jobs.describe(_job(job_id)))


class JobRetryView(APIView):
    """Run a failed job again from the start."""

    permission_classes = [JOB_USERS]

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, job_id: int):
        jobs.retry(_job(job_id))
        return Response(jobs.describe(_job(job_id)))
