"""bench.attributes smoke run: a few labelled photos through every method, nothing written."""

from __future__ import annotations

from bench import attributes


def test_attributes_bench_smoke(capsys):
    attributes.main(["--limit", "6", "--no-write"])
    out = capsys.readouterr().out
    summary = [
        line for line in out.splitlines() if line.startswith("| colour |") or line.startswith("| pattern |")
    ]
    methods = {cells.split("|")[2].strip() for cells in summary}
    assert "colour-names-v1 (shipped)" in methods
    assert any(m.startswith("spectrum-v1") for m in methods)
    assert any(m.startswith("baseline") for m in methods)
    # The first six labelled photos are t-shirts: every one is answered by the colour method.
    shipped = next(line for line in summary if "| colour-names-v1 (shipped) |" in line)
    assert "| 6/6 |" in shipped
    assert "ms per photo" in out


def test_the_labels_use_the_shop_vocabulary():
    from shop.attributes import ATTRIBUTES

    rows = attributes.labelled_rows()
    assert len(rows) >= 120
    labels = sum(1 for row in rows for name in attributes.ATTRIBUTES if row[name])
    assert labels >= 300
    for row in rows:
        for name in ("pattern", "colour", "hood", "logo"):
            assert row[name] in ("", *ATTRIBUTES[name].values), row
        assert row["sleeve"] in ("", "none", "short", "long")
        assert (attributes.PHOTOS / row["image"]).is_file()
