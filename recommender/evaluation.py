"""Offline retrieval evaluation on a folder of product photos (the demo catalogue).

No street-to-shop pairs ship with the demo, so each catalogue photo is turned into a
"street" query it should retrieve: a random crop, a small rotation, a lighting and
white-balance shift, a downscale and a low-quality JPEG (what a phone photo of the same
garment does to it). Recall@k is how often the original product is among the k nearest.

Used by ``manage.py evaluate_retrieval`` to choose the colour term (none, in the stored
vector, or a re-rank) and its weight; numbers are in the report and docs/benchmarks.md.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from recommender.colour import colour_feature, rgb_histogram
from recommender.preprocess import garment_on_white


def street_version(image: Image.Image, *, seed: int) -> Image.Image:
    """A degraded, re-framed copy of a product photo, deterministic for a seed."""
    rng = random.Random(seed)
    w, h = image.size
    keep = rng.uniform(0.55, 0.85)
    cw, ch = int(w * keep), int(h * keep)
    x0, y0 = rng.randint(0, w - cw), rng.randint(0, h - ch)
    out = image.crop((x0, y0, x0 + cw, y0 + ch)).rotate(
        rng.uniform(-20, 20), resample=Image.BILINEAR, expand=False, fillcolor=(128, 128, 128)
    )
    if rng.random() < 0.5:
        out = out.transpose(Image.FLIP_LEFT_RIGHT)
    out = ImageEnhance.Brightness(out).enhance(rng.uniform(0.65, 1.35))
    out = ImageEnhance.Contrast(out).enhance(rng.uniform(0.7, 1.3))
    # White balance: scale one channel a little (warm indoor light, cool shade).
    channels = list(out.split())
    c = rng.randrange(3)
    factor = rng.uniform(0.85, 1.15)
    channels[c] = channels[c].point(lambda v: min(255, int(v * factor)))
    out = Image.merge("RGB", channels)
    out = out.resize((max(1, int(out.width * 0.5)), max(1, int(out.height * 0.5))), Image.BILINEAR)
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=rng.randint(45, 75))
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


@dataclass
class Encoded:
    paths: list[Path]
    deep: np.ndarray  # (n, dim), unit rows
    colour: np.ndarray  # (n, 96), colour_feature rows (unit)


def encode(paths: list[Path], embedder, *, street: bool, batch: int = 32, progress=None) -> Encoded:
    deep, colour = [], []
    for start in range(0, len(paths), batch):
        crops = []
        for i, path in enumerate(paths[start : start + batch], start=start):
            image = Image.open(path).convert("RGB")
            image.thumbnail((640, 640))
            if street:
                image = street_version(image, seed=i)
            crops.append(garment_on_white(image))
        deep.append(embedder.embed(crops))
        colour.extend(colour_feature(rgb_histogram(c)) for c in crops)
        if progress:
            progress(len(crops))
    return Encoded(paths, np.concatenate(deep), np.stack(colour))


def recall_at(distances: np.ndarray, k: int) -> float:
    """Share of queries (rows) whose own catalogue item (the diagonal) ranks in the top k."""
    own = np.diag(distances)[:, None]
    rank = (distances < own).sum(axis=1)
    return float((rank < k).mean())


def rankings(catalogue: Encoded, queries: Encoded, *, weight: float, pool: int) -> dict[str, np.ndarray]:
    """Distance matrices (queries x catalogue) for each way of adding the colour term."""
    deep = 1 - queries.deep @ catalogue.deep.T
    colour = 1 - queries.colour @ catalogue.colour.T
    # In the stored vector: [sqrt(1-w) * deep, sqrt(w) * colour] is a unit vector whose
    # cosine distance is exactly (1-w) * deep + w * colour, over the whole catalogue.
    in_vector = (1 - weight) * deep + weight * colour
    # Re-rank: the same blend, but only within the `pool` nearest by the deep embedding
    # (what the HNSW index returns); everything else keeps its deep rank behind them.
    rerank = deep + 10.0
    nearest = np.argsort(deep, axis=1)[:, :pool]
    rows = np.arange(len(deep))[:, None]
    rerank[rows, nearest] = in_vector[rows, nearest]
    return {"deep only": deep, "in vector": in_vector, "re-rank": rerank}
