"""bench.look smoke run: a tiny instance through every programme, nothing written."""

from __future__ import annotations

from bench import look


def test_look_bench_smoke(capsys):
    look.main(["--slots", "3", "--candidates", "5", "--repeat", "3", "--no-write"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "x 5" in line]
    assert len(rows) == len(look.SHAPES) * len(look.VARIANTS)
    assert all("| 5/5 |" in row or "/5 |" in row for row in rows)
    assert {"dense", "sparse"} <= {cell.strip() for row in rows for cell in row.split("|")}
