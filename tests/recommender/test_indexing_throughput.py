"""Indexing throughput (issue 15): an embedding batch costs a fixed number of queries whatever
its size, and the decode pool stores exactly what decoding in the worker's thread stores,
bad images included. Real efficientnet-lite0 weights, real JPEGs."""

from __future__ import annotations

import io
from decimal import Decimal

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from recommender.embedders import active_model_key
from recommender.models import Embedding, ProductColour
from recommender.services import embedding_compute_batch
from shop.models import Product, ProductAttribute
from tests.shop.factories import ProductFactory, jpeg_bytes

pytestmark = pytest.mark.django_db


def _photo(seed: int) -> bytes:
    """A textured JPEG (a coloured garment-like block with stripes and noise on white), so
    hashes, colours and vectors differ from photo to photo."""
    rng = np.random.default_rng(seed)
    pixels = np.full((120, 90, 3), 255, dtype=np.uint8)
    colour = rng.integers(0, 220, size=3)
    block = np.tile(colour, (80, 60, 1)).astype(np.int16)
    block[:: 2 + seed % 5] += 35
    block += rng.integers(-20, 20, size=block.shape, dtype=np.int16)
    pixels[20:100, 15:75] = block.clip(0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _products(n: int, *, first: int = 0) -> list[Product]:
    return [
        ProductFactory(
            image=ContentFile(_photo(i), name=f"t{i}.jpg"), image_sha256=f"sha-t{i}", price=Decimal(100 + i)
        )
        for i in range(first, first + n)
    ]


def _queries_for_batch(n: int, *, first: int) -> int:
    ids = [p.pk for p in _products(n, first=first)]
    with CaptureQueriesContext(connection) as queries:
        result = embedding_compute_batch(product_ids=ids)
    assert sorted(result.embedded) == sorted(ids) and not result.failed
    return len(queries.captured_queries)


def test_a_batch_costs_the_same_number_of_queries_whatever_its_size(settings):
    settings.RECOMMENDER_DECODE_THREADS = 2
    embedding_compute_batch(product_ids=[p.pk for p in _products(1, first=100)])  # model loaded
    two = _queries_for_batch(2, first=0)
    eight = _queries_for_batch(8, first=2)
    assert two == eight, f"a batch of 2 took {two} queries, a batch of 8 took {eight}"
    assert Product.objects.filter(needs_embedding=True).count() == 0


def _stored(ids: list[int]) -> dict:
    key = active_model_key()
    return {
        "vectors": {
            pk: np.asarray(vector)
            for pk, vector in Embedding.objects.filter(product_id__in=ids, model_key=key).values_list(
                "product_id", "vector"
            )
        },
        "colours": {
            row[0]: row[1:]
            for row in ProductColour.objects.filter(product_id__in=ids).values_list(
                "product_id", "histogram", "mean_rgb", "std_rgb", "image_sha256", "phash", "phash_fine"
            )
        },
        "attributes": set(
            ProductAttribute.objects.filter(product_id__in=ids).values_list(
                "product_id", "name", "value", "score", "method", "source", "image_sha256"
            )
        ),
        "marked": set(Product.objects.filter(pk__in=ids, needs_embedding=True).values_list("pk", flat=True)),
    }


def test_the_decode_pool_stores_what_decoding_inline_stores(settings):
    ids = [p.pk for p in _products(7)]
    settings.RECOMMENDER_DECODE_THREADS = 0
    embedding_compute_batch(product_ids=ids)
    inline = _stored(ids)
    Embedding.objects.all().delete()
    ProductColour.objects.all().delete()
    ProductAttribute.objects.all().delete()
    Product.objects.filter(pk__in=ids).update(needs_embedding=True)

    settings.RECOMMENDER_DECODE_THREADS = 3
    result = embedding_compute_batch(product_ids=ids)
    pooled = _stored(ids)
    assert result.embedded == ids, "results keep the batch's order"
    assert set(pooled["vectors"]) == set(ids) == set(inline["vectors"])
    for pk in ids:
        np.testing.assert_allclose(pooled["vectors"][pk], inline["vectors"][pk], atol=1e-6)
    assert pooled["colours"] == inline["colours"]
    assert len({c[4] for c in pooled["colours"].values()}) == len(ids), "each photo hashed on its own"
    assert pooled["attributes"] == inline["attributes"] and pooled["attributes"]
    assert pooled["marked"] == inline["marked"] == set()


def test_a_corrupt_image_in_a_pooled_batch_is_flagged_and_the_rest_are_embedded(settings):
    settings.RECOMMENDER_DECODE_THREADS = 3
    first, bad, second, gone, third = _products(5)
    bad.image.save("broken.jpg", ContentFile(jpeg_bytes()[:60]), save=True)
    gone.image.storage.delete(gone.image.name)
    ids = [p.pk for p in (first, bad, second, gone, third)]
    result = embedding_compute_batch(product_ids=ids)
    assert result.embedded == [first.pk, second.pk, third.pk]
    assert set(result.failed) == {bad.pk, gone.pk}
    bad.refresh_from_db()
    gone.refresh_from_db()
    assert "damaged or incomplete" in bad.image_error and not bad.needs_embedding
    assert "missing" in gone.image_error and not gone.needs_embedding
    stored = _stored(ids)
    assert set(stored["vectors"]) == set(stored["colours"]) == {first.pk, second.pk, third.pk}
    assert stored["marked"] == set()


def test_a_photo_replaced_while_its_batch_is_embedded_keeps_its_mark(settings, monkeypatch):
    from recommender.embedders import get_embedder

    settings.RECOMMENDER_DECODE_THREADS = 2
    kept, replaced, other = _products(3)
    embedder = get_embedder()
    embed = embedder.embed

    def embed_while_a_crawl_replaces_one(images):
        # A crawl stores a new photo for one product after the batch read the old one.
        Product.objects.filter(pk=replaced.pk).update(image_sha256="sha-new", needs_embedding=True)
        return embed(images)

    monkeypatch.setattr(embedder, "embed", embed_while_a_crawl_replaces_one)
    embedding_compute_batch(product_ids=[kept.pk, replaced.pk, other.pk])
    marked = set(Product.objects.filter(needs_embedding=True).values_list("pk", flat=True))
    assert marked == {replaced.pk}, "only the vectors of the photos still stored clear the mark"
