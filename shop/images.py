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
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP", "MPO"}


class ImageRejected(ValueError):
    """The bytes are not an image we accept; the message is shown to people as is."""


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image  # RGB, upright (EXIF orientation applied)
    sha256: str
    format: str
    extension: str


def image_decode(
    data: bytes,
    *,
    max_bytes: int | None = None,
    max_pixels: int | None = None,
    max_side: int | None = None,
    min_side: int = 0,
) -> DecodedImage:
    """Validate and decode image bytes into an upright RGB image without metadata.

    Refuses: empty data, more than ``max_bytes``, anything Pillow cannot identify, files
    that fail ``verify()`` or cannot be fully decoded (truncated), and images that would
    decode to more pixels than ``max_pixels`` (IMAGE_MAX_PIXELS by default; a decompression
    bomb is refused from its header, before its pixels are allocated). Animated images use
    their first frame; CMYK, palette and greyscale images are converted to RGB.

    ``max_side``: the image returned is at most this long on its longer side. JPEGs are then
    decoded at a reduced scale (``draft()``: 1/2, 1/4 or 1/8, never below ``max_side``), so a
    50 MP phone photo is never held at full size; other formats are decoded, then reduced.
    ``min_side``: refuse images shorter than this on a side, or so long and narrow that their
    shorter side would be under it once reduced to ``max_side``.

    Memory: one full-size decode at most, plus the reduced copy; the returned image carries
    no metadata (EXIF, comments, ICC profile, XMP), so nothing of the source file is re-saved.
    """
    if not data:
        raise ImageRejected(_("The file is empty. Please choose a photo (JPEG, PNG or WebP)."))
    max_bytes = max_bytes or settings.UPLOAD_MAX_BYTES
    if len(data) > max_bytes:
        raise ImageRejected(
            _("The file is too large (%(size)s MB). Please use a photo under %(limit)s MB.")
            % {"size": f"{len(data) / 1e6:.1f}", "limit": f"{max_bytes / 1e6:.0f}"}
        )
    max_pixels = max_pixels or settings.IMAGE_MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format or ""
            width, height = probe.size
            if fmt not in ACCEPTED_FORMATS:
                raise ImageRejected(_("This image format is not supported. Please use JPEG, PNG or WebP."))
            _check_shape(width, height, min_side=min_side, max_side=max_side)
            probe.verify()
        # verify() leaves the image unusable; decode again, fully, to catch truncation. No
        # `with`: closing an image discards its pixels, and this one is returned (the bytes are
        # in memory, so no file is left open).
        img = Image.open(io.BytesIO(data))
        img.seek(0)  # first frame of an animated GIF/WebP
        if max_side and fmt in ("JPEG", "MPO"):
            img.draft(None, (max_side, max_side))  # decode at 1/2, 1/4 or 1/8 scale when that is enough
        if img.width * img.height > max_pixels:
            raise ImageRejected(
                _("The image is too large (%(w)s × %(h)s pixels). Please use a smaller photo.")
                % {"w": width, "h": height}
            )
        img.load()
        if max_side and max(img.size) > max_side:
            img = _reduce(img, max_side)  # the full-size decode is dropped here
        upright = ImageOps.exif_transpose(img, in_place=False) if _rotated(img) else img
        rgb = _to_rgb(upright)
        del img, upright
    except ImageRejected:
        raise
    except Image.DecompressionBombError as exc:
        # Pillow refuses images over twice its own pixel limit while reading the header,
        # before our pixel check can: say "too large", not "unreadable".
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
    # Comments (JPEG COM, GIF), EXIF (GPS), XMP, ICC and PNG text chunks stay behind: Pillow
    # would write some of them back when the image is saved (JPEG comments are).
    rgb.info = {}
    return DecodedImage(
        image=rgb,
        sha256=hashlib.sha256(data).hexdigest(),
        format=fmt,
        extension={"JPEG": "jpg", "MPO": "jpg"}.get(fmt, fmt.lower()),
    )


def _check_shape(width: int, height: int, *, min_side: int, max_side: int | None) -> None:
    if not min_side:
        return
    if min(width, height) < min_side:
        raise ImageRejected(
            _("This photo is too small to search with; please use one at least %(side)s px on each side.")
            % {"side": min_side}
        )
    if (
        max_side
        and max(width, height) > max_side
        and min(width, height) * max_side < min_side * max(width, height)
    ):
        raise ImageRejected(
            _(
                "This photo is too long and narrow to search with; please crop it closer to the garment "
                "(at most %(ratio)s times as long as it is wide)."
            )
            % {"ratio": max_side // min_side}
        )


def _reduce(img: Image.Image, side: int) -> Image.Image:
    """A copy at most ``side`` long: palette and 1-bit images are converted first (their
    resize would be nearest-neighbour), others resized in their own mode."""
    if img.mode not in ("RGB", "RGBA", "L", "LA", "CMYK", "I", "F"):
        img = img.convert("RGBA" if img.mode == "P" and "transparency" in img.info else "RGB")
    scale = side / max(img.size)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    # reducing_gap: a cheap integer reduce first, then LANCZOS on what is left (Pillow's
    # thumbnail() does the same); the quality loss is invisible at this factor.
    return img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _rotated(img: Image.Image) -> bool:
    return img.getexif().get(ExifTags.Base.Orientation, 1) not in (1, None)


def _to_rgb(img: Image.Image) -> Image.Image:
    """RGB with transparency on white; the image itself when it already is RGB (no copy)."""
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        # Transparent areas become white: catalogue shots are on white.
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")
