"""Painted people wearing real CC0 garments: the stand-in for street photos of people.

No photos of people under a free licence ship with the project, so benchmarks and tests
paint them: a body (head with a face, hair, neck, arms, legs, in one of several skin
tones) and, on it, garments cut out of the CC0 catalogue photos (demo/catalogue/images):
a top from the shoulders to the hips, bottoms from the waist down, shoes at the feet (or a
dress). Every garment's visible mask is known exactly, and so is the catalogue photo it
came from, so a scene is both a region-detection test and a retrieval query.

What it is not: a real photo. The garments keep the flat shape they had on the hanger or
floor (no folds around a body, no pose), and the face is drawn, not photographed. Numbers
measured on these scenes say whether the pipeline finds and cuts out the garments a body
carries; they do not replace the team's held-out real pairs (issue 13).
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

# Skin tones from light to dark and hair colours (sRGB), spread so that the skin and hair
# models in recommender/regions.py are tested on more than one person.
SKIN_TONES = [(241, 204, 178), (224, 172, 136), (198, 134, 96), (161, 102, 68), (112, 72, 48)]
HAIR_COLOURS = [(28, 22, 20), (70, 45, 30), (120, 80, 45), (190, 150, 90), (140, 60, 30)]
TOP_FOLDERS = ("t-shirt", "shirt", "longsleeve", "outwear")
BOTTOM_FOLDERS = ("pants", "shorts", "skirt")
# How a garment folder maps to the garment kind a detector should name.
KIND_OF_FOLDER = {
    **dict.fromkeys(TOP_FOLDERS, "top"),
    **dict.fromkeys(BOTTOM_FOLDERS, "bottoms"),
    "dress": "dress",
    "shoes": "shoes",
}


@dataclass
class PersonScene:
    image: Image.Image
    masks: dict[str, np.ndarray]  # garment kind -> visible bool mask
    sources: dict[str, Path]  # garment kind -> catalogue photo it was cut from
    face: tuple[int, int, int, int]  # painted face (x0, y0, x1, y1): eyebrows to chin
    head_unit: float  # head height in pixels (top of head to chin)
    notes: dict = field(default_factory=dict)


@lru_cache(maxsize=1024)
def garment_cutout(path: Path, side: int = 360) -> tuple[Image.Image, np.ndarray]:
    """A garment cut out of its catalogue photo (the shop's own GrabCut over the whole
    photo), cropped to the cut-out: (RGB image, bool mask)."""
    from find_similar.refine import box_refine, mask_box

    with Image.open(path) as src:
        image = src.convert("RGB")
    image.thumbnail((side, side))
    mask = box_refine(image, (0, 0, image.width, image.height))
    x0, y0, x1, y1 = mask_box(mask) or (0, 0, image.width, image.height)
    return image.crop((x0, y0, x1, y1)), mask[y0:y1, x0:x1]


def _paste(canvas: np.ndarray, layers: dict, kind: str, cut, box) -> None:
    """Paste a cut-out garment scaled into ``box``; the pixels it covers leave other layers."""
    image, mask = cut
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    w, h = max(2, x1 - x0), max(2, y1 - y0)
    image = np.asarray(image.resize((w, h), Image.Resampling.BILINEAR))
    mask = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize((w, h))) > 127
    H, W = canvas.shape[:2]
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(W, x0 + w), min(H, y0 + h)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    sub = mask[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
    region = canvas[cy0:cy1, cx0:cx1]
    region[sub] = image[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0][sub]
    full = np.zeros((H, W), dtype=bool)
    full[cy0:cy1, cx0:cx1] = sub
    for other in layers:
        layers[other] &= ~full
    layers[kind] = layers.get(kind, np.zeros((H, W), dtype=bool)) | full


def _draw_shape(canvas: np.ndarray, layers: dict, draw_fn, colour, *, scale: int = 3) -> np.ndarray:
    """Draw an anti-aliased shape (supersampled) onto the canvas; returns its mask and
    removes it from the garment layers it covers."""
    H, W = canvas.shape[:2]
    big = Image.new("L", (W * scale, H * scale), 0)
    draw_fn(ImageDraw.Draw(big), scale)
    alpha = np.asarray(big.resize((W, H), Image.Resampling.BOX), dtype=np.float32)[..., None] / 255
    canvas[:] = (canvas * (1 - alpha) + np.asarray(colour, dtype=np.float32) * alpha).astype(np.uint8)
    covered = alpha[..., 0] > 0.5
    for kind in layers:
        layers[kind] &= ~covered
    return covered


def _background(rng: random.Random, photos: list[Path], width: int, height: int) -> Image.Image:
    if rng.random() < 0.5:
        # A studio backdrop: a light, even colour with a soft gradient.
        base = np.array([rng.randint(170, 245)] * 3, dtype=np.float32) + rng.uniform(-12, 12)
        ramp = np.linspace(-18, 18, height, dtype=np.float32)[:, None, None]
        pixels = np.clip(base + ramp + np.zeros((height, width, 3), dtype=np.float32), 0, 255)
        return Image.fromarray(pixels.astype(np.uint8))
    # A street: a blurred collage of other photos.
    canvas = Image.new("RGB", (width, height))
    cols, rows = 3, 4
    for gy in range(rows):
        for gx in range(cols):
            with Image.open(rng.choice(photos)) as tile:
                tile = tile.convert("RGB").resize((width // cols + 1, height // rows + 1))
            canvas.paste(tile, (gx * width // cols, gy * height // rows))
    return canvas.filter(ImageFilter.GaussianBlur(3))


def person_scene(
    *,
    top: Path | None,
    bottoms: Path | None,
    shoes: Path | None = None,
    dress: Path | None = None,
    backgrounds: list[Path],
    seed: int = 0,
    size: tuple[int, int] = (600, 900),
    framing: str | None = None,
) -> PersonScene:
    """Paint a person wearing the given catalogue garments.

    ``framing`` is "full" (head to feet) or "knees" (head to below the knees, as studio
    model photos are often framed); random when None.
    """
    rng = random.Random(seed)
    width, height = size
    framing = framing or rng.choice(["full", "knees"])
    # Head height ("unit"): a person is about 7.5 heads tall (fashion drawing proportions).
    u = height * (rng.uniform(0.105, 0.118) if framing == "full" else rng.uniform(0.15, 0.175))
    cx = width / 2 + rng.uniform(-0.08, 0.08) * width
    y0 = height * rng.uniform(0.03, 0.07)  # top of the head
    skin = rng.choice(SKIN_TONES)
    hair = rng.choice(HAIR_COLOURS)
    long_hair = rng.random() < 0.5

    canvas = np.asarray(_background(rng, backgrounds, width, height)).copy()
    layers: dict[str, np.ndarray] = {}
    sources: dict[str, Path] = {}
    shade = tuple(max(0, int(c * 0.82)) for c in skin)

    def y(k: float) -> float:
        return y0 + k * u

    if long_hair:  # behind the head and shoulders
        _draw_shape(
            canvas,
            layers,
            lambda d, s: d.rounded_rectangle(
                [(cx - 0.62 * u) * s, y(0.1) * s, (cx + 0.62 * u) * s, y(rng.uniform(1.6, 2.1)) * s],
                radius=0.35 * u * s,
                fill=255,
            ),
            hair,
        )
    # Legs and arms first: the garments cover what they cover.
    for side in (-1, 1):
        _draw_shape(
            canvas,
            layers,
            lambda d, s, side=side: d.polygon(
                [
                    ((cx + side * 0.12 * u) * s, y(3.6) * s),
                    ((cx + side * 0.62 * u) * s, y(3.6) * s),
                    ((cx + side * 0.42 * u) * s, y(7.15) * s),
                    ((cx + side * 0.18 * u) * s, y(7.15) * s),
                ],
                fill=255,
            ),
            skin,
        )
        _draw_shape(
            canvas,
            layers,
            lambda d, s, side=side: d.polygon(
                [
                    ((cx + side * 0.95 * u) * s, y(1.35) * s),
                    ((cx + side * 1.2 * u) * s, y(1.45) * s),
                    ((cx + side * 1.22 * u) * s, y(4.1) * s),
                    ((cx + side * 0.98 * u) * s, y(4.1) * s),
                ],
                fill=255,
            ),
            skin,
        )
        _draw_shape(  # hands
            canvas,
            layers,
            lambda d, s, side=side: d.ellipse(
                [
                    (cx + side * 1.1 * u - 0.16 * u) * s,
                    y(4.0) * s,
                    (cx + side * 1.1 * u + 0.16 * u) * s,
                    y(4.45) * s,
                ],
                fill=255,
            ),
            skin,
        )
    # Neck.
    _draw_shape(
        canvas,
        layers,
        lambda d, s: d.rectangle(
            [(cx - 0.19 * u) * s, y(0.8) * s, (cx + 0.19 * u) * s, y(1.4) * s], fill=255
        ),
        shade,
    )

    if dress is not None:
        cut = garment_cutout(dress)
        w = u * rng.uniform(2.0, 2.5)
        h = min(max(w * cut[0].height / cut[0].width, 3.6 * u), 4.8 * u)
        _paste(canvas, layers, "dress", cut, (cx - w / 2, y(1.2), cx + w / 2, y(1.2) + h))
        sources["dress"] = dress
    else:
        if bottoms is not None:
            cut = garment_cutout(bottoms)
            folder = bottoms.parent.name
            w = u * (rng.uniform(1.55, 1.8) if folder == "pants" else rng.uniform(1.6, 2.1))
            natural = w * cut[0].height / cut[0].width
            lo, hi = {"pants": (3.6, 4.3), "shorts": (1.3, 2.0), "skirt": (1.4, 2.6)}.get(folder, (1.5, 4.0))
            h = min(max(natural, lo * u), hi * u)
            _paste(canvas, layers, "bottoms", cut, (cx - w / 2, y(3.0), cx + w / 2, y(3.0) + h))
            sources["bottoms"] = bottoms
        if top is not None:
            cut = garment_cutout(top)
            w = u * rng.uniform(2.3, 2.8)
            h = min(max(w * cut[0].height / cut[0].width, 2.3 * u), 3.1 * u)
            _paste(canvas, layers, "top", cut, (cx - w / 2, y(1.2), cx + w / 2, y(1.2) + h))
            sources["top"] = top
    if shoes is not None:
        cut = garment_cutout(shoes)
        w = u * rng.uniform(1.1, 1.4)
        h = min(max(w * cut[0].height / cut[0].width, 0.5 * u), 0.9 * u)
        _paste(canvas, layers, "shoes", cut, (cx - w / 2, y(7.45) - h, cx + w / 2, y(7.45)))
        sources["shoes"] = shoes

    # The head: skin oval, hair cap, then the face (brows, eyes, nose, mouth).
    head = (cx - 0.37 * u, y(0.0), cx + 0.37 * u, y(1.0))
    _draw_shape(canvas, layers, lambda d, s: d.ellipse([v * s for v in head], fill=255), skin)
    _draw_shape(
        canvas,
        layers,
        lambda d, s: d.chord(
            [(cx - 0.4 * u) * s, y(-0.04) * s, (cx + 0.4 * u) * s, y(0.62) * s], 180, 360, fill=255
        ),
        hair,
    )
    if long_hair:  # locks falling in front of the shoulders, over the top
        for side in (-1, 1):
            _draw_shape(
                canvas,
                layers,
                lambda d, s, side=side: d.rounded_rectangle(
                    [
                        min(cx + side * 0.34 * u, cx + side * 0.58 * u) * s,
                        y(0.35) * s,
                        max(cx + side * 0.34 * u, cx + side * 0.58 * u) * s,
                        y(rng.uniform(1.7, 2.2)) * s,
                    ],
                    radius=0.1 * u * s,
                    fill=255,
                ),
                hair,
            )
    _face(canvas, layers, cx=cx, y=y, u=u, skin=skin, hair=hair)
    # Round the face with light: darker towards its edges, with the highlights a lit face
    # has on the forehead, the bridge of the nose and the cheekbones.
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r = np.hypot((xx - cx) / (0.37 * u), (yy - y(0.55)) / (0.5 * u))
    inside = r < 1.0
    light = 1 - 0.25 * r**2
    for hx, hy, rx, ry, gain in (
        (0.0, 0.33, 0.16, 0.05, 0.22),
        (0.0, 0.6, 0.035, 0.07, 0.25),
        (-0.17, 0.62, 0.08, 0.05, 0.15),
        (0.17, 0.62, 0.08, 0.05, 0.15),
    ):
        light += gain * np.exp(-(((xx - cx - hx * u) / (rx * u)) ** 2) - ((yy - y(hy)) / (ry * u)) ** 2)
    canvas[inside] = np.clip(canvas[inside] * light[inside, None], 0, 255).astype(np.uint8)

    image = Image.fromarray(canvas)
    # Photographic touches: a little blur and sensor noise, light and white balance, JPEG.
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8)))
    pixels = np.asarray(image, dtype=np.float32)
    gain = np.array([rng.uniform(0.9, 1.1) for _ in range(3)], dtype=np.float32) * rng.uniform(0.85, 1.1)
    pixels = pixels * gain + np.random.default_rng(seed).normal(0, 3.0, pixels.shape)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=rng.randint(80, 92))
    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    face = (int(cx - 0.33 * u), int(y(0.36)), int(cx + 0.33 * u), int(y(1.0)))
    return PersonScene(
        image=image,
        masks={k: v for k, v in layers.items() if v.any()},
        sources=sources,
        face=face,
        head_unit=u,
        notes={"framing": framing, "long_hair": long_hair, "skin": skin},
    )


def _face(canvas, layers, *, cx: float, y, u: float, skin, hair) -> None:
    dark = tuple(int(c * 0.55) for c in skin)
    brow = tuple(int(c * 0.8) for c in hair)
    for side in (-1, 1):
        ex = cx + side * 0.15 * u
        _draw_shape(  # eye socket shadow: Haar's eye features read it
            canvas,
            layers,
            lambda d, s, ex=ex: d.ellipse(
                [(ex - 0.11 * u) * s, y(0.42) * s, (ex + 0.11 * u) * s, y(0.54) * s], fill=255
            ),
            tuple(int(c * 0.78) for c in skin),
        )
        _draw_shape(
            canvas,
            layers,
            lambda d, s, ex=ex: d.line(
                [((ex - 0.1 * u) * s, y(0.41) * s), ((ex + 0.1 * u) * s, y(0.395) * s)],
                fill=255,
                width=max(1, int(0.035 * u * s)),
            ),
            brow,
        )
        _draw_shape(
            canvas,
            layers,
            lambda d, s, ex=ex: d.ellipse(
                [(ex - 0.075 * u) * s, y(0.465) * s, (ex + 0.075 * u) * s, y(0.51) * s], fill=255
            ),
            (235, 235, 230),
        )
        _draw_shape(
            canvas,
            layers,
            lambda d, s, ex=ex: d.ellipse(
                [(ex - 0.032 * u) * s, y(0.46) * s, (ex + 0.032 * u) * s, y(0.515) * s], fill=255
            ),
            (40, 30, 25),
        )
    _draw_shape(  # nose shadow
        canvas,
        layers,
        lambda d, s: d.polygon(
            [(cx * s, y(0.52) * s), ((cx - 0.06 * u) * s, y(0.68) * s), ((cx + 0.05 * u) * s, y(0.69) * s)],
            fill=255,
        ),
        tuple(int(c * 0.85) for c in skin),
    )
    _draw_shape(
        canvas,
        layers,
        lambda d, s: d.ellipse([(cx - 0.1 * u) * s, y(0.77) * s, (cx + 0.1 * u) * s, y(0.83) * s], fill=255),
        dark if sum(skin) < 400 else (170, 80, 80),
    )
