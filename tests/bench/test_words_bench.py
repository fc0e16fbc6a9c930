"""Smoke test of bench/words.py: a tiny CLIP through the production loader, images and
descriptions timed, docs/benchmarks.md left alone."""

from __future__ import annotations

from bench import words
from bench.report import DOC


def test_words_benchmark_runs_tiny_without_writing_the_doc(settings, monkeypatch, tmp_path):
    monkeypatch.setattr(words, "MODELS_DIR", tmp_path)
    monkeypatch.setenv("RECOMMENDER_FASHION_CLIP", str(tmp_path / "clip-tiny"))
    settings.RECOMMENDER_FASHION_CLIP = str(tmp_path / "clip-tiny")
    before = DOC.read_text()
    body = words.main(["--smoke", "--no-write", "--images", "4", "--batch", "1", "2", "--queries", "3"])
    assert "| batch | images/s |" in body and "| tokens | median ms |" in body
    # Two batch sizes, and two description lengths: 8 tokens and the tiny model's 16-token window.
    assert body.count("\n| 1 |") + body.count("\n| 2 |") == 2
    assert "\n| 8 |" in body and "\n| 16 |" in body
    assert DOC.read_text() == before
