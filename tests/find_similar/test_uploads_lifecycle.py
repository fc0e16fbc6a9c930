"""An upload's life: waiting for garments (refreshing page, timeout), segmentation by a
real Celery worker on the query queue, and deletion after the retention period."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from find_similar.models import QueryImage
from find_similar.tasks import uploads_delete_expired
from find_similar.uploads import upload_create, upload_segment
from shop.images import image_decode
from tests.find_similar.support import _fresh_rate_limits, scene_jpeg  # noqa: F401


def _pending_upload(seed: int = 0) -> QueryImage:
    """Stored and queued, but no worker has picked it up (the on-commit queueing is held back)."""
    data = scene_jpeg(seed)
    upload, created = upload_create(decoded=image_decode(data), size_bytes=len(data), client="c")
    assert created and upload.status == QueryImage.Status.PENDING
    return upload


@pytest.mark.django_db
def test_waiting_page_refreshes_until_ready_then_times_out(client, settings):
    upload = _pending_upload()  # pytest-django's transaction never commits: nothing is queued
    response = client.get(upload.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<meta http-equiv="refresh" content="{settings.FIND_SIMILAR_REFRESH_SECONDS}">' in html
    assert "Looking for garments" in html
    assert f'<img class="fs-waiting-photo" src="/find-similar/{upload.pk}/photo/"' in html

    QueryImage.objects.filter(pk=upload.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.FIND_SIMILAR_SEGMENT_TIMEOUT + 1)
    )
    response = client.get(upload.get_absolute_url())
    assert response.status_code == 503
    html = response.content.decode()
    assert "taking much longer than it should" in html and "http-equiv" not in html
    assert 'href="/find-similar/"' in html  # a way to try again


@pytest.mark.django_db
def test_retention_task_deletes_old_uploads_and_their_files(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    settings.FIND_SIMILAR_RETENTION_DAYS = 30
    old, recent = _pending_upload(0), _pending_upload(1)
    QueryImage.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    QueryImage.objects.filter(pk=recent.pk).update(created_at=timezone.now() - timedelta(days=29))
    old_file, recent_file = Path(old.image.path), Path(recent.image.path)
    assert old_file.exists() and recent_file.exists()

    assert uploads_delete_expired.delay().get() == 1  # eager here: no broker configured

    assert list(QueryImage.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not old_file.exists() and recent_file.exists()
    assert uploads_delete_expired.delay().get() == 0  # idempotent


def test_retention_task_is_scheduled_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["find-similar-uploads-delete-expired"]
    assert entry["task"] == "find_similar.tasks.uploads_delete_expired"
    assert entry["schedule"] == 24 * 60 * 60


@pytest.fixture
def worker_segmenter(monkeypatch, tiny_segmenter):
    """The worker process reads RECOMMENDER_SEGMENTER from its environment."""
    monkeypatch.setenv("RECOMMENDER_SEGMENTER", str(tiny_segmenter))
    return tiny_segmenter


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_segments_uploads_on_the_query_queue(client, worker_segmenter, celery_worker):
    response = client.post(
        "/find-similar/", {"photo": SimpleUploadedFile("s.jpg", scene_jpeg(), "image/jpeg")}
    )
    assert response.status_code == 302
    url = response["Location"]
    deadline = time.monotonic() + 90
    while True:
        page = client.get(url)
        if 'http-equiv="refresh"' not in page.content.decode():
            break
        assert time.monotonic() < deadline, celery_worker.log()
        time.sleep(0.5)
    upload = QueryImage.objects.get()
    assert upload.status == QueryImage.Status.READY and upload.garments, celery_worker.log()
    assert page.status_code == 200 and page.content.decode().count('class="fs-garment') == len(
        upload.garments
    )
    log = celery_worker.log()
    assert "find_similar.tasks.query_segment_upload" in log and "succeeded" in log


@pytest.mark.django_db
def test_admin_lists_uploads_with_thumbnail_garments_choice_and_filters(admin_client, client, tiny_segmenter):
    upload = upload_segment(upload=_pending_upload())
    client.get(upload.get_absolute_url(), {"f": 1, "price_max": "30000", "garment": 0})
    changelist = admin_client.get("/admin/find_similar/queryimage/")
    html = changelist.content.decode()
    assert changelist.status_code == 200
    assert f'<img src="/find-similar/{upload.pk}/photo/"' in html
    upload.refresh_from_db()
    assert upload.garments[0]["kind"] in html and "–30000" in html
    detail = admin_client.get(f"/admin/find_similar/queryimage/{upload.pk}/change/")
    assert detail.status_code == 200 and upload.get_absolute_url() in detail.content.decode()
    assert admin_client.get("/admin/find_similar/queryimage/add/").status_code == 403
