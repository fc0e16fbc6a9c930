"""Garment regions on a photo of a person, without downloaded weights.

When no garment segmenter is installed (every offline server), a photo of a person would
otherwise be searched as "the main object": GrabCut over the whole photo, which keeps
the person (hair, face, arms, trousers) and matches people, not tops. Here the person is
found with what OpenCV ships inside its wheel, and the body's proportions place one
region per garment kind:

1. **Find the person.** A frontal face (the Haar cascades in ``cv2.data``), confirmed by
   skin colour in its middle; without a face, OpenCV's HOG people detector (a whole
   standing person). Either gives the head's size and position.
2. **Place the garments.** A standing adult is about 7.5 heads tall (the proportions of
   anatomy and fashion drawing): shoulders ~1.3 heads below the top of the head, hips
   ~3.8, ankles ~7.2, shoulders ~2 heads wide. The top is searched from below the chin
   to the hips, the bottoms from the waist down, the shoes at the feet (when the feet
   are on the photo).
3. **Cut each one out.** GrabCut inside each region, seeded with the middle of the body
   part as garment and with skin and hair as "not garment". Skin colour is learnt from
   the face itself (so it fits that person and that light), hair colour from just above
   the face; both are removed from the final masks.

No person: no regions, and the caller keeps the main-object default. The segmenter's
garments, when its weights are installed, always come first (detection.py).

What it cannot do: tell a dress from a top and a skirt, find a bag, or handle people
lying down, seen from behind without a HOG-shaped outline, or much smaller than
MIN_FACE_SHARE of the photo. How well the regions overlap painted garments is checked in
tests/recommender/test_regions.py; timings and recall are in docs/benchmarks.md
(``python -m bench.retrieval --people N``, section "retrieval-people").
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from recommender.segmentation import Garment

logger = logging.getLogger(__name__)

# People are looked for on a copy this large (longest side): a face that fills 3% of the
# photo's height is still ~20 px here, the size Haar cascades were trained at (24 px).
DETECT_SIDE = 400
# The HOG window is 64 x 128 with the person ~96 px tall in it (Dalal & Triggs' INRIA
# crops): a copy 400 px tall finds people from ~30% of the photo's height up.
HOG_SIDE = 400
# A face smaller than this share of the photo's shorter side is too small to place
# garments from (and most small "faces" on garment photos are false alarms).
MIN_FACE_SHARE = 0.035
# Share of the middle of a face box that must look like skin (YCrCb) for it to count.
MIN_FACE_SKIN = 0.35
# HOG detections below this SVM score are mostly background clutter.
MIN_HOG_SCORE = 1.0
# Share of skin where a HOG window's head should be (see _person_hog).
MIN_HEAD_SKIN = 0.25
# The hair colour model (CIE Lab) is learnt only from a band above the face that is at
# least this share non-skin and this uniform (80th percentile of the distance to the
# median, per channel); matching allows 2.5 of that spread, at least HAIR_MIN_SPREAD.
HAIR_MIN_SHARE = 0.4
HAIR_MAX_SPREAD = np.array([30.0, 12.0, 12.0])
HAIR_MIN_SPREAD = np.array([8.0, 4.0, 4.0])
# GrabCut runs on each region's neighbourhood scaled to at most this many pixels on the
# long side: a garment outline needs no more, and it keeps all regions of a photo within
# the time budget (docs/benchmarks.md, "regions").
GRABCUT_SIDE = 160
GRABCUT_ITERATIONS = 3
# A cut-out keeping less than this share of its region failed; the region minus skin and
# hair is a better query than a speck.
MIN_KEEP = 0.12
# If "skin" or "hair" would remove more than this share of a garment's core, the colours
# are not separable (a beige top, a black top under black hair): keep them.
MAX_CORE_REMOVED = 0.5

# Body proportions in head heights (u), from the top of the head (y) and the body's
# middle (x): (x half-width, y from, y to). Anatomy and fashion-drawing canon: an adult
# ~7.5 heads tall, chin at 1, shoulders ~1.3, chest ~2, waist ~2.9, hips/crotch ~3.8-4,
# knees ~5.5, ankles ~7.2, soles ~7.5; shoulders ~2 heads wide, hips ~1.5.
REGIONS = {
    # kind: region (x from, x to, y from, y to), core rectangles (the same) that are
    # almost surely the garment: the chest for a top, the two thighs for bottoms.
    "top": ((-1.45, 1.45, 1.1, 4.0), ((-0.3, 0.3, 1.9, 2.9),)),
    "bottoms": ((-1.1, 1.1, 3.4, 7.3), ((-0.5, -0.2, 4.1, 4.6), (0.2, 0.5, 4.1, 4.6))),
    "shoes": ((-1.0, 1.0, 6.85, 7.7), ()),
}
# Haar's frontal-face box in head heights: the eyes sit at ~0.4 of the box and the chin at
# its bottom edge, and on an adult the pupils are ~0.52 head heights above the chin
# (anthropometric tables), so the box side is ~0.52 / 0.6 = 0.85 head heights and its top
# ~0.13 head heights (0.15 sides) below the top of the head.
FACE_SIDE_PER_HEAD = 0.85
FACE_TOP_OFFSET = 0.15  # in face-box sides
# How much of a region must be on the photo to propose it (share of its height).
MIN_VISIBLE = 0.55

_CLAHE = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
_lock = threading.Lock()
_detectors: dict[str, object] = {}


@dataclass(frozen=True)
class Person:
    """Where a person is: body middle (x), top of the head (y), head height (unit), in
    photo pixels; the face box when a face was found."""

    cx: float
    top: float
    unit: float
    face: tuple[int, int, int, int] | None
    evidence: str  # "face" or "hog"
    score: float


def _cascade(name: str):
    with _lock:
        detector = _detectors.get(name)
        if detector is None:
            detector = cv2.CascadeClassifier(cv2.data.haarcascades + name)
            if detector.empty():
                raise RuntimeError(f"OpenCV's {name} is missing; reinstall opencv-python-headless (< 5).")
            _detectors[name] = detector
    return detector


def _hog():
    with _lock:
        hog = _detectors.get("hog")
        if hog is None:
            hog = cv2.HOGDescriptor()
            hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
            _detectors["hog"] = hog
    return hog


def skin_generic(ycrcb: np.ndarray) -> np.ndarray:
    """Skin by chroma alone (Chai & Ngan's YCrCb box, widened for dark skin and shade)."""
    cr, cb = ycrcb[..., 1], ycrcb[..., 2]
    return (cr >= 135) & (cr <= 180) & (cb >= 80) & (cb <= 130) & (ycrcb[..., 0] >= 35)


def _resized(rgb: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    height, width = rgb.shape[:2]
    scale = min(1.0, side / max(height, width))
    if scale >= 1:
        return rgb, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), scale


def person_find(rgb: np.ndarray) -> Person | None:
    """The most prominent person on an RGB photo, or None."""
    height, width = rgb.shape[:2]
    small, scale = _resized(rgb, DETECT_SIDE)
    # Local contrast (CLAHE) rather than one global stretch: a face in shade or a dark face
    # on a bright street keeps its eye and nose contrast (a one-off measurement: 39 of 40 painted
    # faces found with alt2, against 36 with a global histogram equalisation).
    grey = _CLAHE.apply(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
    ycrcb = cv2.cvtColor(small, cv2.COLOR_RGB2YCrCb)
    min_face = max(16, int(MIN_FACE_SHARE * min(small.shape[:2])))
    # A face taller than a third of the photo leaves no room for the garments below it.
    max_face = max(min_face + 1, int(small.shape[0] / 3))
    best = None
    # alt2 only: on the painted people it finds every face the default cascade finds, and
    # on the 290 CC0 garment photos (no people) it fires on 3 where the two together fire
    # on 8 (a one-off measurement when this was written).
    for name, neighbours, step in (("haarcascade_frontalface_alt2.xml", 3, 1.1),):
        faces, _, weights = _cascade(name).detectMultiScale3(
            grey,
            scaleFactor=step,
            minNeighbors=neighbours,
            minSize=(min_face, min_face),
            maxSize=(max_face, max_face),
            outputRejectLevels=True,
        )
        for (x, y, w, h), weight in zip(faces, np.ravel(weights), strict=False):
            # The middle of a face is skin; a face-like texture on a garment rarely is.
            mid = ycrcb[y + h // 4 : y + 3 * h // 4, x + w // 4 : x + 3 * w // 4]
            skin = float(skin_generic(mid).mean()) if mid.size else 0.0
            if skin < MIN_FACE_SKIN:
                continue
            # Room for a body below: the top needs ~2 face heights under the chin.
            if (height * scale - (y + h)) < 1.5 * h:
                continue
            key = (w * h) * (0.5 + skin) * (1 + 0.1 * min(float(weight), 10))
            if best is None or key > best[0]:
                best = (key, (x, y, w, h), skin)
        if best is not None:
            break
    if best is not None:
        _, (x, y, w, h), skin = best
        side = w / scale
        unit = side / FACE_SIDE_PER_HEAD
        face = (int(x / scale), int(y / scale), int((x + w) / scale), int((y + h) / scale))
        return Person(
            cx=(x + w / 2) / scale,
            top=y / scale - FACE_TOP_OFFSET * side,
            unit=unit,
            face=face,
            evidence="face",
            score=round(min(1.0, skin), 3),
        )
    return _person_hog(rgb)


def _person_hog(rgb: np.ndarray) -> Person | None:
    small, scale = _resized(rgb, HOG_SIDE)
    if min(small.shape[:2]) < 128 and small.shape[0] < 128:
        return None
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    if grey.shape[0] < 128 or grey.shape[1] < 64:
        return None
    rects, weights = _hog().detectMultiScale(grey, winStride=(8, 8), padding=(8, 8), scale=1.08)
    candidates = [
        (float(wt), (x, y, w, h)) for (x, y, w, h), wt in zip(rects, np.ravel(weights), strict=False)
    ]
    candidates = [c for c in candidates if c[0] >= MIN_HOG_SCORE]
    if not candidates:
        return None
    # A person has a head: skin (face, neck) in the middle of the window's top quarter.
    # Clutter that fools the HOG model (shelves, railings, folded clothes) rarely does.
    ycrcb = cv2.cvtColor(small, cv2.COLOR_RGB2YCrCb)
    people = []
    for weight, (x, y, w, h) in candidates:
        head = ycrcb[y + int(0.1 * h) : y + int(0.3 * h), x + int(0.3 * w) : x + int(0.7 * w)]
        if head.size and skin_generic(head).mean() >= MIN_HEAD_SKIN:
            people.append((weight, (x, y, w, h)))
    if not people:
        return None
    # The tallest confident person (the subject of a photo is usually the largest).
    weight, (x, y, w, h) = max(people, key=lambda c: c[1][3] * min(c[0], 2.0))
    # In the 64 x 128 window the person spans ~76% of the height, ~12% margin above.
    body = 0.76 * h / scale
    return Person(
        cx=(x + w / 2) / scale,
        top=(y + 0.12 * h) / scale,
        unit=body / 7.5,
        face=None,
        evidence="hog",
        score=round(min(1.0, weight / 2), 3),
    )


def _colour_models(rgb: np.ndarray, person: Person) -> tuple[object, object]:
    """Skin and hair tests (functions of a YCrCb / Lab crop) learnt from this person."""
    height, width = rgb.shape[:2]
    skin_test = skin_generic
    hair_test = None
    if person.face is None:
        return skin_test, hair_test
    x0, y0, x1, y1 = person.face
    w, h = x1 - x0, y1 - y0
    face = rgb[max(0, y0 + h // 4) : y0 + 3 * h // 4, max(0, x0 + w // 4) : x0 + 3 * w // 4]
    ycrcb = cv2.cvtColor(face, cv2.COLOR_RGB2YCrCb).reshape(-1, 3).astype(np.float32)
    ycrcb = ycrcb[skin_generic(ycrcb[None])[0]]
    if len(ycrcb) >= 30:
        chroma = ycrcb[:, 1:]
        mean = chroma.mean(axis=0)
        # Widen the face's own spread: arms and legs are lit differently from the face.
        cov = np.cov(chroma.T) + np.eye(2) * 16.0
        inv = np.linalg.inv(cov)
        luma_lo = max(20.0, float(np.percentile(ycrcb[:, 0], 2)) * 0.45)

        def skin_test(crop: np.ndarray, mean=mean, inv=inv, luma_lo=luma_lo) -> np.ndarray:
            d = crop[..., 1:].astype(np.float32) - mean
            dist = np.einsum("...i,ij,...j->...", d, inv, d)
            # 3 sigma of a 2-d Gaussian (chi-squared, 2 dof, 99%: 9.2).
            return (dist < 9.2) & (crop[..., 0] >= luma_lo)

    # Hair: between the top of the head and the top of the face box, inside the head's
    # width, what is not skin. Not learnt when that band is mostly skin (no hair, or a
    # high forehead) or mixed (hat, background): removing a wrong colour costs more than
    # keeping some hair.
    band = rgb[
        max(0, int(person.top + 0.03 * person.unit)) : max(0, int(y0 + 0.08 * h)),
        max(0, x0 + w // 5) : max(0, x1 - w // 5),
    ]
    if band.shape[0] >= 3 and band.shape[1] >= 3:
        lab = cv2.cvtColor(band, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32)
        not_skin = ~skin_test(cv2.cvtColor(band, cv2.COLOR_RGB2YCrCb).reshape(1, -1, 3))[0]
        lab = lab[not_skin]
        if len(lab) >= 30 and len(lab) >= HAIR_MIN_SHARE * not_skin.size:
            centre = np.median(lab, axis=0)
            spread = np.percentile(np.abs(lab - centre), 80, axis=0)
            if (spread <= HAIR_MAX_SPREAD).all():
                spread = np.maximum(spread, HAIR_MIN_SPREAD)

                def hair_test(crop_lab: np.ndarray, centre=centre, spread=spread) -> np.ndarray:
                    return (np.abs(crop_lab.astype(np.float32) - centre) <= 2.5 * spread).all(axis=-1)

    return skin_test, hair_test


def _rect(person: Person, spec, *, width: int, height: int):
    left, right, top, bottom = spec
    x0, x1 = person.cx + left * person.unit, person.cx + right * person.unit
    y0, y1 = person.top + top * person.unit, person.top + bottom * person.unit
    return x0, y0, x1, y1


def _clip(rect, *, width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = rect
    return (
        int(max(0, round(x0))),
        int(max(0, round(y0))),
        int(min(width, round(x1))),
        int(min(height, round(y1))),
    )


def _ankles(rgb, person: Person, bottoms: np.ndarray, skin_test) -> float | None:
    """Where the legs end (photo row), following the bottoms and then bare skin down the
    legs' column; None when the bottoms were not found. The face gives the head's size to
    within ~10%, which is most of a head at the feet: the shoes are placed from here."""
    height, width = rgb.shape[:2]
    rows = np.flatnonzero(bottoms.any(axis=1))
    if rows.size == 0:
        return None
    x0, x1 = _clip(
        (person.cx - 0.9 * person.unit, 0, person.cx + 0.9 * person.unit, 1), width=width, height=1
    )[::2]
    start = int(rows.max())
    stop = int(min(height, person.top + 8.2 * person.unit))
    if stop <= start + 1 or x1 <= x0:
        return float(start)
    band = rgb[start:stop, x0:x1]
    skin = skin_test(cv2.cvtColor(band, cv2.COLOR_RGB2YCrCb))
    # Bare legs continue the body: rows with at least a leg's width of skin.
    leg = skin.sum(axis=1) >= 0.12 * person.unit
    gaps = np.flatnonzero(~leg)
    return float(start + (gaps[0] if gaps.size else len(leg)))


def _cut(
    rgb, person, kind, *, skin_test, hair_test, taken: np.ndarray, spec=None
) -> tuple[np.ndarray, tuple] | None:
    """GrabCut one garment region; returns (bool mask of the photo, region box) or None."""
    height, width = rgb.shape[:2]
    default_spec, core_specs = REGIONS[kind]
    spec = spec or default_spec
    rect = _rect(person, spec, width=width, height=height)
    box = _clip(rect, width=width, height=height)
    bx0, by0, bx1, by1 = box
    if bx1 - bx0 < 8 or by1 - by0 < 8:
        return None
    if (by1 - by0) < MIN_VISIBLE * (rect[3] - rect[1]) or (bx1 - bx0) < MIN_VISIBLE * (rect[2] - rect[0]):
        return None
    # The neighbourhood GrabCut learns the background from: the region plus a margin.
    margin = 0.5 * person.unit
    wx0, wy0, wx1, wy1 = _clip(
        (bx0 - margin, by0 - margin, bx1 + margin, by1 + margin), width=width, height=height
    )
    crop = rgb[wy0:wy1, wx0:wx1]
    small, scale = _resized(crop, GRABCUT_SIDE)
    sh, sw = small.shape[:2]

    def to_small(x: float, y: float) -> tuple[int, int]:
        return int(round((x - wx0) * scale)), int(round((y - wy0) * scale))

    labels = np.full((sh, sw), cv2.GC_BGD, dtype=np.uint8)
    (rx0, ry0), (rx1, ry1) = to_small(bx0, by0), to_small(bx1, by1)
    labels[max(0, ry0) : ry1, max(0, rx0) : rx1] = cv2.GC_PR_FGD
    core = np.zeros((sh, sw), dtype=bool)
    for core_spec in core_specs:
        c = _clip(_rect(person, core_spec, width=width, height=height), width=width, height=height)
        (cx0, cy0), (cx1, cy1) = to_small(c[0], c[1]), to_small(c[2], c[3])
        core[max(0, cy0) : cy1, max(0, cx0) : cx1] = True

    ycrcb = cv2.cvtColor(small, cv2.COLOR_RGB2YCrCb)
    skin = skin_test(ycrcb)
    hair = np.zeros_like(skin)
    if hair_test is not None and person.face is not None:
        hair = hair_test(cv2.cvtColor(small, cv2.COLOR_RGB2LAB))
        # Hair hangs from the head: hair-coloured pixels count only above mid-chest, near
        # the head's column, and joined to what is beside the head.
        zone = np.zeros_like(hair)
        (zx0, _), (zx1, zy1) = (
            to_small(person.cx - 0.75 * person.unit, 0),
            to_small(person.cx + 0.75 * person.unit, person.top + 2.4 * person.unit),
        )
        zone[: max(0, zy1), max(0, zx0) : max(0, zx1)] = True
        hair &= zone
        head_rows = max(0, to_small(0, person.top + 1.0 * person.unit)[1])
        count, parts = cv2.connectedComponents(hair.astype(np.uint8), connectivity=8)
        touching = np.unique(parts[:head_rows][hair[:head_rows]])
        hair = np.isin(parts, touching[touching > 0]) if count > 1 else hair
    removable = skin | hair
    if core.any() and (removable & core).sum() > MAX_CORE_REMOVED * core.sum():
        # Skin- or hair-coloured garment: removing those colours would remove the garment.
        removable &= ~core
        skin_ok = False
    else:
        skin_ok = True
    labels[core] = cv2.GC_FGD
    # A pixel belongs to one garment: what the regions above took is background here.
    taken_small = cv2.resize(
        taken[wy0:wy1, wx0:wx1].astype(np.uint8), (sw, sh), interpolation=cv2.INTER_NEAREST
    ).astype(bool)
    labels[taken_small] = cv2.GC_BGD
    labels[removable & (labels != cv2.GC_BGD)] = cv2.GC_BGD if skin_ok else cv2.GC_PR_BGD

    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        if (labels == cv2.GC_BGD).any() and np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).any():
            cv2.grabCut(
                np.ascontiguousarray(small[:, :, ::-1]),
                labels,
                None,
                bgd,
                fgd,
                GRABCUT_ITERATIONS,
                cv2.GC_INIT_WITH_MASK,
            )
    except cv2.error:
        logger.info("GrabCut failed on the %s region; using the region", kind)
    fg = np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD))
    if skin_ok:
        fg &= ~removable
    region = np.zeros((sh, sw), dtype=bool)
    region[max(0, ry0) : ry1, max(0, rx0) : rx1] = True
    fg &= region & ~taken_small
    fg = _largest_parts(fg)
    if fg.sum() < MIN_KEEP * region.sum():
        fg = (region & ~removable if skin_ok else region) & ~taken_small
    full = np.zeros((height, width), dtype=bool)
    if scale < 1:
        fg = cv2.resize(fg.astype(np.float32), (wx1 - wx0, wy1 - wy0), interpolation=cv2.INTER_LINEAR) >= 0.5
    full[wy0:wy1, wx0:wx1] = fg
    return full & ~taken, box


def _largest_parts(fg: np.ndarray, share: float = 0.15) -> np.ndarray:
    """Drop specks: keep connected parts at least ``share`` of the largest."""
    fg8 = fg.astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    fg8 = cv2.morphologyEx(cv2.morphologyEx(fg8, cv2.MORPH_OPEN, kernel), cv2.MORPH_CLOSE, kernel)
    count, parts, stats, _ = cv2.connectedComponentsWithStats(fg8, connectivity=8)
    if count <= 2:
        return fg8.astype(bool)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= share * areas.max()) + 1
    return np.isin(parts, keep)


def garment_regions_propose(*, image: Image.Image) -> list[Garment]:
    """One region per garment kind on a photo of a person (head to toe: top, bottoms,
    shoes), each cut out by GrabCut without skin and hair; [] when no person is found."""
    rgb = np.asarray(image.convert("RGB"))
    height, width = rgb.shape[:2]
    person = person_find(rgb)
    if person is None:
        return []
    skin_test, hair_test = _colour_models(rgb, person)
    garments = []
    taken = np.zeros((height, width), dtype=bool)
    for kind in REGIONS:
        spec = None
        if kind == "shoes":
            bottoms = next((g.mask for g in garments if g.kind == "bottoms"), None)
            ankles = _ankles(rgb, person, bottoms, skin_test) if bottoms is not None else None
            if ankles is not None:
                # A shoe seen from the front is about half a head tall.
                level = (ankles - person.top) / person.unit
                spec = (-0.9, 0.9, level - 0.2, level + 0.65)
        cut = _cut(rgb, person, kind, skin_test=skin_test, hair_test=hair_test, taken=taken, spec=spec)
        if cut is None:
            continue
        mask, _region = cut
        taken |= mask
        area = int(mask.sum())
        if area == 0:
            continue
        ys, xs = np.nonzero(mask)
        garments.append(
            Garment(
                kind=kind,
                mask=mask,
                box=(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1),
                area_share=area / (width * height),
                score=person.score,
            )
        )
    logger.debug("Person by %s at %s: %s", person.evidence, person, [g.kind for g in garments])
    return garments
