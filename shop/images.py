"""Safe decoding of untrusted images (feeds, crawled shops, shopper uploads).

One place decides what an acceptable image is, so a crawled product photo and a
shopper's upload are checked the same way.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP", "MPO"}


class ImageRejected(ValueError):
    """The bytes are not an image we accept; the message is shown to people as is."""


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image  # RGB, upright (EXIF orientation applied)
    sha256: str
    format: str
    extension: str


def image_decode(data: bytes, *, max_bytes: int | None = None) -> DecodedImage:
    """Validate and decode image bytes into an upright RGB image.

    Refuses: empty data, more than ``max_bytes``, anything Pillow cannot identify, files
    that fail ``verify()`` or cannot be fully decoded (truncated), and images with more
    pixels than IMAGE_MAX_PIXELS (a decompression bomb is refused from its header,
    before its pixels are allocated). Animated images use their first frame; CMYK,
    palette and greyscale images are converted to RGB.
    """
    if not data:
        raise ImageRejected(_("The file is empty. Please choose a photo (JPEG, PNG or WebP)."))
    max_bytes = max_bytes or settings.UPLOAD_MAX_BYTES
    if len(data) > max_bytes:
        raise ImageRejected(
            _("The file is too large (%(size)s MB). Please use a photo under %(limit)s MB.")
            % {"size": f"{len(data) / 1e6:.1f}", "limit": f"{max_bytes / 1e6:.0f}"}
        )
    max_pixels = settings.IMAGE_MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format or ""
            width, height = probe.size
            if fmt not in ACCEPTED_FORMATS:
                raise ImageRejected(_("This image format is not supported. Please use JPEG, PNG or WebP."))
            if width * height > max_pixels:
                raise ImageRejected(
                    _("The image is too large (%(w)s × %(h)s pixels). Please use a smaller photo.")
                    % {"w": width, "h": height}
                )
            probe.verify()
        # verify() leaves the image unusable; decode again, fully, to catch truncation.
        with Image.open(io.BytesIO(data)) as img:
            img.seek(0)  # first frame of an animated GIF/WebP
            img.load()
            upright = ImageOps.exif_transpose(img)
            rgb = _to_rgb(upright)
    except ImageRejected:
        raise
    except Image.DecompressionBombError as exc:
        # Pillow refuses images over twice its own pixel limit while reading the header,
        # before our IMAGE_MAX_PIXELS check can: say "too large", not "unreadable".
        raise ImageRejected(
            _(
                "The image has far too many pixels to process. "
                "Please use a smaller photo (under %(mp)s megapixels)."
            )
            % {"mp": f"{max_pixels / 1e6:.0f}"}
        ) from exc
    except UnidentifiedImageError as exc:
        raise ImageRejected(
            _("This file is not an image we can read. Please choose a JPEG, PNG or WebP photo.")
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(_("The image is damaged or incomplete. Please try another photo.")) from exc
    return DecodedImage(
        image=rgb,
        sha256=hashlib.sha256(data).hexdigest(),
        format=fmt,
        extension={"JPEG": "jpg", "MPO": "jpg"}.get(fmt, fmt.lower()),
    )


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img.copy()
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        # Transparent areas become white: catalogue shots are on white.
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")
