"""Files as they arrive, before any app reads them: the upload size limit (settings.CITYOPS_IMPORT_MAX_BYTES),
the multipart parser that enforces it, and a file on this server taken like an upload (commands, jobs). They
live in core, below the apps, since core's job API and run_import take files too."""

from pathlib import Path

from django.conf import settings
from django.core.files import File

from .errors import InputError
from .parsers import MultiPartParser

FORM_BYTES = 64 * 1024  # the multipart form around an uploaded file


def max_bytes() -> int:
    return settings.CITYOPS_IMPORT_MAX_BYTES


def local_file(path: str | Path) -> File:
    """A file on this server (a command's argument) as the gate takes an upload; use it in a `with`."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file", f"no file {path}")
    return File(path.open("rb"), name=path.name)


class UploadParser(MultiPartParser):
    """Multipart, refused from its declared length before it is parsed (under ASGI the body limit answers 413
    even earlier: core/http_bridge.py)."""

    def parse(self, stream, media_type=None, parser_context=None):
        declared = parser_context["request"].META.get("CONTENT_LENGTH") or "0"
        if not declared.isdigit() or int(declared) > max_bytes() + FORM_BYTES:
            raise InputError("file", f"the upload is larger than {max_bytes()} bytes")
        return super().parse(stream, media_type, parser_context)
