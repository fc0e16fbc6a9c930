"""Refining in words with the text model on: a tiny random CLIP (tests/recommender/conftest.py)
saved to a temp dir and loaded through the production loader. The composed query must rank
the catalogue exactly as query_compose's formula does, computed here in numpy on the model's
own vectors, and a model change recomputes the region's vector rather than mixing models."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from find_similar.models import QueryImage
from find_similar.refine import mask_decode
from find_similar.refinements import refinements_read
from find_similar.uploads import Choice, upload_image, upload_region, upload_search
from recommender.embedders import get_embedder, text_model_key
from recommender.models import Embedding
from recommender.services import query_embed
from recommender.tasks import embed_pending
from shop.models import Product
from tests.find_similar.support import _fresh_rate_limits, scene_jpeg  # noqa: F401
from tests.recommender.conftest import tiny_clip_dir, tiny_clip_save, tiny_text_model  # noqa: F401
from tests.shop.factories import photo_product

pytestmark = pytest.mark.django_db

COLOURS = {
    "Red top": (200, 30, 30),
    "Green top": (30, 160, 30),
    "Blue top": (30, 30, 200),
    "Yellow top": (230, 210, 40),
    "Black top": (20, 20, 20),
    "White top": (235, 235, 235),
}


@pytest.fixture
def searchable(client, settings, tiny_text_model, tiny_segmenter, django_capture_on_commit_callbacks):  # noqa: F811
    settings.RECOMMENDER_MAX_DISTANCE = 2.0  # every product is listed: the order is checked
    settings.RECOMMENDER_COMPOSE_TEXT_WEIGHT = 1.0
    settings.RECOMMENDER_COMPOSE_NEGATIVE_WEIGHT = 0.5
    products = [photo_product(t, c, 10000 + 1000 * i) for i, (t, c) in enumerate(COLOURS.items())]
    Product.objects.filter(pk__in=[p.pk for p in products]).update(needs_embedding=True)
    embed_pending()  # eager Celery: both models, in-process
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/find-similar/", {"photo": SimpleUploadedFile("s.jpg", scene_jpeg(), "image/jpeg")}
        )
    assert response.status_code == 302
    return QueryImage.objects.get(), [p.pk for p in products]


def _search(upload, words):
    return upload_search(
        upload=upload, choice=Choice(), categories=[], count=10, refinements=refinements_read(words)
    )


def _expected(photo: np.ndarray, *, add: list[str], remove: list[str], ids: list[int]) -> list[int]:
    """The catalogue by cosine distance to photo + 1.0 x added words - 0.5 x removed words,
    each unit length, the sum normalised: query_compose's formula, written out again here."""
    embedder = get_embedder("fashion-clip")

    def unit(v):
        v = np.asarray(v, dtype=np.float64)
        return v / np.linalg.norm(v)

    query = unit(photo)
    for word in add:
        query = query + 1.0 * unit(embedder.embed_text([word])[0])
    for word in remove:
        query = query - 0.5 * unit(embedder.embed_text([word])[0])
    query = unit(query)
    rows = dict(
        Embedding.objects.filter(model_key=text_model_key(), product_id__in=ids).values_list(
            "product_id", "vector"
        )
    )
    distance = {pk: 1 - float(unit(rows[pk]) @ query) for pk in ids}
    return sorted(ids, key=distance.get)


def _region_photo(upload) -> np.ndarray:
    """The searched region under the text model, embedded here independently."""
    region = upload_region(upload=upload, choice=Choice())
    mask = mask_decode(region.mask) if region.mask else None
    return query_embed(image=upload_image(upload), mask=mask, model="fashion-clip")[0]


def test_the_composed_query_ranks_as_query_compose_says_and_is_cached(searchable):
    upload, ids = searchable
    plain = _search(upload, [])
    region = upload_region(upload=upload, choice=Choice())
    # Without words: the image model's own search.
    assert plain.model_key == region.model_key != text_model_key()

    outcome = _search(upload, ["in green", "without a logo"])
    assert outcome.model_key == text_model_key()
    assert all(r.applied and not r.reason for r in outcome.refinements)
    photo = _region_photo(upload)
    expected = _expected(photo, add=["in green"], remove=["a logo"], ids=ids)
    assert [r.product.pk for r in outcome.results] == expected

    # The region's text-model vector is kept: a second refinement reads it, not the model.
    cache_key = f"fs-region-text:v1:{region.pk}:{text_model_key()}"
    stored = cache.get(cache_key)
    assert np.allclose(stored["vector"], photo, atol=1e-5)
    marker = np.asarray(Embedding.objects.get(model_key=text_model_key(), product_id=ids[4]).vector)
    cache.set(cache_key, {"model_key": text_model_key(), "vector": marker.tolist()})
    again = _search(upload, ["shorter"])
    assert [r.product.pk for r in again.results] == _expected(marker, add=["shorter"], remove=[], ids=ids)


def test_a_changed_text_model_recomputes_the_region_never_mixes(searchable, settings, tmp_path):
    upload, ids = searchable
    first = _search(upload, ["in green"])
    old_key = first.model_key
    # New weights in the model's folder setting: a new key, the catalogue re-embedded for it.
    tiny_clip_save(tmp_path, seed=1)
    settings.RECOMMENDER_FASHION_CLIP = str(tmp_path)
    assert text_model_key() != old_key
    embed_pending()
    assert Embedding.objects.filter(model_key=text_model_key()).count() == len(ids)

    outcome = _search(upload, ["in green"])
    assert outcome.model_key == text_model_key()
    assert all(r.applied for r in outcome.refinements)  # not the offline colour fallback
    expected = _expected(_region_photo(upload), add=["in green"], remove=[], ids=ids)
    assert [r.product.pk for r in outcome.results] == expected
