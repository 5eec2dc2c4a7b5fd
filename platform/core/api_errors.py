"""Every API error is JSON: {"error": <code>, "detail": <what was wrong>, "field": <input name, if any>}.

The one place errors become answers: views let InputError and Refusal (core/errors.py) propagate, never map them.
"""

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
