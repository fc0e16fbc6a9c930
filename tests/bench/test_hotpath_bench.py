"""Smoke test of bench/hotpath.py: every before/after row is produced, with positive speeds."""

from __future__ import annotations

from bench import hotpath


def test_hotpath_prints_a_ratio_for_each_change(settings, capsys):
    # main() sets these; the fixture restores them afterwards.
    settings.RECOMMENDER_DEVICE = "cpu"
    settings.RECOMMENDER_RESNET50_WEIGHTS = ""
    hotpath.main(
        ["--embedder", "efficientnet-lite0", "--batch", "2", "--rounds", "1", "--smoke", "--no-write"]
    )
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")][1:]
    changes = [row.split("|")[2].strip() for row in rows]
    for expected in ("inference_mode", "channels_last", "batch 1", "threads", "cached", "384 px"):
        assert any(expected in change for change in changes), (expected, changes)
    for row in rows:
        before, after = (float(c.strip().replace(",", "")) for c in row.split("|")[3:5])
        assert before > 0 and after > 0, row
