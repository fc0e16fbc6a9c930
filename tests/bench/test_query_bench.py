"""Smoke test of bench/query.py: our pipeline's stages and the original way, tiny sizes."""

from __future__ import annotations

import pytest

from bench import query


@pytest.mark.django_db(transaction=True)
def test_query_benchmark_prints_stages_and_speed_up(settings, capsys):
    # query.setup points these at its models; the fixture restores them afterwards.
    settings.RECOMMENDER_SEGMENTER = settings.RECOMMENDER_SEGMENTER
    settings.RECOMMENDER_EMBEDDER = "efficientnet-lite0"
    settings.RECOMMENDER_DEVICE = "cpu"
    query.main(
        [
            "--catalogue",
            "12",
            "--original",
            "12",
            "--repeat",
            "2",
            "--seg-repeat",
            "1",
            "--smoke",
            "--no-write",
        ]
    )
    out = capsys.readouterr().out
    ours = next(line for line in out.splitlines() if line.startswith("| 12 | ours |"))
    cells = [c.strip() for c in ours.strip("|").split("|")]
    assert all(float(c.replace(",", "")) > 0 for c in cells[2:6]), ours  # decode .. kNN
    original = next(line for line in out.splitlines() if line.startswith("| 12 | original |"))
    speed_ups = [c.strip() for c in original.strip("|").split("|")][-2:]
    assert all(s.endswith("×") and float(s[:-1].replace(",", "")) > 0 for s in speed_ups), original
