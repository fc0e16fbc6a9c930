"""Segmentation: the tiny random SegFormer through the production loader, the ATR label
mapping on painted label maps, and the garment crop on white."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from recommender.labels import ATR_LABELS, GARMENT_KINDS
from recommender.preprocess import garment_on_white
from recommender.segmentation import (
    SegmenterUnavailable,
    garments_from_label_map,
    get_segmenter,
    segmenter_available,
    segmenter_load,
)
from shop.garments import GARMENT_CATEGORIES

ID = {name.lower(): i for i, name in ATR_LABELS.items()}


def _painted() -> np.ndarray:
    """A 100 x 80 label map: hat, face, top, pants, two shoes, and a stray pants speck."""
    labels = np.zeros((100, 80), dtype=np.int64)
    labels[2:10, 30:50] = ID["hat"]
    labels[10:20, 32:48] = ID["face"]
    labels[20:50, 20:60] = ID["upper-clothes"]
    labels[50:90, 25:55] = ID["pants"]
    labels[92:98, 22:34] = ID["left-shoe"]
    labels[92:98, 46:58] = ID["right-shoe"]
    labels[5, 5] = ID["pants"]  # one stray pixel far from the trousers
    return labels


def test_label_map_becomes_garments_with_masks_boxes_and_shares():
    labels = _painted()
    confidence = np.full(labels.shape, 0.9, dtype=np.float32)
    confidence[20:50, 20:60] = 0.6
    garments = garments_from_label_map(labels, confidence, ATR_LABELS, min_area_share=0.005)
    assert [g.kind for g in garments] == ["hat", "top", "pants", "shoes"]  # head to toe, no face
    by_kind = {g.kind: g for g in garments}
    top = by_kind["top"]
    assert top.box == (20, 20, 60, 50)
    assert top.mask.shape == (100, 80) and top.mask.sum() == 30 * 40
    assert top.area_share == pytest.approx(1200 / 8000)
    assert top.score == pytest.approx(0.6)
    # Left and right shoe are one garment spanning both.
    assert by_kind["shoes"].box == (22, 92, 58, 98)
    # The stray speck is dropped from the trousers.
    assert by_kind["pants"].box == (25, 50, 55, 90)
    assert not by_kind["pants"].mask[5, 5]


def test_tiny_garments_are_dropped():
    labels = np.zeros((100, 100), dtype=np.int64)
    labels[0:3, 0:3] = ID["sunglasses"]  # 0.09 % of the photo
    labels[40:80, 40:80] = ID["dress"]
    garments = garments_from_label_map(labels, np.ones((100, 100)), ATR_LABELS, min_area_share=0.005)
    assert [g.kind for g in garments] == ["dress"]


def test_every_garment_kind_has_shop_categories():
    assert set(GARMENT_CATEGORIES) == set(GARMENT_KINDS)
    assert GARMENT_CATEGORIES["top"] == ["top", "outer"]


def test_tiny_segformer_loads_through_the_production_loader(tiny_segmenter):
    segmenter = get_segmenter()
    assert segmenter.source == str(tiny_segmenter)
    assert segmenter.id2label[4] == "Upper-clothes"
    image = Image.new("RGB", (90, 60), (120, 80, 40))
    labels, confidence = segmenter.label_map(image)
    # Logits are upsampled to the photo's size before the argmax.
    assert labels.shape == (60, 90) and confidence.shape == (60, 90)
    assert labels.min() >= 0 and labels.max() < 18
    assert ((confidence > 0) & (confidence <= 1)).all()
    garments = segmenter.segment(image)
    for garment in garments:
        assert garment.kind in GARMENT_KINDS and garment.mask.shape == (60, 90)
    # Large photos are segmented at a working size and mapped back to the photo.
    big = segmenter.segment(Image.new("RGB", (2100, 1400), (30, 30, 30)))
    assert all(g.mask.shape == (1400, 2100) for g in big)
    assert get_segmenter() is segmenter  # loaded once per process


def test_missing_segmenter_names_fetch_models_and_the_setting(settings, tmp_path):
    settings.RECOMMENDER_SEGMENTER = str(tmp_path / "no-such-model")
    with pytest.raises(SegmenterUnavailable) as info:
        get_segmenter()
    assert "fetch_models" in str(info.value) and "RECOMMENDER_SEGMENTER" in str(info.value)
    assert segmenter_available() is False


def test_hub_id_without_cache_fails_fast_instead_of_downloading(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(SegmenterUnavailable, match="fetch_models"):
        segmenter_load("mattmdjaga/segformer_b2_clothes")


def test_a_segformer_without_clothes_labels_is_refused(tmp_path):
    from transformers import SegformerConfig, SegformerForSemanticSegmentation, SegformerImageProcessor

    from tests.recommender.conftest import TINY_SEGFORMER

    config = SegformerConfig(**TINY_SEGFORMER, id2label={0: "road", 1: "car"}, label2id={"road": 0, "car": 1})
    SegformerForSemanticSegmentation(config).save_pretrained(tmp_path)
    SegformerImageProcessor().save_pretrained(tmp_path)
    with pytest.raises(SegmenterUnavailable, match="ATR clothes labels"):
        segmenter_load(str(tmp_path))


def test_garment_on_white_crops_whitens_and_pads_to_square():
    image = Image.new("RGB", (100, 60), (0, 0, 255))  # blue street
    mask = np.zeros((60, 100), dtype=bool)
    mask[10:50, 20:40] = True  # a 20 x 40 garment
    image.paste((200, 0, 0), (20, 10, 40, 50))
    image.putpixel((20, 10), (0, 0, 255))
    mask[10, 20] = False  # a background pixel inside the box
    crop = garment_on_white(image, mask)
    assert crop.width == crop.height and crop.width >= 40
    pixels = np.asarray(crop)
    # No street colour survives: only the garment's red and white.
    assert not ((pixels[..., 2] > 200) & (pixels[..., 0] < 50)).any()
    assert ((pixels == [255, 255, 255]).all(axis=-1)).sum() > 0
    assert ((pixels[..., 0] > 150) & (pixels[..., 1] < 50)).sum() == 20 * 40 - 1
    # No mask: the whole photo on a white square.
    whole = garment_on_white(image)
    assert whole.width == whole.height and whole.width >= 100
    # An empty mask does not lose the photo.
    assert garment_on_white(image, np.zeros((60, 100), dtype=bool)).width >= 100
