"""A task that kills its worker is not redelivered for ever (issue 11, item 16): after
CELERY_TASK_MAX_DELIVERIES starts it is given up and its product marked failed, with a
reason, so the periodic sweep does not queue it again either. Real worker, real SIGKILLs
of the pool process running the task (what the kernel's OOM killer does)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from recommender.tasks import embed_products
from shop.models import Product
from tests.shop.factories import ProductFactory, jpeg_bytes

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("garment_categories"),
]
MAX_DELIVERIES = 2


@pytest.fixture
def few_deliveries(monkeypatch):
    monkeypatch.setenv("CELERY_TASK_MAX_DELIVERIES", str(MAX_DELIVERIES))


def pool_children(parent: int) -> list[int]:
    """Pids whose parent is ``parent`` (the prefork pool under the worker's main process)."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                children.append(int(entry.name))
    return children


def _wait(predicate, *, timeout: float, worker, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out waiting for {what}. Worker log:\n{worker.log()[-4000:]}")
        time.sleep(0.2)


def test_a_task_that_keeps_killing_its_worker_is_given_up_and_marked_failed(few_deliveries, celery_worker):
    product = ProductFactory(image=ContentFile(jpeg_bytes(size=(64, 64)), name="p.jpg"), image_sha256="p")
    embed_products.delay([product.pk])
    for delivery in range(1, MAX_DELIVERIES + 1):
        _wait(
            lambda n=delivery: celery_worker.log().count("Loading embedder") >= n,
            timeout=90,
            worker=celery_worker,
            what=f"delivery {delivery}",
        )
        for pid in pool_children(celery_worker.process.pid):  # the task's process dies mid-task
            os.kill(pid, signal.SIGKILL)
    _wait(
        lambda: Product.objects.filter(pk=product.pk, needs_embedding=False).exists(),
        timeout=90,
        worker=celery_worker,
        what="the task to be given up",
    )
    product.refresh_from_db()
    assert "stopped the worker" in product.image_error, product.image_error
    log = celery_worker.log()
    assert f"started {MAX_DELIVERIES + 1} times" in log
    time.sleep(3)  # and nothing more: no further delivery, no model loaded again
    assert celery_worker.log().count("Loading embedder") == MAX_DELIVERIES
