"""Every API error is JSON: {"error": <code>, "detail": <what was wrong>, "field": <input name, if any>}.

The one place errors become answers: views let InputError and Refusal (core/errors.py) propagate, never map them.
"""

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import InputError, Refusal


def exception_handler(exc, context):
    if isinstance(exc, InputError):
        return Response(
            {"error": "invalid_input", "field": exc.field, "detail": exc.detail},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Refusal):
        return Response(exc.as_json(), status=exc.status)
    response = drf_exception_handler(exc, context)
    if response is not None:
        code = getattr(exc, "default_code", "error")
        detail = response.data
        if isinstance(detail, dict) and set(detail) == {"detail"}:
            detail = detail["detail"]
        response.data = {"error": code, "detail": detail}
    return response


def validated(serializer_class, data, *, partial: bool = False) -> dict:
    """A DRF serializer's validated data, or its first problem as an InputError (so the shared 400 shape above):
    the field named as the client wrote it, `items[2]` for a list element, `contact.name` for a nested field."""
    payload = serializer_class(data=data, partial=partial)
    if payload.is_valid():
        return payload.validated_data
    field, problems = next(iter(payload.errors.items()))
    while isinstance(problems, dict):
        index, problems = next(iter(problems.items()))
        field = f"{field}[{index}]" if str(index).isdigit() else f"{field}.{index}"
    raise InputError(field, " ".join(str(problem) for problem in problems))


def time_param(params, name: str, default: datetime | None = None) -> datetime | None:
    """An ISO 8601 time from a query parameter, aware (the server's zone when it names none); `default` when absent.
    A "+08:00" sent unencoded arrives as a space and is read as meant."""
    raw = params.get(name)
    if not raw:
        return default
    text = raw.replace(" ", "+") if "T" in raw else raw
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(name, _("not an ISO 8601 time: %(value)r") % {"value": raw}) from None
    return value if timezone.is_aware(value) else timezone.make_aware(value)
