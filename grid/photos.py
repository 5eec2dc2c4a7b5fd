"""Case photos as they arrive: checked by size before they are read and by content (Pillow decides what the file
is, and how many pixels it declares), then re-encoded so that only pixels are kept."""

import hashlib
import io
from dataclasses import dataclass

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import InputError

PHOTO_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_PHOTO_PIXELS = 50_000_000  # what a phone or tablet camera takes; a "pixel bomb" declares far more
STORED_PHOTO_SIDE = 4096


@dataclass(frozen=True)
class Photo:
    """An upload that passed the checks, re-encoded as the JPEG that is stored; the hash is the upload's (a retry
    of the same report has the same fingerprint)."""

    content: bytes
    content_type: str
    extension: str
    sha256: str


def check_photo(upload, field: str = "photo") -> Photo:
    """Size first (never read more than the limit), then Pillow decides by content what the file is."""
    limit = settings.CITYOPS_GRID_MAX_PHOTO_BYTES
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise InputError(field, f"photo is {size} bytes; the limit is {limit} bytes ({limit // 2**20} MB)")
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise InputError(field, f"photo is larger than the limit of {limit} bytes ({limit // 2**20} MB)")
    if not content:
        raise InputError(field, "photo is empty")
    try:
        with Image.open(io.BytesIO(content)) as image:
            if image.format not in PHOTO_TYPES:
                raise InputError(field, f"image type {image.format} is not accepted; send JPEG, PNG or WebP")
            if image.width * image.height > MAX_PHOTO_PIXELS:
                raise InputError(
                    field,
                    f"photo is {image.width}×{image.height} pixels; at most {MAX_PHOTO_PIXELS // 10**6} million",
                )
            stored = _reencoded(image)
    except InputError:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own guard, for sizes far past ours
        raise InputError(field, f"photo declares too many pixels; at most {MAX_PHOTO_PIXELS // 10**6} million") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(field, "not an image (JPEG, PNG or WebP expected)") from exc
    return Photo(stored, "image/jpeg", "jpg", hashlib.sha256(content).hexdigest())


def _reencoded(image: Image.Image) -> bytes:
    """The photo as it is kept: upright, at most STORED_PHOTO_SIDE pixels a side, a plain JPEG. Only pixels pass:
    whatever else the file carried (metadata with the camera's position, trailing bytes, a second image) is left."""
    upright = ImageOps.exif_transpose(image)
    upright.thumbnail((STORED_PHOTO_SIDE, STORED_PHOTO_SIDE))
    out = io.BytesIO()
    upright.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()
