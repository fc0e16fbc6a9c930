"""Smoke test of bench/upload_memory.py: each case is decoded in a fresh process and measured."""

from __future__ import annotations

from bench import upload_memory


def test_upload_memory_prints_a_peak_for_each_case(capsys):
    upload_memory.main(["--smoke", "--no-write"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")][1:]
    assert len(rows) == len(upload_memory.SMOKE_CASES)
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[4] in ("1024 × 768", "1024 × 745"), row  # reduced to the stored size on decoding
        assert float(cells[5].replace(",", "")) >= 0, row
