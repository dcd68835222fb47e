"""Logo and favicon uploads: real images of a bounded size only."""

from __future__ import annotations

import io

from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError

from portal.core import audit
from portal.extensions import db
from portal.tenancy.models import Reseller
from portal.tenancy.services.errors import TenancyError

MAX_BYTES = 512 * 1024
MAX_SIDE = 2048
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "ICO": "image/x-icon",
           "WEBP": "image/webp"}


def check_image(data: bytes) -> str:
    """The content type of an acceptable image, or TenancyError."""
    if not data:
        raise TenancyError(_l("Choose an image file."), field="file")
    if len(data) > MAX_BYTES:
        raise TenancyError(_l("The image is larger than %(kb)s KB.", kb=MAX_BYTES // 1024),
                           field="file")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            kind = image.format
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Image.DecompressionBombError as error:  # a small file claiming huge dimensions
        raise TenancyError(_l("The image is larger than %(side)s×%(side)s pixels.",
                              side=MAX_SIDE), field="file") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise TenancyError(_l("The file is not an image (PNG, JPEG, GIF, ICO or WebP)."),
                           field="file") from error
    if kind not in FORMATS:
        raise TenancyError(_l("The file is not an image (PNG, JPEG, GIF, ICO or WebP)."),
                           field="file")
    if width > MAX_SIDE or height > MAX_SIDE:
        raise TenancyError(_l("The image is larger than %(side)s×%(side)s pixels.", side=MAX_SIDE),
                           field="file")
    return FORMATS[kind]


def set_branding_image(reseller: Reseller, kind: str, data: bytes | None, *, actor=None) -> None:
    """Store (or, with data None, remove) the reseller's logo or favicon."""
    if kind not in ("logo", "favicon"):
        raise ValueError(kind)
    content_type = check_image(data) if data is not None else None
    setattr(reseller, kind, data)
    setattr(reseller, f"{kind}_type", content_type)
    reseller.branding_version += 1
    audit.log(reseller, f"tenancy.reseller.{kind}_{'changed' if data else 'removed'}", actor=actor,
              data={"bytes": len(data) if data else 0})
    db.session.flush()
