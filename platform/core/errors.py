"""The one error type for input a client must fix; every API answers it with a 400 naming the field."""

import re


class InputError(ValueError):
    """Bad input: `field` names the parameter at fault, `detail` says what is wrong with it."""

    def __init__(self, field: str, detail: str):
        super().__init__(detail)
        self.field = field
        self.detail = detail


_SERVER_PATH = re.compile(r"(?:/[^/\s'\":,]+)+/([^/\s'\":,]+)")


def without_paths(message: str) -> str:
    """A library's error message (GDAL, WNTR) as a client may read it: file names kept, the server's folders gone."""
    return _SERVER_PATH.sub(r"\1", message)
