"""Language choice: Simplified Chinese unless the user picked another language in the interface.

Django's LocaleMiddleware follows the browser's Accept-Language, so an English-locale PC in a Chinese
command center would get English. Here only the language cookie (set by /i18n/setlang/) counts.
"""

from django.conf import settings
from django.utils import translation


class InterfaceLanguageMiddleware:
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
