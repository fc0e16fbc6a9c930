"""pgvector search: exact agreement with numpy, filters, iterative scans, the cut-off."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from django.db import connection, transaction

from recommender.models import Embedding
from recommender.selectors import similar_products
from shop.models import Product
from tests.recommender.factories import embedding_create, random_unit_vectors
from tests.shop.factories import ProductFactory, category

pytestmark = pytest.mark.django_db
DIM = 1280
KEY = "efficientnet-lite0@test"


def _catalogue(n: int, *, seed: int, skirts_every: int = 0):
    """n products with random vectors (bulk-inserted: the search is what is tested)."""
    vectors = random_unit_vectors(n, DIM, seed=seed)
    top, skirt = category("top"), category("skirt")
    template = ProductFactory(price=Decimal("1000"))
    products = Product.objects.bulk_create(
        [
            Product(
                source=template.source,
                external_id=f"R{i}",
                title=f"Random {i}",
                category=skirt if skirts_every and i % skirts_every == 0 else top,
                price=Decimal(1000 + i),
                image=f"products/r{i}.jpg",
            )
            for i in range(n)
        ]
    )
    template.delete()
    Embedding.objects.bulk_create(
        [
            Embedding(product=p, model_name="efficientnet-lite0", model_key=KEY, vector=v)
            for p, v in zip(products, vectors, strict=True)
        ]
    )
    return products, vectors


def test_results_match_exact_numpy_cosine_ranking(settings):
    settings.RECOMMENDER_MAX_DISTANCE = 2.0
    products, vectors = _catalogue(300, seed=1)
    query = random_unit_vectors(1, DIM, seed=99)[0]
    found = similar_products(query, model_key=KEY, k=10)
    distances = 1 - vectors @ query
    expected = [products[i].pk for i in np.argsort(distances)[:10]]
    assert [r.product.pk for r in found] == expected
    np.testing.assert_allclose([r.distance for r in found], np.sort(distances)[:10], atol=2e-3)
    assert all(0 <= r.similarity <= 1 for r in found)
    # Pagination continues the same ranking.
    page2 = similar_products(query, model_key=KEY, k=5, offset=10)
    assert [r.product.pk for r in page2] == [products[i].pk for i in np.argsort(distances)[10:15]]


def test_other_models_vectors_are_never_compared(settings):
    settings.RECOMMENDER_MAX_DISTANCE = 2.0
    products, vectors = _catalogue(20, seed=2)
    other = ProductFactory()
    embedding_create(product=other, vector=vectors[0], version="other-weights")
    found = similar_products(vectors[0], model_key=KEY, k=30)
    assert other.pk not in {r.product.pk for r in found}
    assert found[0].product.pk == products[0].pk and found[0].distance < 1e-3


def test_filters_price_stock_exclusion_and_cutoff(settings):
    settings.RECOMMENDER_MAX_DISTANCE = 2.0
    products, vectors = _catalogue(60, seed=3)
    Product.objects.filter(pk=products[1].pk).update(in_stock=False)
    found = similar_products(
        vectors[0],
        model_key=KEY,
        price_min=Decimal("1000"),
        price_max=Decimal("1030"),
        exclude_ids=[products[0].pk],
        k=50,
    )
    ids = {r.product.pk for r in found}
    assert products[0].pk not in ids and products[1].pk not in ids
    assert all(Decimal("1000") <= r.product.price <= Decimal("1030") for r in found)
    assert len(found) == 29  # 31 in range, minus the excluded and the sold-out one
    # The max-distance cut-off drops far results (random vectors are ~1.0 apart).
    assert [r.product.pk for r in similar_products(vectors[0], model_key=KEY, max_distance=0.5)] == [
        products[0].pk
    ]


def _index_scan() -> None:
    """Force the HNSW index path: the planner would rather scan and sort a table this small."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE recommender_embedding")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")


def _plan(query) -> str:
    from pgvector import HalfVector
    from pgvector.django import CosineDistance

    from recommender.models import vector_as

    qs = (
        Embedding.objects.filter(model_name="efficientnet-lite0", model_key=KEY)
        .filter(product__category__slug__in=["skirt"], product__in_stock=True, product__is_active=True)
        .annotate(distance=CosineDistance(vector_as(DIM), HalfVector(query)))
        .order_by("distance")[:10]
    )
    return qs.explain()


def test_a_selective_filter_still_returns_k_rows_with_iterative_scan(settings):
    """~5% of rows pass the category filter. Plain HNSW (ef_search 40) finds only the few
    that happen to be among its 40 candidates; the iterative scan keeps going."""
    settings.RECOMMENDER_MAX_DISTANCE = 2.0
    settings.RECOMMENDER_EF_SEARCH = 40
    products, vectors = _catalogue(800, seed=4, skirts_every=20)
    query = random_unit_vectors(1, DIM, seed=5)[0]
    with transaction.atomic():
        _index_scan()
        assert "embedding_effnetlite0_hnsw" in _plan(query)
        settings.RECOMMENDER_ITERATIVE_SCAN = "off"
        plain = similar_products(query, model_key=KEY, categories=["skirt"], k=10)
        settings.RECOMMENDER_ITERATIVE_SCAN = "relaxed_order"
        iterative = similar_products(query, model_key=KEY, categories=["skirt"], k=10)
    assert len(plain) < 10
    assert len(iterative) == 10
    skirts = np.array([i for i in range(800) if i % 20 == 0])
    distances = 1 - vectors[skirts] @ query
    expected = [products[i].pk for i in skirts[np.argsort(distances)[:10]]]
    # HNSW is approximate; on 800 rows it finds (nearly) all of the exact top 10.
    assert len(set(expected) & {r.product.pk for r in iterative}) >= 9


def test_wrong_dimension_is_refused():
    with pytest.raises(ValueError, match="1280"):
        similar_products(np.ones(3), model_key=KEY)
