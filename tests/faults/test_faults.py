"""Fault injection with real processes (issue 11): Redis stopped and restarted during an
upload and during an embedding batch, a worker SIGKILLed mid-task, the embedded PostgreSQL
restarted during a crawl. Each ends with every product, vector and upload there exactly
once, and the shopper or operator told what happened in words, never a 500.

Redis here is the suite's own server (tests/faults/conftest.py), never the shared one.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from find_similar.models import QueryImage
from find_similar.tasks import uploads_requeue_stale
from recommender.embedders import active_model_key
from recommender.models import Embedding
from recommender.tasks import embed_pending, embed_products
from shop.models import Product
from tests.faults.conftest import postgres_restart
from tests.find_similar.support import scene_jpeg
from tests.shop.factories import ProductFactory, jpeg_bytes

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
# Redis hands an unacknowledged task to another worker after this (a worker killed outright).
VISIBILITY_TIMEOUT = 6


def _wait(predicate, *, timeout: float, worker, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out waiting for {what}. Worker log:\n{worker.log()[-4000:]}")
        time.sleep(0.3)


def _upload(client, seed: int):
    photo = SimpleUploadedFile(f"p{seed}.jpg", scene_jpeg(seed), "image/jpeg")
    return client.post("/find-similar/", {"photo": photo})


def _result_page_ready(client, url: str, *, worker) -> None:
    """The upload's result page, finished: it waits (refreshing itself) while the worker
    detects the garments and embeds the chosen one, then shows the results. Never a 500.
    (The random tiny segmenter may or may not find garments on the photo.)"""
    deadline = time.monotonic() + 120
    while True:
        page = client.get(url)
        html = page.content.decode()
        assert page.status_code == 200, f"{page.status_code}: {html[-3000:]}"
        if 'http-equiv="refresh"' not in html:
            assert "data-fs-result" in html, html[-3000:]
            return
        if time.monotonic() > deadline:
            pytest.fail(f"The result page still waits. Worker log:\n{worker.log()[-4000:]}")
        time.sleep(0.5)


def _reconnected(worker, times: int):
    return lambda: worker.log().count("Connected to redis") >= times


@pytest.fixture
def worker_env(monkeypatch, tiny_segmenter):
    """What the worker process reads from its environment: the tiny segmenter, and a short
    visibility timeout so a task of a killed worker comes back within the test."""
    monkeypatch.setenv("RECOMMENDER_SEGMENTER", str(tiny_segmenter))
    monkeypatch.setenv("CELERY_VISIBILITY_TIMEOUT", str(VISIBILITY_TIMEOUT))


def test_redis_stopped_and_restarted_around_uploads(client, settings, worker_env, fault_redis, celery_worker):
    # Redis down: the shopper is told to try again, and nothing of theirs is kept.
    fault_redis.stop()
    refused = _upload(client, 0)
    assert refused.status_code == 503
    assert "temporarily unavailable" in refused.content.decode()
    assert QueryImage.objects.count() == 0

    # Back: the same photo goes through and is segmented by the worker.
    fault_redis.start()
    _wait(_reconnected(celery_worker, 2), timeout=60, worker=celery_worker, what="the worker to reconnect")
    assert _upload(client, 0).status_code == 302
    _wait(
        lambda: QueryImage.objects.filter(status=QueryImage.Status.READY).count() == 1,
        timeout=90,
        worker=celery_worker,
        what="the first upload",
    )

    # Redis restarted without persistence while a task waited in it: the task is lost. The
    # beat sweep (every 30 s) queues the upload again.
    celery_worker.kill()
    lost = _upload(client, 1)
    assert lost.status_code == 302
    fault_redis.stop()
    fault_redis.start()
    celery_worker.restart()
    upload = QueryImage.objects.get(status=QueryImage.Status.PENDING)
    QueryImage.objects.filter(pk=upload.pk).update(
        updated_at=timezone.now() - timedelta(seconds=settings.FIND_SIMILAR_REQUEUE_SECONDS + 1)
    )
    uploads_requeue_stale.delay()  # what beat sends
    _wait(
        lambda: QueryImage.objects.filter(pk=upload.pk, status=QueryImage.Status.READY).exists(),
        timeout=90,
        worker=celery_worker,
        what="the lost upload to be queued again and segmented",
    )
    assert QueryImage.objects.count() == 2  # none lost, none twice
    _result_page_ready(client, lost["Location"], worker=celery_worker)


@contextmanager
def _rows_locked(table: str, ids: list[int]):
    """Hold row locks on ``ids`` from a session of the test's own, so the worker's batch
    blocks on its first write to them: a point in the middle of the batch the test controls."""
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params) as session:  # one transaction, ended when the block exits
        session.execute(f"SELECT id FROM {table} WHERE id = ANY(%s) FOR UPDATE", [ids])
        yield


def _a_write_waits_on_a_lock() -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


def test_redis_restarted_during_an_embedding_batch(settings, worker_env, fault_redis, celery_worker):
    products = [
        ProductFactory(
            image=ContentFile(jpeg_bytes((10 * i, 90, 200 - 5 * i), size=(64, 64)), name=f"f{i}.jpg"),
            image_sha256=f"f{i}",
            price=Decimal(100 + i),
        )
        for i in range(6)
    ]
    ids = [p.pk for p in products]
    running, waiting = ids[:3], ids[3:]
    with _rows_locked(Product._meta.db_table, running):
        embed_products.delay(running)
        embed_products.delay(waiting)  # behind it in Redis (the worker takes one at a time)
        _wait(
            _a_write_waits_on_a_lock, timeout=120, worker=celery_worker, what="the batch to reach its writes"
        )
        # Mid-batch: Redis goes away and comes back empty (no persistence), the waiting batch
        # with it.
        fault_redis.stop()
        _wait(
            lambda: "Connection to broker lost" in celery_worker.log(),
            timeout=60,
            worker=celery_worker,
            what="the worker to notice",
        )
        fault_redis.start()
    # The running batch finishes its writes; the worker reconnects.
    _wait(_reconnected(celery_worker, 2), timeout=60, worker=celery_worker, what="the worker to reconnect")
    key = active_model_key()
    _wait(
        lambda: Embedding.objects.filter(model_key=key, product_id__in=running).count() == len(running),
        timeout=60,
        worker=celery_worker,
        what="the running batch to finish",
    )
    # Whatever was lost is still marked needs_embedding: the periodic sweep (beat) embeds it.
    embed_pending.delay()
    _wait(
        lambda: (
            not Product.objects.filter(pk__in=ids, needs_embedding=True).exists()
            and Embedding.objects.filter(model_key=key, product_id__in=ids).count() >= len(ids)
        ),
        timeout=120,
        worker=celery_worker,
        what="every product embedded",
    )
    time.sleep(2)  # room for a duplicate delivery to show up
    per_product = sorted(Embedding.objects.filter(model_key=key).values_list("product_id", flat=True))
    assert per_product == sorted(ids)  # one vector per product: none missing, none twice


def test_a_worker_sigkilled_mid_segmentation_finishes_the_upload_once(client, worker_env, celery_worker):
    response = _upload(client, 2)
    assert response.status_code == 302
    _wait(
        lambda: "Loading segmenter" in celery_worker.log(), timeout=60, worker=celery_worker, what="the task"
    )
    celery_worker.kill()  # the whole worker, as a crash or an OOM of the machine would
    upload = QueryImage.objects.get()
    assert upload.status == QueryImage.Status.PENDING, "the kill must land mid-task to mean anything"
    waiting = client.get(response["Location"])
    assert waiting.status_code == 200 and 'http-equiv="refresh"' in waiting.content.decode()
    time.sleep(VISIBILITY_TIMEOUT + 1)
    celery_worker.restart()
    _wait(
        lambda: QueryImage.objects.filter(pk=upload.pk, status=QueryImage.Status.READY).exists(),
        timeout=90,
        worker=celery_worker,
        what="the redelivered segmentation",
    )
    assert QueryImage.objects.count() == 1
    _result_page_ready(client, response["Location"], worker=celery_worker)


# --- The embedded PostgreSQL restarted during a crawl -------------------------------------


def _shopify_pages(shop, pages: int, *, per_page: int = 2, restart_at: int, restart) -> None:
    """``pages`` products.json pages of ``per_page`` products each, then an empty page (the
    end). Asked for page ``restart_at`` the first time, the shop restarts the database
    before answering: the crawler's connection breaks between two pages, wherever the
    crawler is on a loaded machine."""
    from tests.crawler.conftest import Reply

    for page in range(1, pages + 2):
        products = [
            {
                "id": 9000 + page * 10 + i,
                "title": f"Shirt {page}-{i}",
                "handle": f"shirt-{page}-{i}",
                "vendor": "Fault Mill",
                "product_type": "Shirts",
                "images": [{"src": "/img/red.png"}],
                "variants": [{"id": 1, "price": f"{20 + i}.00", "available": True}],
            }
            for i in range(per_page if page <= pages else 0)
        ]
        reply = Reply(body=json.dumps({"products": products}), content_type="application/json")
        replies = [Reply(**{**reply.__dict__, "before": restart}), reply] if page == restart_at else [reply]
        shop.route(f"/products.json?limit={per_page}&page={page}", *replies)


def test_postgres_restarted_during_a_crawl_stops_the_run_cleanly_and_the_task_runs_it_again(
    restartable_postgres, shop_server, make_source, settings
):
    from crawler.models import CrawlRun, Listing
    from crawler.tasks import crawl_source

    # The page that restarts the database is answered once the server is back: wait for it.
    settings.CRAWLER_READ_TIMEOUT = settings.CRAWLER_TOTAL_TIMEOUT = 120
    settings.CRAWLER_DATABASE_WAIT_SECONDS = 120
    pages = 5
    _shopify_pages(shop_server, pages, restart_at=3, restart=lambda: postgres_restart(restartable_postgres))
    source = make_source("shopify", shop_server.base, page_size=2, currency="USD")

    # Eager here: the retry the task asks for runs at once (throw=False lets apply() see it).
    result = crawl_source.apply(args=[source.pk], throw=False)
    assert result.successful(), result.traceback

    first, second = CrawlRun.objects.filter(source=source).order_by("started_at", "id")
    reasons = " ".join(e["reason"] for e in first.errors)
    assert first.status == CrawlRun.Status.INTERRUPTED and not first.complete, first.errors
    assert "The database connection was lost during the run" in reasons
    assert first.products_inactivated == 0
    assert first.products_new == 4  # pages 1 and 2 saved, page 3 not
    assert second.status == CrawlRun.Status.SUCCEEDED and second.complete, second.errors
    ids = list(Product.objects.filter(source=source).values_list("external_id", flat=True))
    assert len(ids) == len(set(ids)) == 2 * pages  # every product, once
    assert Listing.objects.filter(source=source).count() == 2 * pages
