"""pgvector search: exact agreement with numpy, filters, iterative scans, the cut-off."""

from __future__ import annotations

import re
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection
from pgvector import HalfVector

from recommender.selectors import similar_products
from shop.models import Product
from tests.recommender.factories import embedding_create, products_with_vectors, random_unit_vectors
from tests.shop.factories import ProductFactory, category

pytestmark = pytest.mark.django_db
DIM = 1280
KEY = "efficientnet-lite0@test"


def _catalogue(n: int, *, seed: int, skirts_every: int = 0):
    """n products with random vectors (bulk-inserted: the search is what is tested)."""
    vectors = random_unit_vectors(n, DIM, seed=seed)
    top, skirt = category("top"), category("skirt")
    products = products_with_vectors(
        vectors,
        model_name="efficientnet-lite0",
        model_key=KEY,
        category_of=lambda i: skirt if skirts_every and i % skirts_every == 0 else top,
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


def _searches(run) -> list[tuple[str, str]]:
    """Run ``run()`` and return (plan, EXPLAIN text) of each kNN query it sent, explained on
    the selector's own cursor, inside its transaction, with the settings it chose."""
    plans = []

    def explain(execute, sql, params, many, context):
        if "<=>" in sql:
            raw = context["cursor"].cursor
            raw.execute("EXPLAIN " + sql, params)
            text = "\n".join(row[0] for row in raw.fetchall())
            plans.append(("hnsw" if "embedding_effnetlite0_hnsw" in text else "exact", text))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain):
        run()
    return plans


def test_a_selective_filter_still_returns_k_rows_with_iterative_scan(settings):
    """~5% of rows pass the category filter. Plain HNSW (ef_search 40) finds only the few
    that happen to be among its 40 candidates; the iterative scan keeps going."""
    settings.RECOMMENDER_MAX_DISTANCE = 2.0
    settings.RECOMMENDER_EF_SEARCH = 40
    settings.RECOMMENDER_EXACT_MAX_ROWS = 0  # always the index, whatever the filter keeps
    products, vectors = _catalogue(800, seed=4, skirts_every=20)
    query = random_unit_vectors(1, DIM, seed=5)[0]
    settings.RECOMMENDER_ITERATIVE_SCAN = "off"
    found = {}

    def search():
        found["plain"] = similar_products(query, model_key=KEY, categories=["skirt"], k=10)
        settings.RECOMMENDER_ITERATIVE_SCAN = "relaxed_order"
        found["iterative"] = similar_products(query, model_key=KEY, categories=["skirt"], k=10)

    assert [plan for plan, _ in _searches(search)] == ["hnsw", "hnsw"]
    plain, iterative = found["plain"], found["iterative"]
    assert len(plain) < 10
    assert len(iterative) == 10
    skirts = np.array([i for i in range(800) if i % 20 == 0])
    distances = 1 - vectors[skirts] @ query
    expected = [products[i].pk for i in skirts[np.argsort(distances)[:10]]]
    # HNSW is approximate; on 800 rows it finds (nearly) all of the exact top 10.
    assert len(set(expected) & {r.product.pk for r in iterative}) >= 9


def test_the_plan_is_chosen_by_how_many_rows_a_filter_keeps(settings):
    """A broad filter walks the HNSW index even where the planner, left alone, would sort the
    table (it does on 800 rows); a narrow one computes its few rows' distances exactly."""
    settings.RECOMMENDER_MAX_DISTANCE = 2.0
    settings.RECOMMENDER_EXACT_MAX_ROWS = 100
    products, vectors = _catalogue(800, seed=6)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE recommender_embedding")
        cursor.execute("ANALYZE shop_product")
    query = random_unit_vectors(1, DIM, seed=7)[0]
    distances = 1 - vectors @ query
    prices = np.array([1000 + i for i in range(800)])
    found = {}

    def search():
        # Prices 1000..1799: the broad filter keeps 400 rows, the narrow one 30.
        found["broad"] = similar_products(query, model_key=KEY, price_max=Decimal("1399"), k=10)
        found["narrow"] = similar_products(query, model_key=KEY, price_max=Decimal("1029"), k=10)

    (broad_plan, broad_text), (narrow_plan, narrow_text) = _searches(search)
    assert broad_plan == "hnsw", broad_text
    assert "Sort" not in broad_text
    assert narrow_plan == "exact", narrow_text
    for label, bound in (("broad", 1399), ("narrow", 1029)):
        kept = np.flatnonzero(prices <= bound)
        expected = [products[i].pk for i in kept[np.argsort(distances[kept])[:10]]]
        got = [r.product.pk for r in found[label]]
        assert len(got) == 10
        if label == "narrow":
            assert got == expected  # exact: recall 1
        else:
            # Approximate; uniform random vectors (all about equally far apart) are HNSW's
            # hardest case.
            assert len(set(got) & set(expected)) >= 7


def test_binary_vectors_give_the_same_ids_and_distances_as_text(settings):
    """The vector sent in pgvector's binary format (2 bytes a dimension) finds exactly what the
    text the ORM sends finds, on both plans, for seeded random queries."""
    from recommender.selectors import _filters_sql, _nearest_rows

    _catalogue(400, seed=8)
    filters = _filters_sql(
        name="efficientnet-lite0",
        model_key=KEY,
        categories=None,
        price_min=None,
        price_max=Decimal("1300"),
        currency=None,
        brand=None,
        exclude_ids=(),
        in_stock_only=True,
    )
    sent = []

    def record(execute, sql, params, many, context):
        if "<=>" in sql:
            sent.append(next(p for p in params if isinstance(p, HalfVector | str) and len(str(p)) > 100))
        return execute(sql, params, many, context)

    for cap, plan in ((0, "hnsw"), (10_000, "exact")):
        settings.RECOMMENDER_EXACT_MAX_ROWS = cap
        for query in random_unit_vectors(5, DIM, seed=9):
            with connection.execute_wrapper(record):
                binary, binary_plan = _nearest_rows(query, dim=DIM, filters=filters, limit=20)
                text, text_plan = _nearest_rows(query, dim=DIM, filters=filters, limit=20, binary=False)
            assert binary_plan == text_plan == plan
            assert len(binary) == 20
            assert sorted(binary, key=lambda row: row[1]) == sorted(text, key=lambda row: row[1])
            assert isinstance(sent[-2], HalfVector) and isinstance(sent[-1], str)


def test_wrong_dimension_is_refused():
    with pytest.raises(ValueError, match="1280"):
        similar_products(np.ones(3), model_key=KEY)


def test_the_colour_re_rank_matches_numpy_and_builds_only_the_shown_products(
    settings, django_assert_num_queries
):
    from django.test.utils import CaptureQueriesContext

    from recommender.colour import colour_distances
    from recommender.models import ProductColour

    settings.RECOMMENDER_MAX_DISTANCE = 2.0
    settings.RECOMMENDER_COLOUR_RERANK_POOL = 40
    settings.RECOMMENDER_COLOUR_WEIGHT = 0.3
    products, vectors = _catalogue(120, seed=7)
    rng = np.random.default_rng(7)
    histograms = rng.random((len(products), 3, 32))
    histograms /= histograms.sum(axis=2, keepdims=True)
    ProductColour.objects.bulk_create(
        [
            ProductColour(product=p, histogram=h.round(5).tolist(), mean_rgb=[0, 0, 0], std_rgb=[0, 0, 0])
            for p, h in zip(products, histograms, strict=True)
        ]
    )
    query = random_unit_vectors(1, DIM, seed=77)[0]
    query_histogram = rng.random((3, 32))
    with CaptureQueriesContext(connection) as context:
        found = similar_products(query, model_key=KEY, k=6, query_histogram=query_histogram)
    # The oracle: the 40 nearest by exact cosine, blended 70/30 with their colour distance.
    distances = 1 - vectors @ query
    pool = np.argsort(distances)[:40]
    colour = colour_distances(query_histogram, [histograms[i].round(5).tolist() for i in pool])
    score = 0.7 * distances[pool] + 0.3 * colour
    expected = [products[pool[j]].pk for j in np.argsort(score, kind="stable")[:6]]
    assert [r.product.pk for r in found] == expected
    assert [r.product.price for r in found] == [Product.objects.get(pk=pk).price for pk in expected]
    # Of the 40 candidates only the 6 shown became products, with what a card shows.
    reads = [q["sql"] for q in context.captured_queries if q["sql"].startswith('SELECT "shop_product"')]
    assert len(reads) == 1
    assert sorted(
        map(int, re.search(r'"shop_product"\."id" IN \(([\d, ]+)\)', reads[0]).group(1).split(","))
    ) == (sorted(expected))
    with django_assert_num_queries(0):
        assert all(r.product.brand_id is None or r.product.brand.name for r in found)
        assert all(r.product.category.slug for r in found)
    # Each result carries the histogram the re-rank read (for the colour plots).
    assert all(np.allclose(r.histogram, histograms[products.index(r.product)].round(5)) for r in found)
