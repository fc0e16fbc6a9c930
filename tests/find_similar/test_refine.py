"""GrabCut refinement of a user's crop box, on real CC0 photos pasted onto a busy mosaic."""

import numpy as np
import pytest
from PIL import Image

from find_similar.refine import (
    box_clip,
    box_mask,
    box_refine,
    mask_box,
    mask_decode,
    mask_encode,
    mask_outline,
)
from tests.recommender.scenes import cc0_photos, garment_scene, iou


@pytest.mark.parametrize("kind", ["t-shirt", "outwear", "dress"])
def test_refined_box_covers_the_garment_better_than_the_box(kind):
    for seed, photo in enumerate(cc0_photos(kind, 2)):
        image, truth, (x0, y0, x1, y1) = garment_scene(photo, seed=seed)
        # A user's box is a little loose around the garment.
        box = (x0 - 12, y0 - 10, x1 + 12, y1 + 10)
        refined = box_refine(image, box)
        plain = box_mask(
            box_clip(box, width=image.width, height=image.height), width=image.width, height=image.height
        )
        assert refined.shape == truth.shape and refined.dtype == bool
        assert iou(refined, truth) > iou(plain, truth) + 0.25, photo.name
        assert iou(refined, truth) > 0.85, photo.name
        # Nothing outside the box is ever kept.
        assert not (refined & ~plain).any()


def test_box_over_the_whole_photo_still_refines():
    image, truth, _ = garment_scene(cc0_photos("t-shirt", 1)[0])
    refined = box_refine(image, (0, 0, image.width, image.height))
    assert iou(refined, truth) > iou(np.ones_like(truth), truth)


def test_box_on_a_flat_area_falls_back_to_the_box():
    image = Image.new("RGB", (200, 160), (200, 40, 40))
    mask = box_refine(image, (50, 40, 120, 100))
    assert mask.sum() >= 0.9 * (70 * 60)


def test_boxes_are_ordered_clipped_and_empty_ones_refused():
    assert box_clip((150, 90, -5, 10), width=100, height=80) == (0, 10, 100, 80)
    with pytest.raises(ValueError):
        box_clip((10, 10, 11, 50), width=100, height=80)


def test_mask_encoding_round_trips_and_outline_follows_the_mask():
    image, truth, box = garment_scene(cc0_photos("t-shirt", 1)[0])
    for mask in (truth, ~truth, np.zeros_like(truth), np.ones_like(truth)):
        assert (mask_decode(mask_encode(mask)) == mask).all()
    encoded = mask_encode(truth)
    assert len(encoded["runs"]) < 2 * truth.shape[0] + 4  # compact: about two runs per row
    [polygon] = mask_outline(truth)
    assert 6 <= len(polygon) <= 60
    xs, ys = zip(*polygon, strict=True)
    bx0, by0, bx1, by1 = mask_box(truth)
    assert abs(min(xs) - bx0) <= 2 and abs(max(ys) - by1) <= 2


def test_mask_box_is_the_tightest_box_around_every_pixel():
    rng = np.random.default_rng(3)
    for _ in range(30):
        mask = np.zeros((rng.integers(1, 60), rng.integers(1, 60)), dtype=bool)
        y0, x0 = rng.integers(0, mask.shape[0]), rng.integers(0, mask.shape[1])
        y1, x1 = rng.integers(y0, mask.shape[0]) + 1, rng.integers(x0, mask.shape[1]) + 1
        mask[y0:y1, x0:x1] = rng.random((y1 - y0, x1 - x0)) < 0.3
        mask[y0, x0] = mask[y1 - 1, x1 - 1] = True
        assert mask_box(mask) == (x0, y0, x1, y1)
    assert mask_box(np.zeros((5, 7), dtype=bool)) is None
    assert mask_box(np.ones((5, 7), dtype=bool)) == (0, 0, 7, 5)
