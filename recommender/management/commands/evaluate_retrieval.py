"""Measure the colour term: recall@k of synthetic street queries on a product photo folder."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recommender.embedders import EmbedderUnavailable, get_embedder
from recommender.evaluation import encode, rankings, recall_at

# The CC0 photos every clone has; point --data at a larger folder for firmer numbers.
DEFAULT_DATA = settings.BASE_DIR / "demo" / "catalogue" / "images"


class Command(BaseCommand):
    requires_system_checks: list = []  # an offline evaluation needs no segmenter
    help = (
        "Evaluate retrieval on a folder of product photos: each photo's degraded 'street' "
        "copy must find the original. Prints recall@1/@10 with no colour term, with it in the "
        "stored vector, and as a re-rank of the nearest --pool, for each --weight."
    )

    def add_arguments(self, parser):
        parser.add_argument("--data", default=DEFAULT_DATA, help="folder searched for *.jpg (recursively)")
        parser.add_argument("--model", default=None, help="embedder (default: the active one)")
        parser.add_argument("--weights", default="0.1,0.2,0.3,0.5", help="colour weights to try")
        parser.add_argument("--pool", type=int, default=50, help="re-rank pool size")
        parser.add_argument("--limit", type=int, default=0, help="use an even sample of N photos")

    def handle(self, *args, data, model, weights, pool, limit, **options):
        paths = sorted(Path(data).rglob("*.jpg"))
        if limit and len(paths) > limit:  # an even sample across the class folders
            paths = paths[:: len(paths) // limit][:limit]
        if len(paths) < 20:
            raise CommandError(f"Found {len(paths)} photos under {data}; point --data at a photo folder.")
        try:
            embedder = get_embedder(model)
        except EmbedderUnavailable as exc:
            raise CommandError(str(exc)) from exc
        with tqdm(total=2 * len(paths), unit="img", file=self.stderr._out) as bar:
            catalogue = encode(paths, embedder, street=False, progress=bar.update)
            queries = encode(paths, embedder, street=True, progress=bar.update)
        self.stdout.write(f"{embedder.model_key}, {len(paths)} photos, re-rank pool {pool}")
        self.stdout.write(f"{'method':<12} {'weight':>6} {'R@1':>6} {'R@10':>6}")
        base = rankings(catalogue, queries, weight=0.0, pool=pool)["deep only"]
        self.stdout.write(f"{'deep only':<12} {0:>6} {recall_at(base, 1):>6.3f} {recall_at(base, 10):>6.3f}")
        for weight in (float(w) for w in weights.split(",")):
            for method, distances in rankings(catalogue, queries, weight=weight, pool=pool).items():
                if method == "deep only":
                    continue
                r1, r10 = recall_at(distances, 1), recall_at(distances, 10)
                self.stdout.write(f"{method:<12} {weight:>6} {r1:>6.3f} {r10:>6.3f}")
