"""bench.retrieval --region / --people / --json end to end: painted people (bench/people.py)
on a tiny CC0 catalogue, through the page's own region code (issue 13)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench import retrieval


def test_boxes_file_errors_say_what_to_fix(tmp_path):
    bad = tmp_path / "boxes.csv"
    bad.write_text("query,x0,y0\na.jpg,1,2\n")
    with pytest.raises(SystemExit, match="header line 'query,x0,y0,x1,y1'"):
        retrieval.boxes_read(bad)
    bad.write_text("query,x0,y0,x1,y1\na.jpg,1,2,three,4\n")
    with pytest.raises(SystemExit, match="line 2: x0, y0, x1, y1 must be numbers"):
        retrieval.boxes_read(bad)
    bad.write_text("query,x0,y0,x1,y1\na.jpg,1,2.6,30,40\n")
    assert retrieval.boxes_read(bad) == {"a.jpg": (1, 3, 30, 40)}


def test_region_mask_needs_people(capsys):
    with pytest.raises(SystemExit):
        retrieval.main(["--self-test", "--region", "mask", "--no-write"])
    assert "--region mask needs the true garment masks" in capsys.readouterr().err


@pytest.mark.django_db(transaction=True)
def test_people_regions_json(settings, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(retrieval, "PEOPLE_DIR", tmp_path / "people")
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECOMMENDER_DEVICE = "cpu"
    settings.RECOMMENDER_DEMO_FALLBACK = False
    settings.RECOMMENDER_SEGMENT_CATALOGUE = False
    retrieval.main(
        [
            "--people", "3", "--people-catalogue", "10", "--embedder", "efficientnet-lite0",
            "--region", "auto", "box", "whole", "mask", "--json", "--no-write",
        ]
    )  # fmt: skip
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 8  # four regions, colour off and on
    assert {(r["region"], r["colour"]) for r in rows} == {
        (region, colour) for region in ("auto", "box", "whole", "mask") for colour in (False, True)
    }
    for r in rows:
        recalls = [r[f"recall@{k}"] for k in (1, 5, 10, 20)]
        assert all(0.0 <= v <= 1.0 for v in recalls), r
        assert recalls == sorted(recalls), r  # recall never falls as k grows
        assert r["queries"] == 3 and 0.0 <= r["mrr"] <= 1.0
    by = {(r["region"], r["colour"]): r for r in rows}
    # The top cut out of the painted person beats the whole person (measured 0.83 and 0.44).
    assert by[("mask", False)]["mrr"] > by[("whole", False)]["mrr"]
    assert by[("box", False)]["mrr"] > by[("whole", False)]["mrr"]


def test_region_timing_row_reports_cpu_and_elapsed_time():
    scores = retrieval.Scores([1, None, 3])
    results = [retrieval.RegionResult("auto", 0.0, scores)]
    # (elapsed s, segmenter unavailable, CPU s) per photo, as region_mask records them.
    timings = [(0.5, True, 0.2), (0.7, True, 0.3), (0.9, True, 0.4)]
    body = retrieval.regions_body(results, label="efficientnet-lite0", timings=timings, intro="Intro.")
    assert "segmenter weights absent" in body
    assert "CPU time median 300 ms" in body and "elapsed median 700 ms" in body
    assert "| efficientnet-lite0 | auto (the page's default) | off | 0.333 |" in body


def test_colour_in_the_vector_blends_the_two_cosines_at_the_colour_weight():
    from PIL import Image

    from recommender.colour import colour_features, rgb_histogram

    rng = np.random.default_rng(0)
    photos = sorted((retrieval.ROOT / "demo" / "catalogue" / "images").rglob("*.jpg"))[:4]
    histograms = []
    for path in photos:
        with Image.open(path) as image:
            histograms.append(rgb_histogram(image.convert("RGB")))
    vectors = rng.random((4, 1280)).astype(np.float32)
    for weight in (0.2, 0.5):
        rows = retrieval.colour_in_vector(vectors, histograms, weight)
        assert rows.shape == (4, 1280 + 96)
        np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
        v = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        c = colour_features(np.asarray(histograms, dtype=np.float32))
        expected = (1 - weight) * (v @ v.T) + weight * (c @ c.T)
        np.testing.assert_allclose(rows @ rows.T, expected, atol=1e-5)


@pytest.mark.django_db(transaction=True)
def test_several_embedders_and_the_colour_in_the_vector_in_one_run(settings, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(retrieval, "PEOPLE_DIR", tmp_path / "people")
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECOMMENDER_DEVICE = "cpu"
    settings.RECOMMENDER_DEMO_FALLBACK = False
    settings.RECOMMENDER_SEGMENT_CATALOGUE = False
    retrieval.main(
        [
            "--people", "2", "--people-catalogue", "8",
            "--embedder", "efficientnet-lite0", "efficientnet-lite0-gem",
            "--region", "box", "--colour-in-vector", "--json", "--no-write",
        ]
    )  # fmt: skip
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert {(r["embedder"], r["colour_mode"]) for r in rows} == {
        (name, mode)
        for name in ("efficientnet-lite0", "efficientnet-lite0-gem")
        for mode in ("off", "rerank", "vector")
    }
    assert all(r["queries"] == 2 and r["region"] == "box" for r in rows)
    # Two painted tops against 8 photos, by their shopper's box: found in the top 5 either way.
    assert all(r["recall@5"] == 1.0 for r in rows), rows
