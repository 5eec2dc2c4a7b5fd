"""The request parsers every API view uses: DRF's, refusing text that carries control characters.

PostgreSQL cannot store U+0000 at all (a NUL in a description was a 500), and the other C0 controls make XML
answers (Open311) unreadable and reports garble; no person types them. A body holding one is a 400 naming the
field, before any view sees it. Tab and line breaks are text, not controls. Query strings get the same check in
core.middleware.ControlCharactersMiddleware.
"""

import re

from django.http import QueryDict
from rest_framework import parsers

from .errors import InputError

CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
REFUSAL = "contains a control character (U+0000–U+001F other than tab and line breaks, or U+007F); remove it"


def field_with_control_characters(value, path: str = "") -> str | None:
    """The dotted path of the first key or text holding a control character, or None; "" is the body itself."""
    if isinstance(value, QueryDict):  # a form or query string: the parameter is the field, however often given
        for key, items in value.lists():
            if any(CONTROL_CHARACTERS.search(text) for text in (key, *items) if isinstance(text, str)):
                return key
        return None
    if isinstance(value, str):
        return path if CONTROL_CHARACTERS.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and CONTROL_CHARACTERS.search(key):
                return where
            found = field_with_control_characters(item, where)
            if found is not None:
                return found
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = field_with_control_characters(item, f"{path}[{index}]" if path else f"[{index}]")
            if found is not None:
                return found
    return None


def refuse_control_characters(data) -> None:
    field = field_with_control_characters(data)
    if field is not None:
        raise InputError(field or "body", REFUSAL)


class _RefusingControlCharacters:
    """DRF's parse(), then the check; of a multipart form only the fields (the files are the importers' and the
    photo checks' to read)."""

    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        refuse_control_characters(parsed.data if isinstance(parsed, parsers.DataAndFiles) else parsed)
        return parsed


class JSONParser(_RefusingControlCharacters, parsers.JSONParser):
    pass


class FormParser(_RefusingControlCharacters, parsers.FormParser):
    pass


class MultiPartParser(_RefusingControlCharacters, parsers.MultiPartParser):
    pass
