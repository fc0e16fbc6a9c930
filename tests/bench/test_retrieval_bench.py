"""Smoke tests of bench/retrieval.py: the pairs file checks, and a tiny self-test through
the production indexing and query code."""

from __future__ import annotations

import pytest

from bench import retrieval


def test_pairs_file_errors_say_what_to_fix(tmp_path):
    (tmp_path / "q").mkdir()
    (tmp_path / "c").mkdir()
    (tmp_path / "q" / "a.jpg").write_bytes(b"x")
    no_header = tmp_path / "no-header.csv"
    no_header.write_text("a.jpg,b.jpg\n")
    with pytest.raises(SystemExit, match="header line 'query,catalog'"):
        retrieval.pairs_read(no_header, queries=tmp_path / "q", catalog=tmp_path / "c")
    missing = tmp_path / "missing.csv"
    missing.write_text("query,catalog\na.jpg,b.jpg\n")
    with pytest.raises(SystemExit, match=r"1 file\(s\) named in .* are not in the folders"):
        retrieval.pairs_read(missing, queries=tmp_path / "q", catalog=tmp_path / "c")


@pytest.mark.django_db(transaction=True)
def test_self_test_finds_the_product_behind_distorted_queries(settings, tmp_path, capsys, monkeypatch):
    # Its own folder: a benchmark run may be using var/bench/retrieval-self-test right now.
    monkeypatch.setattr(retrieval, "SELF_TEST_DIR", tmp_path / "self-test")
    # main() sets these; the fixture restores them afterwards.
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECOMMENDER_DEVICE = "cpu"
    settings.RECOMMENDER_DEMO_FALLBACK = False
    settings.RECOMMENDER_SEGMENT_CATALOGUE = False
    retrieval.main(
        [
            "--self-test",
            "--self-test-embedders",
            "efficientnet-lite0",
            "--self-test-queries",
            "4",
            "--self-test-catalogue",
            "12",
            "--no-write",
        ]
    )
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| efficientnet-lite0 |")]
    assert len(rows) == 4  # whole photo / garment box, without / with colour
    box = next(r for r in rows if "garment box, no colour" in r)
    recall_at_1 = float(box.strip("|").split("|")[2])
    # Real ImageNet weights recognise a cropped, rotated, jittered copy among 12 photos.
    assert recall_at_1 >= 0.75, box
    # The fewer-bytes table compares storage options on the same queries.
    storage = [line for line in out.splitlines() if line.startswith("| garment box |")]
    full = next(r for r in storage if "full 1280-d halfvec" in r)
    assert float(full.strip("|").split("|")[3]) == recall_at_1  # numpy exact search agrees with pgvector
    assert any("binary (centred), re-rank top 50" in r for r in storage)
