"""The one preprocessing path for catalogue images and shoppers' queries.

Catalogue shots are on white; a garment cut out of a street photo is put on white too
and padded to a square, so both sides of a comparison look alike to the embedder (the
original project's lesson).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

WHITE = (255, 255, 255)
# A little white margin around the garment, as in a product shot (fraction of the side).
MARGIN = 0.04


def garment_on_white(image: Image.Image, mask: np.ndarray | None = None) -> Image.Image:
    """Crop ``image`` to the mask's bounding box, paint everything outside the mask white,
    and pad to a square on white. Without a mask the whole image is padded to a square.

    An empty mask falls back to the whole image rather than returning nothing.
    """
    rgb = image.convert("RGB")
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (rgb.height, rgb.width):
            raise ValueError(f"mask shape {mask.shape} does not match image size {rgb.size}")
        if mask.any():
            ys, xs = np.nonzero(mask)
            x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
            pixels = np.asarray(rgb).copy()
            pixels[~mask] = WHITE
            rgb = Image.fromarray(pixels[y0:y1, x0:x1])
    return pad_square(rgb)


def pad_square(image: Image.Image) -> Image.Image:
    """Centre the image on a white square with a small margin."""
    side = max(image.size)
    side += 2 * round(side * MARGIN)
    canvas = Image.new("RGB", (side, side), WHITE)
    canvas.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return canvas
