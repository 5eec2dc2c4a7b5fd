"""Request-wide middleware: the request id every log line carries, query strings without control characters,
JSON errors under /api/, the interface language."""

import logging
import re
import uuid

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import HttpResponseBadRequest, JsonResponse
from django.utils import translation

from .log_context import request_id
from .parsers import REFUSAL, field_with_control_characters

log = logging.getLogger("cityops.requests")
_GIVEN_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
API_PREFIXES = ("/api/", "/ogcapi/", "/tiles/", "/gps/", "/open311/")


class RequestIdMiddleware:
    """One id per request (a proxy's X-Request-ID when it is a plain token, else a new one): in every log line of
    the request (core.log_context) and in the answer's X-Request-ID."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        token = request_id.set(given if _GIVEN_ID.match(given) else uuid.uuid4().hex[:16])
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id.get()
            return response
        finally:
            request_id.reset(token)


class ControlCharactersMiddleware:
    """A query string holding a control character (a NUL reaching a database filter was a 500) is a 400 naming
    the parameter, on every path; bodies get the same check in their parsers (core/parsers.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        field = field_with_control_characters(request.GET)
        if field is None:
            return self.get_response(request)
        if request.path.startswith(API_PREFIXES):
            return JsonResponse({"error": "invalid_input", "field": field, "detail": REFUSAL}, status=400)
        return HttpResponseBadRequest(f"{field}: {REFUSAL}", content_type="text/plain; charset=utf-8")


class ApiErrorsMiddleware:
    """An unexpected error under the machine interfaces is JSON naming the request id, never Django's HTML page
    (the traceback goes to the log, under that id)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if settings.DEBUG or not request.path.startswith(API_PREFIXES):
            return None
        if isinstance(exception, SuspiciousOperation):  # e.g. more form fields than DATA_UPLOAD_MAX_NUMBER_FIELDS
            return JsonResponse({"error": "bad_request", "detail": str(exception)}, status=400)
        log.error("%s %s failed", request.method, request.path, exc_info=exception)
        detail = f"internal error; quote request id {request_id.get()} to the administrator"
        return JsonResponse({"error": "server_error", "detail": detail}, status=500)


class InterfaceLanguageMiddleware:
    """Simplified Chinese unless the user picked another language in the interface: Django's LocaleMiddleware
    follows the browser's Accept-Language, so an English-locale PC in a Chinese command centre would get English;
    here only the language cookie (set by /i18n/setlang/) counts."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response
