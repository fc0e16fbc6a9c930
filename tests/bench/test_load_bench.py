"""Smoke test of bench/load.py: the stack starts (gunicorn on the production settings, its
own Redis), locust drives every page kind, and the table has a row for each; the doc is left alone."""

from __future__ import annotations

import pytest

from bench import load
from bench.report import DOC

pytestmark = pytest.mark.timeout(600)


@pytest.mark.django_db(transaction=True)
def test_load_benchmark_runs_tiny_without_writing_the_doc(settings, monkeypatch, tmp_path):
    # main() reads these from the environment and sets them; the fixtures put them back.
    for key, name, value in (
        ("LOOKALIKE_MEDIA_ROOT", "MEDIA_ROOT", tmp_path / "media"),
        ("LOOKALIKE_PRIVATE_MEDIA_ROOT", "PRIVATE_MEDIA_ROOT", tmp_path / "private"),
        ("RECOMMENDER_EMBEDDER", "RECOMMENDER_EMBEDDER", "efficientnet-lite0"),
    ):
        monkeypatch.setenv(key, str(value))
        setattr(settings, name, value)
    before = DOC.read_text() if DOC.exists() else None

    table = load.main(["--rows", "6", "--users", "2", "--duration", "15", "--no-write"])

    lines = table.splitlines()
    assert lines[0].startswith("| page | after req/s | after p50 ms |")
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]
    assert [row[0] for row in rows] == list(load.PAGES)
    for row in rows:
        assert float(row[1].replace(",", "")) > 0, row  # requests/s
        assert row[5] == "0", row  # every answer a 200
        assert float(row[6]) > 0, row  # the web processes' CPU per request
    assert (DOC.read_text() if DOC.exists() else None) == before


def test_web_cpu_counts_a_worker_replaced_during_the_run_once():
    master, old, new = 100, 101, 102
    start = {master: 1.0, -master: 5.0, old: 3.0}
    # The old worker used 2 s more and exited (its whole life, 5 s, now in the master's
    # waited-for children); its replacement used 4 s; the master 0.5 s.
    end = {master: 1.5, -master: 10.0, new: 4.0}
    assert load._cpu_used(start, end) == pytest.approx(0.5 + 2.0 + 4.0)
    # Database backends: no master, a backend that ended is left out.
    assert load._cpu_used({7: 1.0, 8: 2.0}, {7: 1.5}) == pytest.approx(0.5)


def test_profile_summary_reads_every_workers_profile(tmp_path, capsys):
    import cProfile

    for name in ("worker-1.prof", "worker-2.prof"):
        profile = cProfile.Profile()
        profile.runcall(sorted, range(1000))
        profile.dump_stats(str(tmp_path / name))
    load.profile_summary(tmp_path)
    out = capsys.readouterr().out
    assert "worker-1.prof" in out and "worker-2.prof" in out and "sorted" in out
