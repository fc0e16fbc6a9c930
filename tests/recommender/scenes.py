"""Test pictures built from the real CC0 clothing photos shipped in demo/catalogue/images.

A "scene" is a garment photo cut to a garment-shaped silhouette and pasted onto a busy mosaic of
other photos, so the true garment mask is known exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

# The photos every clone has (CC0, see demo/catalogue/LICENSE): one folder per garment class.
DATA = Path(__file__).resolve().parents[2] / "demo" / "catalogue" / "images"


def cc0_photos(kind: str, count: int) -> list[Path]:
    photos = sorted((DATA / kind).glob("*.jpg"))[:count]
    assert len(photos) == count, f"demo/catalogue/images/{kind} has fewer than {count} photos"
    return photos


def tshirt_silhouette(width: int, height: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """A T-shirt shape (body and sleeves) inside ``box``, as a bool mask."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    points = [
        (0.30, 0.00), (0.42, 0.06), (0.58, 0.06), (0.70, 0.00), (1.00, 0.22), (0.88, 0.40),
        (0.78, 0.33), (0.78, 1.00), (0.22, 1.00), (0.22, 0.33), (0.12, 0.40), (0.00, 0.22),
    ]  # fmt: skip
    canvas = Image.new("L", (width, height), 0)
    ImageDraw.Draw(canvas).polygon([(x0 + px * w, y0 + py * h) for px, py in points], fill=255)
    return np.asarray(canvas) > 127


def busy_background(width: int, height: int, seed: int = 0) -> Image.Image:
    """A mosaic of other real photos (shoes and shorts on floors and beds), 3×3 tiles."""
    rng = np.random.default_rng(seed)
    photos = cc0_photos("shoes", 6) + cc0_photos("shorts", 6)
    canvas = Image.new("RGB", (width, height))
    tile_w, tile_h = -(-width // 3), -(-height // 3)
    for row in range(3):
        for col in range(3):
            with Image.open(photos[int(rng.integers(len(photos)))]) as photo:
                canvas.paste(photo.convert("RGB").resize((tile_w, tile_h)), (col * tile_w, row * tile_h))
    return canvas


def garment_scene(photo: Path, *, size=(480, 400), seed: int = 0):
    """Return (image, true mask, garment box): the photo's centre fabric in a T-shirt shape."""
    width, height = size
    box = (int(width * 0.28), int(height * 0.2), int(width * 0.72), int(height * 0.85))
    with Image.open(photo) as src:
        src = src.convert("RGB")
        sw, sh = src.size
        # The middle of a flat-lay photo is garment, not background.
        fabric = src.crop((int(sw * 0.3), int(sh * 0.3), int(sw * 0.7), int(sh * 0.7)))
    fabric = fabric.resize((box[2] - box[0], box[3] - box[1]))
    mask = tshirt_silhouette(width, height, box)
    scene = busy_background(width, height, seed)
    layer = Image.new("RGB", size)
    layer.paste(fabric, box[:2])
    scene.paste(layer, (0, 0), Image.fromarray(mask.astype(np.uint8) * 255))
    return scene, mask, box


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))
