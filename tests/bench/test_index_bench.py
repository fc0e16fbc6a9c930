"""Smoke tests of bench/index.py and bench/vectors.py: tiny sizes, real Postgres + pgvector."""

from __future__ import annotations

import numpy as np
import pytest

from bench.vectors import ClusteredVectors, exact_top_k, recall_at_k, vector_stats


def test_clustered_vectors_look_like_pooled_cnn_embeddings():
    x, labels = ClusteredVectors(256).sample(2000, seed=1)
    assert x.dtype == np.float32
    assert (x >= 0).all(), "pooled ReLU features are non-negative"
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1, atol=1e-5)
    stats = vector_stats(x)
    assert 0.2 < stats["mean_cos"] < 0.6
    assert stats["nn_cos"] > stats["mean_cos"] + 0.15, "neighbours are closer than random pairs"
    assert stats["zero_share"] > 0.2
    assert len(set(labels.tolist())) > 100
    again, _ = ClusteredVectors(256).sample(2000, seed=1)
    np.testing.assert_array_equal(x, again)


def test_exact_top_k_matches_a_full_sort_across_chunks_and_with_a_mask():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(500, 16)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    queries = base[:7] + 0.01
    mask = rng.random(500) < 0.3
    got = exact_top_k(base, queries, 5, mask=mask, chunk=97)
    sims = queries @ base.T
    sims[:, ~mask] = -np.inf
    want = np.argsort(-sims, axis=1)[:, :5]
    np.testing.assert_array_equal(got, want)
    assert recall_at_k([list(w[:4]) for w in want], want) == pytest.approx(0.8)


@pytest.mark.django_db(transaction=True)
def test_index_benchmark_measures_both_paths(settings):
    from bench.index import report, run_config

    # run_config sets these for the product path; the fixture restores them afterwards.
    settings.RECOMMENDER_EF_SEARCH = 40
    settings.RECOMMENDER_ITERATIVE_SCAN = "relaxed_order"
    results = []
    for path, dim in (("raw", 64), ("product", 1280)):
        r = run_config(
            path=path,
            n=400,
            dim=dim,
            n_queries=12,
            m=16,
            ef_construction=64,
            ef_searches=[10, 200],
            filters=(0.1,),
            seq_queries=3,
            filter_efs=(40,),
        )
        assert r["seq"].recall >= 0.99, "the sequential scan is exact"
        assert r["seq"].rows == 10
        assert r["sweep"][-1].recall >= 0.9
        assert r["index_bpv"] > 0 and r["table_bpv"] > 0 and r["build_s"] > 0
        iterative = next(f for f in r["filtered"] if f.extra["iterative"])
        assert iterative.rows == 10, "iterative scan fills the page under a 10% filter"
        assert iterative.recall >= 0.9
        results.append(r)
    text = report(results, "")
    assert "| product | 400 | 1280 |" in text and "| raw | 400 | 64 |" in text
