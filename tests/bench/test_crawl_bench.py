"""Smoke test: the crawl benchmark runs end to end, tiny, and leaves docs/benchmarks.md alone."""

from __future__ import annotations

import pytest

from bench import crawl
from bench.report import DOC


@pytest.mark.django_db
def test_crawl_benchmark_runs_tiny_without_writing_the_doc():
    before = DOC.read_text() if DOC.exists() else None
    table = crawl.main(["--pages", "2", "--page-size", "2", "--rate", "200", "--no-write"])
    lines = table.splitlines()
    assert lines[0].startswith("| source kind | run |")
    rows = [line.split(" | ") for line in lines[2:]]
    assert len(rows) == 12  # 3 kinds x 2 rates x (first crawl, re-crawl)
    # musinsa: 2 listing pages, 4 products; schema.org: 1 sitemap + 4 product pages, with or
    # without structured data (the fallback rules find all 4 products).
    assert [(r[0].strip("| "), r[3], r[4]) for r in rows[:2]] == [("musinsa", "2", "4")] * 2
    assert [(r[0].strip("| "), r[3], r[4]) for r in rows[4:6]] == [("schemaorg", "5", "4")] * 2
    assert [(r[0].strip("| "), r[3], r[4]) for r in rows[8:10]] == [("schemaorg-text", "5", "4")] * 2
    assert (DOC.read_text() if DOC.exists() else None) == before
