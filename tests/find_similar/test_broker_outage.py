"""The task broker down or silent, or a task lost, during an upload (issue 11, item 13).

The shopper gets "temporarily unavailable, try again" (503), never a 500 or a hung
request; a pending upload whose task never ran does not trap the shopper (the duplicate
check skips it once timed out, and a beat sweep queues it again); the segmentation task
expires when the waiting page has given up. Real brokers: a private redis-server, a port
nobody listens on, and a socket that accepts and never answers.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from config.celery_app import app
from conftest import _reset_broker_pools
from find_similar.models import QueryImage
from find_similar.uploads import upload_create
from shop.images import image_decode
from tests.config.conftest import PrivateRedis, free_port
from tests.find_similar.support import _fresh_rate_limits, scene_jpeg  # noqa: F401

URL = "/find-similar/"
UNAVAILABLE = "temporarily unavailable"


@pytest.fixture
def broker(settings):
    """Point the Celery app at a broker URL the test chooses (not eager), then restore it."""
    saved = {k: app.conf.get(k) for k in ("broker_url", "task_always_eager")}

    def use(url: str) -> None:
        app.conf.update(broker_url=url, task_always_eager=False)
        _reset_broker_pools(app)

    yield use
    app.conf.update(saved)
    _reset_broker_pools(app)


@pytest.fixture
def silent_broker():
    """A TCP server that accepts connections and never says a word (a hung Redis, a
    half-open firewall): without socket timeouts a client waits for ever."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    accepted = []

    def accept():
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    server.close()
    for conn in accepted:
        conn.close()


def _post(client, seed: int = 0):
    photo = SimpleUploadedFile(f"p{seed}.jpg", scene_jpeg(seed), "image/jpeg")
    return client.post(URL, {"photo": photo})


def _nothing_kept(settings) -> bool:
    folder = Path(settings.PRIVATE_MEDIA_ROOT) / "uploads"
    return QueryImage.objects.count() == 0 and not (folder.exists() and any(folder.rglob("*.jpg")))


@pytest.mark.django_db(transaction=True)
def test_upload_with_the_broker_down_is_a_503_and_nothing_is_kept(client, settings, broker, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    broker(f"redis://127.0.0.1:{free_port()}/0")  # nobody listens: connection refused
    response = _post(client)
    assert response.status_code == 503
    html = response.content.decode()
    assert UNAVAILABLE in html and "try again" in html
    assert 'enctype="multipart/form-data"' in html  # the form is right there to try again
    assert _nothing_kept(settings)


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_never_answers_cannot_hang_an_upload(client, settings, broker, silent_broker, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    broker(silent_broker)
    outcome = {}

    def upload():
        from django.db import connection

        started = time.monotonic()
        try:
            outcome["response"] = _post(client)
            outcome["seconds"] = time.monotonic() - started
        finally:
            connection.close()  # this thread's own connection, or the test database stays in use

    worker = threading.Thread(target=upload, daemon=True)
    worker.start()
    worker.join(30)
    assert not worker.is_alive(), "the upload request hung on a broker that never answers"
    assert outcome["response"].status_code == 503 and UNAVAILABLE in outcome["response"].content.decode()
    assert outcome["seconds"] < 15, outcome["seconds"]
    assert _nothing_kept(settings)


@pytest.mark.django_db
def test_a_timed_out_pending_upload_is_left_out_of_the_duplicate_check(client, settings):
    data = scene_jpeg()
    first = _post(client)
    assert first.status_code == 302
    stuck = QueryImage.objects.get()
    # Its task was lost: still pending long after the waiting page gave up.
    QueryImage.objects.filter(pk=stuck.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.FIND_SIMILAR_SEGMENT_TIMEOUT + 1)
    )
    second = client.post(URL, {"photo": SimpleUploadedFile("again.jpg", data, "image/jpeg")})
    assert second.status_code == 302 and second["Location"] != first["Location"]
    assert QueryImage.objects.count() == 2
    # While it is still within its time, the same photo is the same upload (a double submit).
    third = client.post(URL, {"photo": SimpleUploadedFile("again.jpg", data, "image/jpeg")})
    assert third["Location"] == second["Location"]


@pytest.mark.django_db
def test_the_beat_sweep_queues_stale_pending_uploads_again(settings, tiny_segmenter):
    """A task lost with the broker (Redis restarted without persistence): the sweep, which
    beat runs every FIND_SIMILAR_REQUEUE_SECONDS... finds the upload and queues it again."""
    from find_similar.tasks import uploads_requeue_stale

    entry = settings.CELERY_BEAT_SCHEDULE["find-similar-uploads-requeue-stale"]
    assert entry["task"] == "find_similar.tasks.uploads_requeue_stale"
    data = scene_jpeg()
    lost, _ = upload_create(decoded=image_decode(data), size_bytes=len(data), client="a")
    fresh, _ = upload_create(decoded=image_decode(scene_jpeg(1)), size_bytes=len(data), client="b")
    QueryImage.objects.filter(pk=lost.pk).update(
        updated_at=timezone.now() - timedelta(seconds=settings.FIND_SIMILAR_REQUEUE_SECONDS + 1)
    )
    assert uploads_requeue_stale.apply().get() == 1  # eager: segmented right here
    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert lost.status == QueryImage.Status.READY
    assert fresh.status == QueryImage.Status.PENDING  # its task may still be on its way
    assert uploads_requeue_stale.apply().get() == 0


@pytest.mark.django_db(transaction=True)
def test_the_segmentation_task_expires_when_the_waiting_page_gives_up(client, settings, broker, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    redis_server = PrivateRedis(tmp_path)
    redis_server.start()
    try:
        broker(redis_server.url(0))
        assert _post(client).status_code == 302
        upload = QueryImage.objects.get()
        import redis

        queued = redis.Redis.from_url(redis_server.url(0)).lrange("query", 0, -1)
        assert len(queued) == 1
        headers = json.loads(queued[0])["headers"]
        assert headers["task"] == "find_similar.tasks.query_segment_upload"
        expires = timezone.datetime.fromisoformat(headers["expires"])
        deadline = upload.created_at + timedelta(seconds=settings.FIND_SIMILAR_SEGMENT_TIMEOUT)
        assert abs((expires - deadline).total_seconds()) < 2
    finally:
        redis_server.stop()


# --- The same kind elsewhere: every place that queues a task from a request or a command ---


@pytest.mark.django_db(transaction=True)
def test_admin_actions_with_the_broker_down_say_so_instead_of_a_500(admin_client, broker, garment_categories):
    from crawler.models import CrawlProfile
    from shop.models import Product
    from tests.shop.factories import ProductFactory

    product = ProductFactory(needs_embedding=False)
    source = CrawlProfile.objects.create(name="Shop", slug="shop-x", kind=CrawlProfile.Kind.SHOPIFY)
    broker(f"redis://127.0.0.1:{free_port()}/0")

    response = admin_client.post(
        "/admin/shop/product/", {"action": "reindex_selected", "_selected_action": [product.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "The task queue is unavailable right now" in response.content.decode()
    assert Product.objects.get(pk=product.pk).needs_embedding  # marked: the sweep embeds it later

    response = admin_client.post(
        "/admin/crawler/crawlprofile/", {"action": "crawl_now", "_selected_action": [source.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "0 of 1 crawls were queued. Please try again in a minute." in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_an_import_with_the_broker_down_imports_and_leaves_embedding_to_the_sweep(
    broker, tmp_path, garment_categories, caplog
):
    from shop.models import Product, Source
    from shop.services import catalog_import
    from tests.shop.factories import jpeg_bytes

    (tmp_path / "a.jpg").write_bytes(jpeg_bytes())
    feed = tmp_path / "feed.csv"
    feed.write_text("external_id,title,category,price,image\nA1,Shirt,top,12900,a.jpg\n")
    source = Source.objects.create(name="Feed", slug="feed-x")
    broker(f"redis://127.0.0.1:{free_port()}/0")
    report = catalog_import(path=feed, source=source)
    assert report.created == 1 and report.images_stored == 1 and not report.errors
    assert Product.objects.get(external_id="A1").needs_embedding
    assert "the periodic sweep will" in caplog.text
