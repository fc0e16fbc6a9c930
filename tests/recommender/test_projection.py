"""The compressed index: a PCA fitted on the stored vectors (recommender.projection), the
fit_projection command, vectors projected as they are written, and searches that walk the
small index and rank its candidates on the full vectors."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from recommender.embedders import active_model_key
from recommender.models import Embedding, Projection, ReducedVector
from recommender.projection import pca_fit, projection_for_write
from recommender.selectors import similar_products
from recommender.services import embedding_compute_batch
from shop.models import Product
from tests.recommender.factories import products_with_vectors
from tests.shop.factories import ProductFactory, jpeg_bytes

pytestmark = pytest.mark.django_db
DIM = 2048


def clustered_unit_vectors(n: int, *, seed: int, rank: int = 48) -> np.ndarray:
    """Unit vectors near a ``rank``-dimensional subspace, in clusters, plus a little noise in
    every dimension: the shape of pooled CNN features (few effective dimensions), which is
    what makes a projection worth having. Uniform random vectors have no such structure."""
    rng = np.random.default_rng(seed)
    basis = np.random.default_rng(1234).standard_normal((rank, DIM)).astype(np.float32)
    centres = np.random.default_rng(4321).standard_normal((30, rank)).astype(np.float32) * 2
    latent = centres[rng.integers(0, len(centres), n)] + rng.standard_normal((n, rank)).astype(np.float32)
    vectors = latent @ basis + 0.5 * rng.standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _catalogue(n: int, *, seed: int, key: str) -> tuple[list[Product], np.ndarray]:
    vectors = clustered_unit_vectors(n, seed=seed)
    return products_with_vectors(vectors, model_name="resnet50", model_key=key), vectors


def _plans(run) -> list[str]:
    """The index each kNN query of ``run()`` used, explained on the selector's own cursor in its
    transaction: 'compressed' (the PCA graph), 'compressed-exact' (every kept row's PCA
    coordinates), 'hnsw' (the full-vector graph) or 'exact'."""
    plans = []

    def explain(execute, sql, params, many, context):
        if "<=>" in sql:
            raw = context["cursor"].cursor
            raw.execute("EXPLAIN " + sql, params)
            text = "\n".join(row[0] for row in raw.fetchall())
            if "embedding_resnet50_pca_hnsw" in text:
                plans.append("compressed")
            elif "recommender_reducedvector" in text:
                plans.append("compressed-exact")
            elif "embedding_resnet50_hnsw" in text:
                plans.append("hnsw")
            else:
                plans.append("exact")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain):
        run()
    return plans


def test_pca_keeps_the_geometry_of_vectors_near_a_subspace():
    vectors = clustered_unit_vectors(3000, seed=1)
    mean, components, kept = pca_fit(vectors, 512)
    assert components.shape == (512, DIM) and mean.shape == (DIM,)
    np.testing.assert_allclose(components @ components.T, np.eye(512), atol=1e-4)
    assert 0.5 < kept < 1.0
    # Distances between projected points are the distances between the vectors, less what
    # the dropped components held: never more, and close for vectors near the subspace.
    sample = vectors[:200]
    projected = (sample - mean) @ components.T
    full = np.linalg.norm(sample[:, None] - sample[None], axis=-1)
    reduced = np.linalg.norm(projected[:, None] - projected[None], axis=-1)
    assert np.all(reduced <= full + 1e-4)
    assert np.corrcoef(full.ravel(), reduced.ravel())[0, 1] > 0.95


def test_pca_needs_more_than_one_vector():
    with pytest.raises(ValueError, match="at least 2"):
        pca_fit(np.ones((1, 8)), 4)


def test_search_walks_the_compressed_index_and_ranks_by_the_full_vectors(settings):
    """Seeded catalogue of 1,500 vectors: recall@10 of the compressed search against exact
    numpy search on the full vectors, and the distances returned are the full vectors'."""
    settings.RECOMMENDER_MAX_DISTANCE = 2.0
    key = active_model_key("resnet50")
    products, vectors = _catalogue(1500, seed=2, key=key)
    queries = clustered_unit_vectors(20, seed=3)

    def search_all():
        return [similar_products(q, model_key=key, k=10) for q in queries]

    # Before a fit: the full-vector graph, as always.
    assert set(_plans(search_all)) == {"hnsw"}

    out = StringIO()
    call_command("fit_projection", "--model", "resnet50", "--sample", "1000", stdout=out, stderr=StringIO())
    assert "1500 vectors rewritten" in out.getvalue() and "2048 -> 512" in out.getvalue()
    projection = Projection.objects.get(model_key=key)
    assert projection.fitted_rows == 1000 and projection.dim_out == 512
    assert ReducedVector.objects.filter(model_key=key).count() == 1500

    results = []
    assert set(_plans(lambda: results.extend(search_all()))) == {"compressed"}
    hits = 0
    for query, found in zip(queries, results, strict=True):
        distances = 1 - vectors @ query
        expected = {products[i].pk for i in np.argsort(distances)[:10]}
        hits += len(expected & {r.product.pk for r in found})
        by_pk = {p.pk: d for p, d in zip(products, distances, strict=True)}
        np.testing.assert_allclose(
            [r.distance for r in found], [by_pk[r.product.pk] for r in found], atol=2e-3
        )
        assert [r.distance for r in found] == sorted(r.distance for r in found)
    assert hits / (10 * len(queries)) >= 0.95

    # A filter keeping 800 rows (more than RECOMMENDER_EXACT_MAX_ROWS, at most
    # RECOMMENDER_COMPRESSED_EXACT_MAX_ROWS): every kept row ranked on its PCA coordinates.
    settings.RECOMMENDER_EXACT_MAX_ROWS = 500
    settings.RECOMMENDER_COMPRESSED_EXACT_MAX_ROWS = 1000
    narrowed = []
    plans = _plans(
        lambda: narrowed.extend(
            similar_products(q, model_key=key, price_max=Decimal("1799"), k=10) for q in queries
        )
    )
    assert set(plans) == {"compressed-exact"}
    hits = 0
    for query, found in zip(queries, narrowed, strict=True):
        distances = 1 - vectors[:800] @ query
        hits += len({products[i].pk for i in np.argsort(distances)[:10]} & {r.product.pk for r in found})
        assert all(r.product.price <= Decimal("1799") for r in found)
    assert hits / (10 * len(queries)) >= 0.95
    # A broad one walks the PCA graph.
    assert set(
        _plans(lambda: similar_products(queries[0], model_key=key, price_max=Decimal("2400"), k=10))
    ) == {"compressed"}

    # The switch puts searches back on the full-vector graph.
    settings.RECOMMENDER_COMPRESSED_SEARCH = False
    assert set(_plans(search_all)) == {"hnsw"}


def test_a_narrow_filter_is_still_searched_exactly_with_a_projection(settings):
    settings.RECOMMENDER_MAX_DISTANCE = 2.0
    key = active_model_key("resnet50")
    products, vectors = _catalogue(700, seed=4, key=key)
    call_command("fit_projection", "--model", "resnet50", stdout=StringIO(), stderr=StringIO())
    query = clustered_unit_vectors(1, seed=5)[0]
    found = []
    plans = _plans(
        lambda: found.extend(similar_products(query, model_key=key, price_max=Decimal("1049"), k=10))
    )
    assert plans == ["exact"]
    distances = 1 - vectors[:50] @ query
    assert [r.product.pk for r in found] == [products[i].pk for i in np.argsort(distances)[:10]]


def test_vectors_written_after_a_fit_carry_their_coordinates(settings, random_resnet50_file):
    settings.RECOMMENDER_RESNET50_WEIGHTS = str(random_resnet50_file)
    key = active_model_key("resnet50")
    _catalogue(600, seed=6, key=key)
    call_command("fit_projection", "--model", "resnet50", stdout=StringIO(), stderr=StringIO())
    fresh = ProductFactory(image=ContentFile(jpeg_bytes((200, 30, 30), size=(60, 80)), name="new.jpg"))
    result = embedding_compute_batch(product_ids=[fresh.pk], model="resnet50")
    assert result.embedded == [fresh.pk]
    row = Embedding.objects.select_related("reduced").get(product=fresh, model_key=key)
    with transaction.atomic():
        fitted = projection_for_write(key)
    expected = fitted.apply(np.asarray(row.vector, dtype=np.float32))[0]
    np.testing.assert_allclose(np.asarray(row.reduced.vector, dtype=np.float32), expected, atol=2e-2)
    # A refit rewrites it with the new projection.
    call_command(
        "fit_projection", "--model", "resnet50", "--sample", "300", stdout=StringIO(), stderr=StringIO()
    )
    with transaction.atomic():
        refitted = projection_for_write(key)
    assert refitted.version != fitted.version
    stored = np.asarray(ReducedVector.objects.get(embedding=row).vector, dtype=np.float32)
    np.testing.assert_allclose(stored, refitted.apply(np.asarray(row.vector, dtype=np.float32))[0], atol=2e-2)
    assert (
        ReducedVector.objects.filter(model_key=key).count() == Embedding.objects.filter(model_key=key).count()
    )


@pytest.mark.django_db(transaction=True)
def test_projection_for_write_must_run_in_the_writing_transaction():
    with pytest.raises(RuntimeError, match="inside the transaction"):
        projection_for_write("resnet50@x")


def test_fit_projection_refuses_a_model_without_a_compressed_index_and_a_tiny_catalogue():
    with pytest.raises(CommandError, match="no compressed index"):
        call_command("fit_projection", "--model", "efficientnet-lite0", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="needs more than 512"):
        call_command("fit_projection", "--model", "resnet50", stdout=StringIO(), stderr=StringIO())
