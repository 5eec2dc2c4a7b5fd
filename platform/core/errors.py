"""The errors services raise for a client to read; the central API handler (core/api_errors.py) answers each:
``InputError`` (input the client must fix, a 400 naming the field) and ``Refusal`` (a well-formed request the
current state refuses, with its status and code). Pure Python: plain modules such as grid/workflow.py raise them too.
"""

import re


class InputError(ValueError):
    """Bad input: `field` names the parameter at fault, `detail` says what is wrong with it."""

    def __init__(self, field: str, detail: str):
        super().__init__(detail)
        self.field = field
        self.detail = detail


class Refusal(Exception):
    """A well-formed request that the current state refuses (409 ``conflict`` unless a subclass says otherwise);
    nothing was changed. Answered as ``{"error": code, "detail": detail, **extra}``."""

    status = 409
    code = "conflict"

    def __init__(self, detail: str, **extra):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def as_json(self) -> dict:
        return {"error": self.code, "detail": self.detail, **self.extra}


class Forbidden(Refusal):
    """The user's role reaches the endpoint, but not this object (not theirs, not their grid): a 403."""

    status = 403
    code = "permission_denied"


class Unavailable(Refusal):
    """A dependency the request needs (the database of the work caps, say) did not answer in time: a 503 the client
    may retry; nothing was done."""

    status = 503
    code = "unavailable"


_SERVER_PATH = re.compile(r"(?:/[^/\s'\":,]+)+/([^/\s'\":,]+)")


def without_paths(message: str) -> str:
    """A library's error message (GDAL, WNTR) as a client may read it: file names kept, the server's folders gone."""
    return _SERVER_PATH.sub(r"\1", message)
