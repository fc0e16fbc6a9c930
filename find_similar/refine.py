"""Turn a shopper's rough crop box into a garment mask with OpenCV GrabCut.

Why: a box holds background that a catalogue shot on white does not, and the embedding sees
it. The box is refined before embedding, and the same refinement stands in for the segmenter
when its weights are missing. What it buys is measured by ``python -m bench.retrieval --region
box whole`` (docs/benchmarks.md, section "retrieval-people": on painted people, recall@10 0.97
for the shopper's box refined by GrabCut against 0.34 for the whole photo, colour re-rank off).

Also here: the small mask geometry the pages need (run-length encoding for storage, outlines
for the SVG overlay).
"""

from __future__ import annotations

import logging

import cv2
import numpy as np
from PIL import Image

logger = logging.getLogger(__name__)

# GrabCut's cost grows with pixels × iterations; at 320 px on the long side one refinement takes
# ~0.1-0.3 s on this 2-core CPU, and the outline is still finer than the user's box.
WORK_SIDE = 320
ITERATIONS = 5
# GrabCut learns the background from pixels outside the box; keep at least this share of the
# image outside it even when the user boxes the whole photo.
MIN_BORDER = 0.03
# A refinement that keeps less than this share of the box has failed (e.g. a box drawn
# inside a uniform area); the box itself is a better query than a speck.
MIN_KEEP = 0.08
# Components smaller than this share of the largest one are noise, not garment.
MIN_COMPONENT = 0.1

Box = tuple[int, int, int, int]


def box_clip(box, *, width: int, height: int) -> Box:
    """Order and clip (x0, y0, x1, y1) to the image; raise ValueError if nothing is left."""
    x0, y0, x1, y1 = (int(round(float(v))) for v in box)
    x0, x1 = sorted((x0, x1))
    y0, y1 = sorted((y0, y1))
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(width, x1), min(height, y1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise ValueError("The box is empty once clipped to the image.")
    return x0, y0, x1, y1


# Boxes are snapped to 1/BOX_GRID of the photo's width and height before anything is computed.
# The stored photo is at most 1,024 px (FIND_SIMILAR_IMAGE_MAX_SIDE) and GrabCut works at
# WORK_SIDE (320 px): a 1/32 step is at most 32 px of the photo and 10 px of GrabCut's copy,
# finer than a box is dragged by finger or mouse, and GrabCut then follows the garment's own
# edge inside it. Boxes drawn a few pixels apart become one region, computed once; a loop of
# random boxes finds a finite set, and the per-client box rate limit bounds the rest.
BOX_GRID = 32


def box_snap(box: Box, *, width: int, height: int) -> Box:
    """Snap an ordered, clipped box to the grid, at least one cell wide and high."""

    def snap(low: int, high: int, size: int) -> tuple[int, int]:
        first, last = round(low * BOX_GRID / size), round(high * BOX_GRID / size)
        if last <= first:  # narrower than a cell: keep one cell, inside the photo
            first, last = (first, first + 1) if first < BOX_GRID else (BOX_GRID - 1, BOX_GRID)
        return round(first * size / BOX_GRID), round(last * size / BOX_GRID)

    x0, x1 = snap(box[0], box[2], width)
    y0, y1 = snap(box[1], box[3], height)
    return x0, y0, x1, y1


def box_mask(box: Box, *, width: int, height: int) -> np.ndarray:
    mask = np.zeros((height, width), dtype=bool)
    x0, y0, x1, y1 = box
    mask[y0:y1, x0:x1] = True
    return mask


def box_refine(image: Image.Image, box, *, iterations: int = ITERATIONS) -> np.ndarray:
    """Return a bool H×W mask of the foreground object inside ``box`` (x0, y0, x1, y1).

    GrabCut runs on a copy scaled to WORK_SIDE; the mask is scaled back, cleaned of specks
    and kept inside the box. If GrabCut keeps almost nothing, the box itself is returned.
    """
    rgb = np.asarray(image.convert("RGB"))
    height, width = rgb.shape[:2]
    box = box_clip(box, width=width, height=height)
    scale = min(1.0, WORK_SIDE / max(width, height))
    small_w, small_h = max(1, round(width * scale)), max(1, round(height * scale))
    small = cv2.resize(rgb, (small_w, small_h), interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    # OpenCV wants BGR; GrabCut's colour models do not care about channel order, but be exact.
    small = np.ascontiguousarray(small[:, :, ::-1])

    rect = _work_rect(box, scale=scale, width=small_w, height=small_h)
    labels = np.zeros((small_h, small_w), dtype=np.uint8)
    bgd_model = np.zeros((1, 65), dtype=np.float64)
    fgd_model = np.zeros((1, 65), dtype=np.float64)
    try:
        cv2.grabCut(small, labels, rect, bgd_model, fgd_model, iterations, cv2.GC_INIT_WITH_RECT)
    except cv2.error:
        logger.warning("GrabCut failed for box %s on a %sx%s image; using the box", box, width, height)
        return box_mask(box, width=width, height=height)

    fg = np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    fg = _clean(fg)
    if scale < 1:
        # Linear interpolation then a 0.5 threshold gives smoother edges than nearest.
        fg = cv2.resize(fg.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR) >= 0.5
    mask = fg.astype(bool) & box_mask(box, width=width, height=height)
    x0, y0, x1, y1 = box
    if mask.sum() < MIN_KEEP * (x1 - x0) * (y1 - y0):
        logger.info("GrabCut kept too little of box %s; using the box", box)
        return box_mask(box, width=width, height=height)
    return mask


def _work_rect(box: Box, *, scale: float, width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (v * scale for v in box)
    mx, my = max(1.0, MIN_BORDER * width), max(1.0, MIN_BORDER * height)
    # A box touching every edge leaves GrabCut no background samples: pull it in a little.
    if x0 < mx and y0 < my and x1 > width - mx and y1 > height - my:
        x0, y0, x1, y1 = mx, my, width - mx, height - my
    x0, y0 = int(max(0, x0)), int(max(0, y0))
    x1, y1 = int(min(width, round(x1))), int(min(height, round(y1)))
    return x0, y0, max(1, x1 - x0), max(1, y1 - y0)


def _clean(fg: np.ndarray) -> np.ndarray:
    """Close small holes, drop specks far smaller than the main garment."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, kernel)
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, kernel)
    count, components, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if count <= 2:
        return fg
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= MIN_COMPONENT * areas.max()) + 1
    return np.isin(components, keep).astype(np.uint8)


# --- Storage and display helpers --------------------------------------------------------------


def mask_encode(mask: np.ndarray) -> dict:
    """Run-length encode a bool mask (row-major, runs alternate starting with False).

    A garment mask on a 1,600-px photo is a few thousand runs: small enough for a JSON column.
    """
    flat = np.asarray(mask, dtype=bool).ravel()
    change = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    runs = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        runs = [0, *runs]
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "runs": runs}


def mask_decode(encoded: dict) -> np.ndarray:
    height, width = encoded["size"]
    runs = np.asarray(encoded["runs"], dtype=np.int64)
    values = np.zeros(runs.size, dtype=bool)
    values[1::2] = True
    flat = np.repeat(values, runs)
    if flat.size != height * width:
        raise ValueError("The encoded mask does not match its size.")
    return flat.reshape(height, width)


def mask_outline(mask: np.ndarray, *, tolerance: float = 0.004) -> list[list[tuple[int, int]]]:
    """Outer contours of a mask as simplified polygons (for an SVG overlay).

    ``tolerance`` is the Douglas-Peucker distance as a share of the image diagonal, so an
    outline has tens of points rather than thousands whatever the photo's size.
    """
    fg = np.asarray(mask, dtype=np.uint8)
    contours, _ = cv2.findContours(fg, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    epsilon = tolerance * float(np.hypot(*fg.shape))
    largest = max((cv2.contourArea(c) for c in contours), default=0)
    polygons = []
    for contour in contours:
        if cv2.contourArea(contour) < 0.02 * largest:
            continue
        approx = cv2.approxPolyDP(contour, epsilon, True)
        if len(approx) >= 3:
            polygons.append([(int(x), int(y)) for x, y in approx[:, 0, :]])
    return polygons


def mask_box(mask: np.ndarray) -> Box | None:
    """The bounding box of a mask's pixels (x0, y0, x1, y1), None when it has none."""
    # From the rows and columns that hold any pixel: the result page computes this on every
    # request, and listing every pixel's coordinates (np.nonzero) took many times longer.
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if columns.size == 0:
        return None
    return int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1
