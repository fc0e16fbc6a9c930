"""What the catalogue tells other apps, without importing them.

Producers (a feed import, a crawl run, an admin edit) only mark products ``needs_embedding``
(shop.models.Product) and announce it here; whoever indexes the catalogue (the recommender,
recommender/receivers.py) subscribes itself and decides when the work is queued. Its periodic
sweep catches any mark whose announcement was lost (a broker outage, a crash before commit).
"""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

# Sent after the transaction that marked the products commits, so a receiver that queues work
# finds the rows. Arguments: sender (the producer's name, e.g. "shop.import", "crawler.run",
# "shop.admin") and source (the Source the products came from, or None).
products_marked = Signal()


def products_marked_announce(*, sender: str, source=None) -> None:
    """Send ``products_marked`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: products_marked.send(sender=sender, source=source))


def products_marked_send(*, sender: str, source=None) -> bool:
    """Send ``products_marked`` now, for a caller whose marks are already committed (an admin
    action runs in autocommit). False when a subscriber could not take the work now (it returns
    False, e.g. the task queue is down): the marks stay and its periodic sweep takes them."""
    return all(response is not False for _, response in products_marked.send(sender=sender, source=source))
