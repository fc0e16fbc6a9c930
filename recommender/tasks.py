"""Celery tasks of the recommender: thin wrappers that take ids and call one service.

Routed to the "embed" queue (config/settings/base.py). Models load lazily on the first
task in each worker child (get_embedder caches them per process), so the parent never
touches torch or CUDA before it forks.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from config.deliveries import deliveries_exhausted
from config.publishing import task_publish
from recommender.embedders import active_embedder_name, active_model_key, indexed_model_names
from recommender.selectors import products_pending_embedding
from recommender.services import embedding_compute_batch, same_item_groups_refresh
from shop.models import Product
from shop.services import product_image_flag

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=3,
)
def embed_products(self, product_ids: list[int], model: str | None = None) -> dict:
    """Embed one batch of products. Idempotent: a batch redelivered after a worker died
    overwrites the same rows, so there is still exactly one vector per product and model.

    A batch that killed its worker CELERY_TASK_MAX_DELIVERIES times, or ran past its soft
    time limit, is split into one task per product, so the rest of the batch is embedded;
    a single product that does so is marked failed with the reason (it is not queued again
    until its image changes).
    """
    product_ids = list(product_ids)
    if deliveries_exhausted(self):
        return _embed_give_up(
            product_ids,
            model,
            reason=(
                "Embedding this image stopped the worker several times (out of memory?); it is "
                "not tried again until the image changes."
            ),
        )
    try:
        result = embedding_compute_batch(product_ids=product_ids, model=model)
    except SoftTimeLimitExceeded:
        return _embed_give_up(
            product_ids,
            model,
            reason=(
                "Embedding this image took longer than the time limit; it is not tried again until "
                "the image changes."
            ),
        )
    return {
        "model_key": result.model_key,
        "embedded": len(result.embedded),
        "failed": len(result.failed),
        "missing": len(result.missing),
    }


def _embed_give_up(product_ids: list[int], model: str | None, *, reason: str) -> dict:
    if len(product_ids) > 1:
        logger.warning("Embedding batch of %d split into single products: %s", len(product_ids), reason)
        for pk in product_ids:
            task_publish(embed_products, [pk], model)
        return {"split": len(product_ids)}
    for product in Product.objects.filter(pk__in=product_ids).only("id", "image_sha256"):
        product_image_flag(product=product, reason=reason, unmark=True)
    return {"failed": len(product_ids)}


@shared_task(acks_late=True)
def embed_pending(model: str | None = None) -> int:
    """Queue embedding batches of RECOMMENDER_EMBED_BATCH_SIZE for every model products need a
    vector of (embedders.indexed_model_names: the image model, and the text model when one is
    configured), or for ``model`` only. The image model embeds the products marked
    ``needs_embedding``; another model, those without an up-to-date vector of its own (its
    batches never clear the mark, which belongs to the image model). Returns how many batches
    were queued."""
    if model is not None:
        plans = [(model, model != active_embedder_name())]
    else:
        active = active_embedder_name()
        # The active model's batches go out with model=None, as before: a worker resolves the
        # demo fallback itself.
        plans = [(None if name == active else name, name != active) for name in indexed_model_names()]
    size = settings.RECOMMENDER_EMBED_BATCH_SIZE
    queued = 0
    for name, by_missing in plans:
        if by_missing:
            ids = products_pending_embedding(model_key=active_model_key(name))
        else:
            ids = list(Product.objects.needing_embedding().order_by("pk").values_list("pk", flat=True))
        batches = [ids[i : i + size] for i in range(0, len(ids), size)]
        for batch in batches:
            embed_products.delay(batch, name)
        if batches:
            logger.info(
                "Queued %d products in %d embedding batches for %s",
                len(ids),
                len(batches),
                name or "the image model",
            )
        queued += len(batches)
    return queued


@shared_task(acks_late=True)
def embed_same_item_groups() -> dict:
    """Regroup near-duplicate photos (beat, every SHOP_SAME_ITEM_REFRESH_SECONDS); on the
    embed queue, next to the task that takes the hashes."""
    result = same_item_groups_refresh()
    return {"groups": result.groups, "grouped": result.grouped, "changed": result.changed}
