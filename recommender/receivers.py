"""The recommender's subscriptions to what the catalogue announces (shop.signals).

Indexing is pulled, not pushed: producers only mark products ``needs_embedding`` and send
``products_marked``; this queues the embedding sweep. Connected in RecommenderConfig.ready.
"""

from __future__ import annotations

import logging

from django.dispatch import receiver

from config.publishing import QueueUnavailable, task_publish
from recommender.tasks import embed_pending
from shop.signals import products_marked

logger = logging.getLogger(__name__)


@receiver(products_marked, dispatch_uid="recommender.embedding_queue_on_mark")
def embedding_queue_on_mark(sender, source=None, **kwargs) -> bool:
    """Queue the sweep of products marked needs_embedding (embed_pending batches them);
    False when the task queue did not take it (shop.signals.products_marked_send)."""
    try:
        task_publish(embed_pending)
    except QueueUnavailable:
        # The products stay marked needs_embedding: the periodic sweep embeds them later.
        logger.warning(
            "%s: marked products were not queued for embedding now; the periodic sweep will.",
            getattr(source, "slug", None) or sender,
        )
        return False
    return True
