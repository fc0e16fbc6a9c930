"""Attributes measured on the labelled CC0 photos: precision and recall of every method that
runs here, against trivial baselines.

    nice -n 10 python -m bench.attributes [--limit N] [--no-write]

Labels: bench/data/attribute_labels.csv (how they were made: bench/data/README.md). Each
photo goes through the catalogue's crop (preprocess.garment_on_white, no segmentation: the
demo's setting) and each method; a method that does not answer ("unavailable") counts against
its recall, not its precision. Methods:

- colour: ``colour-names-v1`` (recommender.attributes.colour_name, what the shop stores), the
  same without white balance, and "always the most common label";
- pattern: the spectrum (recommender.attributes.pattern_from_spectrum) at the shipped
  thresholds and at a lower one, and "always plain";
- hood, logo, sleeve: only "always the most common label" runs here; the vision-language model
  that would compute them has no weights on this machine.

Writes its section of docs/benchmarks.md unless --no-write.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import Counter
from pathlib import Path

from PIL import Image

from bench.common import markdown_table
from recommender import attributes as methods
from recommender.preprocess import garment_on_white

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "bench" / "data" / "attribute_labels.csv"
PHOTOS = ROOT / "demo" / "catalogue"
ATTRIBUTES = ("pattern", "colour", "hood", "logo", "sleeve")


def labelled_rows(limit: int | None = None) -> list[dict]:
    with LABELS.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return rows[:limit] if limit else rows


def _spectrum_at(stripe_ratio: float):
    def run(picture):
        saved = methods.STRIPE_MIN_RATIO
        methods.STRIPE_MIN_RATIO = stripe_ratio
        try:
            return methods.pattern_from_spectrum(picture).value
        finally:
            methods.STRIPE_MIN_RATIO = saved

    return run


def method_table(rows: list[dict]) -> dict[str, dict[str, object]]:
    """attribute -> {method label: function(picture) -> value or ""}; baselines need the labels."""
    common = {
        name: Counter(r[name] for r in rows if r[name]).most_common(1)[0][0]
        for name in ATTRIBUTES
        if any(r[name] for r in rows)
    }
    table: dict[str, dict[str, object]] = {name: {} for name in ATTRIBUTES}
    table["colour"][methods.COLOUR_METHOD + " (shipped)"] = lambda p: methods.colour_name(p).value
    table["colour"][methods.COLOUR_METHOD + " without white balance"] = lambda p: (
        methods.colour_name(p, white_balance=False).value
    )
    table["pattern"][
        f"{methods.PATTERN_METHOD}, stripes at ratio ≥ {methods.STRIPE_MIN_RATIO:g} (off by default)"
    ] = _spectrum_at(methods.STRIPE_MIN_RATIO)
    table["pattern"][f"{methods.PATTERN_METHOD}, stripes at ratio ≥ 100"] = _spectrum_at(100.0)
    for name, value in common.items():
        table[name][f'baseline: always "{value}"'] = lambda p, v=value: v
    return table


def measure(rows: list[dict]) -> tuple[list[tuple], list[tuple], float]:
    """(summary rows, per-value rows, seconds per photo for the shipped methods)."""
    table = method_table(rows)
    predictions: dict[tuple[str, str], list[str]] = {}
    shipped_seconds = 0.0
    for row in rows:
        picture = garment_on_white(Image.open(PHOTOS / row["image"]).convert("RGB"))
        start = time.perf_counter()
        methods.attributes_compute(picture, pattern_from_spectrum_on=True)
        shipped_seconds += time.perf_counter() - start
        for name, runs in table.items():
            for label, run in runs.items():
                predictions.setdefault((name, label), []).append(run(picture) if row[name] else "")
    summary, per_value = [], []
    for (name, label), predicted in predictions.items():
        pairs = [(row[name], guess) for row, guess in zip(rows, predicted, strict=True) if row[name]]
        answered = [(truth, guess) for truth, guess in pairs if guess]
        right = sum(truth == guess for truth, guess in answered)
        values = sorted({truth for truth, _ in pairs} | {guess for _, guess in answered})
        precisions, recalls = [], []
        for value in values:
            labelled = sum(truth == value for truth, _ in pairs)
            claimed = sum(guess == value for _, guess in answered)
            hits = sum(truth == value == guess for truth, guess in answered)
            precision = hits / claimed if claimed else float("nan")
            recall = hits / labelled if labelled else float("nan")
            if labelled:
                recalls.append(recall)
            if claimed:
                precisions.append(precision)
            per_value.append((name, label, value, labelled, claimed, precision, recall))
        summary.append(
            (
                name,
                label,
                len(pairs),
                f"{len(answered)}/{len(pairs)}",
                f"{right}/{len(pairs)}",
                sum(precisions) / len(precisions) if precisions else float("nan"),
                sum(recalls) / len(recalls) if recalls else float("nan"),
            )
        )
    return summary, per_value, shipped_seconds / max(len(rows), 1)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="only the first N labelled photos (a smoke run)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    rows = labelled_rows(args.limit)
    summary, per_value, seconds = measure(rows)
    summary_table = markdown_table(
        ("attribute", "method", "labelled", "answered", "right", "macro precision", "macro recall"), summary
    )
    value_table = markdown_table(
        ("attribute", "method", "value", "labelled", "predicted", "precision", "recall"),
        [r for r in per_value if not r[1].startswith("baseline")],
    )
    print(summary_table)
    print()
    print(value_table)
    print(f"\nShipped methods (colour name + spectrum): {seconds * 1000:.1f} ms per photo.")
    if not args.no_write:
        from bench.report import section_write

        labels = sum(1 for row in rows for name in ATTRIBUTES if row[name])
        body = (
            "### Attributes without model weights (recommender/attributes.py)\n\n"
            f"{len(rows)} labelled CC0 photos, {labels} labels (`bench/data/attribute_labels.csv`, "
            "made by looking at each photo: `bench/data/README.md`). *Answered*: the method gave a value "
            '(else "unavailable"); *right*: answered and equal to the label, over all labelled. Macro '
            "precision averages over the values a method claimed, macro recall over the labelled values. "
            "The colour method's thresholds were tuned on these same photos: expect less elsewhere. "
            "Hood, logo and sleeve need the vision-language model, which cannot run here: only the "
            "baseline is measured.\n\n"
            + summary_table
            + "\n\nPer value, for the methods (not the baselines):\n\n"
            + value_table
            + f"\n\nShipped methods (colour name + spectrum) take {seconds * 1000:.1f} ms per photo "
            "(one core, the photo already decoded)."
        )
        section_write("attributes", body, packages=("numpy", "Pillow"))


if __name__ == "__main__":
    main()
