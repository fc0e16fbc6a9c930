"""Integration: a real Celery worker process on Redis embeds batches; killed mid-batch,
the batch is redelivered and completes with exactly one vector per product and model."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile

from recommender.embedders import active_model_key
from recommender.models import Embedding
from recommender.tasks import embed_pending, embed_products
from shop.models import Product
from tests.shop.factories import ProductFactory, jpeg_bytes

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("garment_categories"),
]

# Redis hands an unacknowledged task to another worker after the visibility timeout; a
# short one lets the test see the redelivery after a SIGKILL without waiting two hours.
VISIBILITY_TIMEOUT = 6


@pytest.fixture
def short_visibility(monkeypatch):
    monkeypatch.setenv("CELERY_VISIBILITY_TIMEOUT", str(VISIBILITY_TIMEOUT))


def _products(n: int) -> list[Product]:
    return [
        ProductFactory(
            image=ContentFile(jpeg_bytes((10 * i % 255, 80, 200 - 3 * i), size=(64, 64)), name=f"w{i}.jpg"),
            image_sha256=f"w{i}",
            price=Decimal(100 + i),
        )
        for i in range(n)
    ]


def _wait_for(predicate, *, timeout: float, worker, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    pytest.fail(f"Timed out waiting for {what}. Worker log:\n{worker.log()[-4000:]}")


def test_worker_embeds_pending_products_in_batches(settings, celery_worker):
    products = _products(5)
    settings.RECOMMENDER_EMBED_BATCH_SIZE = 2
    embed_pending.delay()
    key = active_model_key()
    _wait_for(
        lambda: Embedding.objects.filter(model_key=key).count() == 5,
        timeout=90,
        worker=celery_worker,
        what="5 vectors",
    )
    assert not Product.objects.filter(pk__in=[p.pk for p in products], needs_embedding=True).exists()
    log = celery_worker.log()
    assert "recommender.tasks.embed_pending" in log and "recommender.tasks.embed_products" in log


def test_worker_embeds_pending_products_for_the_image_and_the_text_model(
    settings, tiny_text_model, celery_worker
):
    """With RECOMMENDER_TEXT_MODEL set (the tiny CLIP, passed to the worker as env), one sweep
    gives every product a vector of each model."""
    from recommender.embedders import text_model_key

    products = _products(3)
    embed_pending.delay()
    keys = (active_model_key(), text_model_key())
    _wait_for(
        lambda: all(Embedding.objects.filter(model_key=key).count() == 3 for key in keys),
        timeout=120,
        worker=celery_worker,
        what="3 vectors of each model",
    )
    assert not Product.objects.filter(pk__in=[p.pk for p in products], needs_embedding=True).exists()
    assert "fashion-clip" in celery_worker.log()


def test_worker_killed_mid_batch_is_redelivered_without_duplicates(short_visibility, celery_worker):
    products = _products(24)
    ids = [p.pk for p in products]
    embed_products.delay(ids)
    # The model loads inside the task (lazily, in the worker's child): kill the worker
    # as soon as the task has started loading it, before the batch can commit.
    _wait_for(
        lambda: "Loading embedder" in celery_worker.log(), timeout=60, worker=celery_worker, what="the task"
    )
    celery_worker.kill()
    assert Embedding.objects.count() == 0, "the kill must land mid-batch for this test to mean anything"
    time.sleep(VISIBILITY_TIMEOUT + 1)
    celery_worker.restart()
    key = active_model_key()
    _wait_for(
        lambda: Embedding.objects.filter(model_key=key).count() >= 24,
        timeout=120,
        worker=celery_worker,
        what="the redelivered batch",
    )
    # Give a possible duplicate delivery time to run too, then count.
    time.sleep(2)
    per_product = Embedding.objects.filter(model_key=key).values_list("product_id", flat=True)
    assert sorted(per_product) == sorted(ids)  # every product once: none missing, none twice
    assert not Product.objects.filter(pk__in=ids, needs_embedding=True).exists()
