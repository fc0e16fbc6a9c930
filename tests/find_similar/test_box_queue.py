"""A new box on a result page is cut out and embedded on the "query" queue with a deadline,
not in the web process (issue 11, item 8): the page shows a waiting state that refreshes
itself (no JavaScript needed), then the results; past the deadline it says so and offers
a retry. Real broker (a private redis-server), and a real worker on the query queue."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from find_similar.models import QueryImage, QueryRegion
from find_similar.uploads import upload_create, upload_segment
from shop.images import image_decode
from tests.config.conftest import PrivateRedis
from tests.find_similar.support import _fresh_rate_limits, scene_jpeg  # noqa: F401
from tests.find_similar.test_broker_outage import broker  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def _ready_upload() -> QueryImage:
    data = scene_jpeg()
    upload, _ = upload_create(decoded=image_decode(data), size_bytes=len(data))
    return upload


def test_a_new_box_is_queued_with_a_deadline_and_the_page_waits_then_gives_up(
    client,
    settings,
    broker,  # noqa: F811
    tmp_path,
    tiny_segmenter,
):
    upload = _ready_upload()  # eager here: segmented (and its default region embedded) in-process
    upload = upload_segment(upload=upload)
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        broker(server.url(0))  # a broker with no worker: the task waits in the queue
        box = f"0,0,{upload.width // 2},{upload.height // 2}"
        page = client.get(upload.get_absolute_url(), {"box": box})
        html = page.content.decode()
        assert page.status_code == 200
        assert f'<meta http-equiv="refresh" content="{settings.FIND_SIMILAR_REFRESH_SECONDS}">' in html
        assert "Cutting out the area you chose" in html
        region = QueryRegion.objects.get(upload=upload, key__startswith="b")
        assert region.status == QueryRegion.Status.PENDING  # the web process did not compute it
        queued = [json.loads(m) for m in redis.Redis.from_url(server.url(0)).lrange("query", 0, -1)]
        assert [m["headers"]["task"] for m in queued] == ["find_similar.tasks.query_region_embed"]
        expires = timezone.datetime.fromisoformat(queued[0]["headers"]["expires"])
        deadline = region.created_at + timedelta(seconds=settings.FIND_SIMILAR_QUERY_DEADLINE)
        assert abs((expires - deadline).total_seconds()) < 2
        # Reloading while it waits queues nothing more.
        client.get(upload.get_absolute_url(), {"box": box})
        assert redis.Redis.from_url(server.url(0)).llen("query") == 1

        QueryRegion.objects.filter(pk=region.pk).update(
            created_at=timezone.now() - timedelta(seconds=settings.FIND_SIMILAR_QUERY_DEADLINE + 1)
        )
        late = client.get(upload.get_absolute_url(), {"box": box})
        html = late.content.decode()
        assert late.status_code == 503
        assert "taking longer than it should" in html and "http-equiv" not in html
        assert "Try again" in html
        assert not QueryRegion.objects.filter(pk=region.pk).exists()  # the retry starts afresh
    finally:
        server.stop()


@pytest.fixture
def worker_segmenter(monkeypatch, tiny_segmenter):
    monkeypatch.setenv("RECOMMENDER_SEGMENTER", str(tiny_segmenter))
    return tiny_segmenter


@pytest.mark.worker
def test_a_worker_on_the_query_queue_computes_the_box_and_the_page_shows_the_results(
    client, worker_segmenter, celery_worker, garment_categories
):
    upload = _ready_upload()
    deadline = time.monotonic() + 90
    while QueryImage.objects.get(pk=upload.pk).status == QueryImage.Status.PENDING:
        assert time.monotonic() < deadline, celery_worker.log()[-3000:]
        time.sleep(0.3)
    upload.refresh_from_db()
    box = f"{upload.width // 4},{upload.height // 4},{upload.width * 3 // 4},{upload.height * 3 // 4}"
    first = client.get(upload.get_absolute_url(), {"box": box})
    assert first.status_code == 200 and 'http-equiv="refresh"' in first.content.decode()
    while True:
        page = client.get(upload.get_absolute_url(), {"box": box})
        if 'http-equiv="refresh"' not in page.content.decode():
            break
        assert time.monotonic() < deadline, celery_worker.log()[-3000:]
        time.sleep(0.5)
    assert page.status_code == 200 and "data-fs-refined" in page.content.decode()
    region = QueryRegion.objects.get(upload=upload, key__startswith="b")
    assert region.status == QueryRegion.Status.READY and region.mask
    log = celery_worker.log()
    assert "find_similar.tasks.query_region_embed" in log and "succeeded" in log
