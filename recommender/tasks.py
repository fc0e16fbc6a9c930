"""Celery tasks of the recommender: thin wrappers that take ids and call one service.

Routed to the "embed" queue (config/settings/base.py). Models load lazily on the first
task in each worker child (get_embedder caches them per process), so the parent never
touches torch or CUDA before it forks.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from recommender.services import embedding_compute_batch
from shop.models import Product

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=3,
)
def embed_products(product_ids: list[int], model: str | None = None) -> dict:
    """Embed one batch of products. Idempotent: a batch redelivered after a worker died
    overwrites the same rows, so there is still exactly one vector per product and model."""
    result = embedding_compute_batch(product_ids=list(product_ids), model=model)
    return {
        "model_key": result.model_key,
        "embedded": len(result.embedded),
        "failed": len(result.failed),
        "missing": len(result.missing),
    }


@shared_task(acks_late=True)
def embed_pending(model: str | None = None) -> int:
    """Queue every product marked ``needs_embedding`` in batches of
    RECOMMENDER_EMBED_BATCH_SIZE; returns how many batches were queued."""
    ids = list(Product.objects.needing_embedding().order_by("pk").values_list("pk", flat=True))
    size = settings.RECOMMENDER_EMBED_BATCH_SIZE
    batches = [ids[i : i + size] for i in range(0, len(ids), size)]
    for batch in batches:
        embed_products.delay(batch, model)
    if batches:
        logger.info("Queued %d products in %d embedding batches", len(ids), len(batches))
    return len(batches)


# --- Find similar: shoppers' uploads (routed to the "query" queue by name) --------------------


@shared_task(acks_late=True, reject_on_worker_lost=True)
def query_segment_upload(upload_id: str) -> str | None:
    """Detect the garments on an upload. Idempotent: a redelivered task redoes the same work."""
    from recommender.models import QueryImage
    from recommender.uploads import upload_segment

    upload = QueryImage.objects.filter(pk=upload_id).first()
    if upload is None:
        logger.info("Upload %s is gone (deleted or expired); nothing to segment", upload_id)
        return None
    return upload_segment(upload=upload).status


@shared_task(acks_late=True)
def uploads_requeue_stale() -> int:
    """Queue again pending uploads whose task was lost; beat runs it every 30 s."""
    from recommender.uploads import uploads_requeue_stale as requeue_stale

    return requeue_stale()


@shared_task
def uploads_delete_expired() -> int:
    """Delete uploads (rows and photos) older than FIND_SIMILAR_RETENTION_DAYS; runs daily."""
    from recommender.uploads import uploads_delete_expired as delete_expired

    return delete_expired()
