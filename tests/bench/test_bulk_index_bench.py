"""Smoke test of bench/bulk_index.py: a tiny catalogue through every path, real efficientnet-lite0."""

from __future__ import annotations

import hashlib

import pytest

from bench import bulk_index


def test_distinct_copies_have_other_bytes_and_the_same_pixels():
    import io

    from PIL import Image

    from tests.shop.factories import jpeg_bytes

    data = jpeg_bytes((200, 30, 30), size=(40, 50))
    a, b = bulk_index.distinct_copy(data, 1), bulk_index.distinct_copy(data, 2)
    assert len({hashlib.sha256(x).hexdigest() for x in (data, a, b)}) == 3
    assert Image.open(io.BytesIO(a)).tobytes() == Image.open(io.BytesIO(data)).tobytes()


@pytest.mark.django_db(transaction=True)
def test_bulk_index_benchmark_measures_every_path(settings, tmp_path, capsys):
    # main() sets these; the fixture restores them afterwards.
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECOMMENDER_DEVICE = "cpu"
    settings.RECOMMENDER_DEMO_FALLBACK = False
    settings.RECOMMENDER_SEGMENT_CATALOGUE = False
    settings.RECOMMENDER_DECODE_THREADS = 2
    bulk_index.main(
        ["--products", "8", "--batch", "2", "--rounds", "2", "--paths", *bulk_index.PATHS, "--no-write"]
    )
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "images/s" not in line]
    assert [row.split("|")[1].strip() for row in rows] == list(bulk_index.PATHS)
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[3] == "8", row  # every path embedded every product
