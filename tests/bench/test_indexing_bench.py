"""Smoke test of bench/indexing.py: one embedder configuration in its own process, and the
segmenter timings in-process with a tiny random SegFormer."""

from __future__ import annotations

from bench.indexing import random_segformer_b2, report, run_subprocess, worker


def test_indexing_benchmark_measures_embedder_and_segmenter(tmp_path):
    import torch

    embed = run_subprocess(
        {"model": "efficientnet-lite0", "mode": "embed", "threads": 1, "batch": 2, "images": 4}
    )
    assert embed["images_per_s"] > 0
    assert embed["peak_rss_mb"] >= embed["rss_before_model_mb"] > 50

    seg_dir = random_segformer_b2(tmp_path / "seg", tiny=True)
    seg = [
        worker(
            {
                "model": "segmenter",
                "mode": mode,
                "threads": torch.get_num_threads(),
                "batch": 2,
                "images": 4,
                "segmenter_dir": str(seg_dir),
            }
        )
        for mode in ("segment", "forward")
    ]
    assert all(r["images_per_s"] > 0 for r in seg)
    text = report([embed, *seg])
    assert "| efficientnet-lite0 | 1 | 2 |" in text
    assert "`segment()`" in text and "forward 512×512" in text
