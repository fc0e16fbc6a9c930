"""Smoke test of bench/ann.py: a small catalogue through the shop's own search, both indexes,
every filter kind, on the real Postgres + pgvector."""

from __future__ import annotations

import pytest


@pytest.mark.django_db(transaction=True)
def test_ann_benchmark_compares_the_full_and_the_compressed_index(settings):
    from bench.ann import report, run

    # run() switches these per row; the fixture restores them afterwards.
    settings.RECOMMENDER_COMPRESSED_SEARCH = True
    settings.RECOMMENDER_EF_SEARCH = 100
    settings.RECOMMENDER_EXACT_MAX_ROWS = 100
    settings.RECOMMENDER_COMPRESSED_EXACT_MAX_ROWS = 300
    r = run(
        n=2000, dim=2048, n_queries=10, ef_searches=[100], kinds=["price", "brand"], shares=[0.5, 0.1, 0.01]
    )
    assert r["compression"]["dim_out"] == 512 and 0.5 < r["compression"]["explained"] <= 1.0
    # 512 half floats against 2048: the compressed graph is the smaller one.
    assert r["sizes"]["reduced_index"] < r["sizes"]["index"] / 2
    full, compressed = r["sweep"]
    assert not full.extra["compressed"] and compressed.extra["compressed"]
    assert full.recall >= 0.9 and compressed.recall >= 0.9
    plans = {
        (m.extra["kind"], m.extra["share"], m.extra["compressed"]): m.extra["plan"] for m in r["filtered"]
    }
    # 1,000 rows kept: a graph walk, on the index the search asked for; 200 rows: exact on the
    # PCA coordinates when there are some, else a walk of the full graph; 20 rows: exact.
    assert plans[("price", 0.5, False)] == "hnsw" and plans[("price", 0.5, True)] == "compressed"
    assert plans[("price", 0.1, False)] == "hnsw" and plans[("price", 0.1, True)] == "compressed-exact"
    assert plans[("brand", 0.01, False)] == plans[("brand", 0.01, True)] == "exact"
    assert all(m.rows == 10 and m.recall >= 0.8 for m in r["filtered"])
    text = report(r)
    assert "PCA-512 graph + re-rank" in text and "web share" in text
