"""Words in the vision-language model's space (recommender/words.py): descriptions as vectors,
every reason there is none, and the photo moved by words."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from recommender.embedders import get_embedder, text_model_key
from recommender.services import query_embed
from recommender.words import (
    TEXT_QUERY_MAX_CHARS,
    Reason,
    has_hangul,
    query_compose,
    query_refine,
    text_embed,
    text_vector,
)


def _unit(seed: int, dim: int = 512) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=dim)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


# --- descriptions ------------------------------------------------------------------------------


def test_a_description_is_the_text_towers_unit_vector(tiny_text_model):
    found = text_embed(text="  black   leather\tjacket ")
    assert found.available and found.code is None and found.reason is None
    assert found.text == "black leather jacket" and found.model_key == text_model_key()
    expected = get_embedder("fashion-clip").embed_text(["black leather jacket"])[0]
    assert np.allclose(found.vector, expected, atol=1e-6)
    assert abs(np.linalg.norm(found.vector) - 1) < 1e-5
    # Asked again, the cached vector is the same.
    assert np.allclose(text_vector("black leather jacket"), expected, atol=1e-6)


def test_an_empty_query_has_nothing_to_search(tiny_text_model):
    for text in ("", "   ", None, "\x00\x01"):
        found = text_embed(text=text)
        assert found.vector is None and found.code == Reason.EMPTY and found.reason


def test_a_query_over_200_characters_is_cut_and_still_searched(tiny_text_model):
    found = text_embed(text="floral midi skirt " * 40)  # 720 characters
    assert found.available and len(found.text) <= TEXT_QUERY_MAX_CHARS == 200
    assert found.vector.shape == (512,) and np.isfinite(found.vector).all()


def test_nonsense_gives_a_vector_like_any_words(tiny_text_model):
    found = text_embed(text="qzxv blorp ### 12345 ☃")
    assert found.available and abs(np.linalg.norm(found.vector) - 1) < 1e-5


def test_korean_words_are_said_to_be_unavailable_not_ignored(tiny_text_model):
    assert has_hangul("검정 가죽 자켓") and has_hangul("black 가죽 jacket") and not has_hangul("black jacket")
    found = text_embed(text="검정 가죽 자켓")
    assert found.vector is None and found.code == Reason.LANGUAGE
    assert "English" in found.reason and "titles" in found.reason


def test_without_a_text_model_words_are_off_with_a_sentence(settings):
    settings.RECOMMENDER_TEXT_MODEL = ""
    found = text_embed(text="red striped shirt")
    assert found.vector is None and found.code == Reason.OFF and found.reason.endswith(".")
    assert text_vector("red striped shirt") is None


def test_with_its_weights_missing_words_are_unavailable(settings, tmp_path):
    settings.RECOMMENDER_TEXT_MODEL = "fashion-clip"
    settings.RECOMMENDER_FASHION_CLIP = str(tmp_path / "no-clip")
    found = text_embed(text="red striped shirt")
    assert found.vector is None and found.code == Reason.MISSING and "not installed" in found.reason


def test_the_reason_is_translated(tiny_text_model):
    from django.utils import translation

    with translation.override("ko"):
        found = text_embed(text="검정 가죽 자켓")
    assert has_hangul(found.reason)


# --- like this, but ... ------------------------------------------------------------------------


def test_composition_is_deterministic_and_unit(settings):
    photo, green, logo = _unit(1), _unit(2), _unit(3)
    first = query_compose(photo=photo, add=[green], remove=[logo])
    again = query_compose(photo=photo.copy(), add=[green.copy()], remove=[logo.copy()])
    assert np.array_equal(first, again) and first.dtype == np.float32
    assert abs(np.linalg.norm(first) - 1) < 1e-6
    # The weights from settings: photo + 1.0 * green - 0.5 * logo, normalised.
    expected = photo.astype(np.float64) + green - 0.5 * logo.astype(np.float64)
    assert np.allclose(first, expected / np.linalg.norm(expected), atol=1e-6)
    settings.RECOMMENDER_COMPOSE_TEXT_WEIGHT = 0.25
    assert not np.allclose(query_compose(photo=photo, add=[green], remove=[logo]), first)


def test_adding_a_word_moves_towards_it_and_removing_moves_away():
    photo, green, logo = _unit(4), _unit(5), _unit(6)
    towards = query_compose(photo=photo, add=[green])
    away = query_compose(photo=photo, remove=[logo])
    assert towards @ green > photo @ green
    assert away @ logo < photo @ logo
    # Nothing to add or remove: the photo itself.
    assert np.allclose(query_compose(photo=photo), photo, atol=1e-6)


def test_composition_refuses_mixed_models_and_degenerate_input():
    with pytest.raises(ValueError, match="same model"):
        query_compose(photo=_unit(7), add=[_unit(8, dim=1280)])
    with pytest.raises(ValueError, match="no direction"):
        query_compose(photo=_unit(9), remove=[_unit(9)], negative_weight=1.0)
    with pytest.raises(ValueError, match="finite"):
        query_compose(photo=_unit(10), add=[np.full(512, np.nan, dtype=np.float32)])


def test_a_photo_refined_in_words_through_the_tiny_model(tiny_text_model):
    photo, key = query_embed(image=Image.new("RGB", (60, 80), (200, 30, 30)), model="fashion-clip")
    refined = query_refine(
        photo=photo, photo_model_key=key, add=["in green", "with a hood"], remove=["a logo"]
    )
    assert refined.available and refined.model_key == key
    words = get_embedder("fashion-clip").embed_text
    expected = query_compose(
        photo=photo, add=[words(["in green"])[0], words(["with a hood"])[0]], remove=[words(["a logo"])[0]]
    )
    assert np.allclose(refined.vector, expected, atol=1e-5)
    # A photo vector of the image model is never mixed with words: recompute it instead.
    other, other_key = query_embed(image=Image.new("RGB", (60, 80), (200, 30, 30)))
    with pytest.raises(ValueError, match="recompute"):
        query_refine(photo=other, photo_model_key=other_key, add=["in green"])
    # Korean words make the whole refinement unavailable, with the reason.
    korean = query_refine(photo=photo, photo_model_key=key, add=["초록색"])
    assert korean.vector is None and korean.code == Reason.LANGUAGE
