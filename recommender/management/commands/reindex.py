"""Embed the catalogue: products marked for embedding, or all of them."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recommender.embedders import EmbedderUnavailable, active_embedder_name, active_model_key, get_embedder
from recommender.selectors import (
    products_missing_phash,
    products_pending_attributes,
    products_pending_embedding,
)
from recommender.services import attributes_compute_batch, embedding_compute_batch, image_hashes_fill
from shop.services import products_mark_for_embedding


class Command(BaseCommand):
    requires_system_checks: list = []  # they fail exactly when weights are missing
    help = (
        "Compute image embeddings for the catalogue with the active model (or --model). "
        "Resumable: it works through products still marked (or, for another model, products "
        "without its vector), so an interrupted run continues where it stopped, and running "
        "it twice does no duplicate work. An interrupted --all run resumes with a plain `reindex`. "
        "Every embedding also stores the image's perceptual hash (near-duplicate alternatives are "
        "hidden with it); products embedded before hashes were kept get theirs with --hashes, "
        "which only decodes images (no model) and can be re-run until none are left. "
        "Attributes (colour name, pattern) are computed with every embedding; --attributes "
        "(re)computes only them, for products whose photo changed since (with --all, for every "
        "product), keeping staff corrections."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model", help="registered embedder name (default: RECOMMENDER_EMBEDDER)")
        parser.add_argument(
            "--all",
            action="store_true",
            help="re-embed every product, not only those marked or missing a vector",
        )
        parser.add_argument("--batch-size", type=int, default=settings.RECOMMENDER_EMBED_BATCH_SIZE)
        parser.add_argument(
            "--hashes",
            action="store_true",
            help="only fill in missing perceptual hashes of already embedded products (no model runs)",
        )
        parser.add_argument(
            "--attributes",
            action="store_true",
            help="only (re)compute product attributes (no embedding model runs); with --all, every product",
        )

    def handle(
        self,
        *args,
        model=None,
        all=False,
        batch_size=32,
        verbosity=1,
        hashes=False,
        attributes=False,
        **options,
    ):
        if hashes:
            self._fill_hashes(batch_size=batch_size, verbosity=verbosity)
            return
        if attributes:
            self._compute_attributes(all_products=all, batch_size=batch_size, verbosity=verbosity)
            return
        name = model or active_embedder_name()
        try:
            embedder = get_embedder(name)
        except EmbedderUnavailable as exc:
            raise CommandError(str(exc)) from exc
        is_active = embedder.model_key == active_model_key()
        if all and is_active:
            # Mark first, then work through the marks: a second run resumes, not restarts.
            products_mark_for_embedding()
        ids = products_pending_embedding(model_key=embedder.model_key, all_products=all and not is_active)
        self.stdout.write(f"{len(ids)} products to embed with {embedder.model_key}.")
        embedded = failed = 0
        with tqdm(total=len(ids), unit="img", disable=verbosity < 1, file=self.stderr._out) as bar:
            for start in range(0, len(ids), batch_size):
                batch = ids[start : start + batch_size]
                result = embedding_compute_batch(product_ids=batch, model=name)
                embedded += len(result.embedded)
                failed += len(result.failed)
                for pk, reason in result.failed.items():
                    bar.write(f"product {pk}: {reason}")
                bar.update(len(batch))
        self.stdout.write(
            self.style.SUCCESS(f"Embedded {embedded} products with {embedder.model_key}; {failed} flagged.")
        )

    def _fill_hashes(self, *, batch_size: int, verbosity: int) -> None:
        ids = products_missing_phash()
        self.stdout.write(f"{len(ids)} products without a perceptual hash.")
        hashed, failed = self._in_batches(ids, image_hashes_fill, batch_size=batch_size, verbosity=verbosity)
        self.stdout.write(self.style.SUCCESS(f"Hashed {hashed} products; {failed} flagged."))

    def _compute_attributes(self, *, all_products: bool, batch_size: int, verbosity: int) -> None:
        ids = products_pending_attributes(all_products=all_products)
        self.stdout.write(f"{len(ids)} products to compute attributes for.")
        done, failed = self._in_batches(
            ids, attributes_compute_batch, batch_size=batch_size, verbosity=verbosity
        )
        self.stdout.write(self.style.SUCCESS(f"Computed attributes of {done} products; {failed} flagged."))

    def _in_batches(self, ids: list[int], work, *, batch_size: int, verbosity: int) -> tuple[int, int]:
        """Run ``work(product_ids=batch)`` (a service returning (done, {id: reason})) over ``ids``
        with a progress bar, writing each flagged product; returns (done, flagged)."""
        done = failed = 0
        with tqdm(total=len(ids), unit="img", disable=verbosity < 1, file=self.stderr._out) as bar:
            for start in range(0, len(ids), batch_size):
                batch = ids[start : start + batch_size]
                count, errors = work(product_ids=batch)
                done += count
                failed += len(errors)
                for pk, reason in errors.items():
                    bar.write(f"product {pk}: {reason}")
                bar.update(len(batch))
        return done, failed
