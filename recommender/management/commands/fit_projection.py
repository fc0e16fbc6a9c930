"""Fit the PCA projection behind a model's compressed index, and rewrite every vector's
coordinates (recommender.projection)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recommender.embedders import EmbedderUnavailable
from recommender.projection import projection_fit


class Command(BaseCommand):
    requires_system_checks: list = []  # no model weights are needed: it reads stored vectors
    help = (
        "Fit a PCA on a model's stored vectors (the active model, or --model) and store every "
        "vector's coordinates for its compressed HNSW index; searches then walk that index and "
        "order its candidates by the full vectors. Run it once the catalogue is embedded, and "
        "again when it has grown or changed a lot (say, doubled) or after a re-index with new "
        "weights. It rewrites every row in one transaction: searches keep the old projection "
        "until it commits, and new vectors wait for it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model", help="registered embedder name (default: RECOMMENDER_EMBEDDER)")
        parser.add_argument(
            "--sample", type=int, default=50_000, help="vectors to fit on (at most; default 50,000)"
        )

    def handle(self, *args, model=None, sample=50_000, verbosity=1, **options):
        bar = tqdm(unit="vec", disable=verbosity < 1, file=self.stderr._out, desc="rewrite")

        def total(n: int) -> None:
            bar.reset(total=n)

        try:
            result = projection_fit(model=model, sample=sample, total=total, progress=bar.update)
        except (ValueError, EmbedderUnavailable) as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        projection = result.projection
        self.stdout.write(
            self.style.SUCCESS(
                f"{projection.model_key}: {projection.dim_in} -> {projection.dim_out} dimensions, "
                f"fitted on {projection.fitted_rows} vectors, "
                f"{projection.explained_variance:.1%} of the variance kept; "
                f"{result.rewritten + result.caught_up} vectors rewritten."
            )
        )
