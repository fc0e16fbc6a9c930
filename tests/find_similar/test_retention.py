"""Retention of shoppers' photos (issue 11, item 14): the task runs on a queue the README's
production workers consume, a deleted upload (retention or admin) takes its photo file
with it, the file goes first, and a file that cannot be deleted keeps its row for a retry."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from config.celery_app import app
from find_similar.models import QueryImage
from find_similar.tasks import uploads_delete_expired
from find_similar.uploads import upload_create
from shop.images import image_decode
from tests.find_similar.support import scene_jpeg

README = Path(django_settings.BASE_DIR) / "README.md"


def _documented_queues() -> set[str]:
    """Queues of the production worker commands in the README ("-Q crawl", "-Q embed,query")."""
    text = README.read_text()
    section = text[text.index("**Workers**") :]
    section = section[: section.index("\n- **")]
    return {q for match in re.findall(r"-Q ([\w,]+)", section) for q in match.split(",")}


def _upload(seed: int, *, days_old: int = 0) -> QueryImage:
    data = scene_jpeg(seed)
    upload, _ = upload_create(decoded=image_decode(data), size_bytes=len(data), client=f"c{seed}")
    if days_old:
        QueryImage.objects.filter(pk=upload.pk).update(created_at=timezone.now() - timedelta(days=days_old))
    return upload


def test_every_task_is_routed_to_a_queue_the_documented_workers_consume():
    queues = _documented_queues()
    assert queues >= {"crawl", "embed", "query"}, queues
    ours = sorted(
        n for n in app.tasks if n.split(".")[0] in ("shop", "recommender", "crawler", "find_similar", "looks")
    )
    assert "find_similar.tasks.uploads_delete_expired" in ours
    for name in ours:
        route = app.amqp.router.route({}, name)
        assert route["queue"].name in queues, f"{name} goes to {route['queue'].name!r}, which no worker reads"


@pytest.mark.django_db
def test_deleting_uploads_in_the_admin_deletes_their_photos(admin_client):
    one, two, three = _upload(0), _upload(1), _upload(2)
    paths = [Path(u.image.path) for u in (one, two, three)]
    assert all(p.is_file() for p in paths)
    response = admin_client.post(f"/admin/find_similar/queryimage/{one.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not paths[0].exists()
    response = admin_client.post(
        "/admin/find_similar/queryimage/",
        {"action": "delete_selected", "_selected_action": [two.pk, three.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert QueryImage.objects.count() == 0
    assert not paths[1].exists() and not paths[2].exists()


@pytest.mark.django_db
def test_retention_deletes_the_file_first_and_keeps_the_row_of_a_file_it_could_not_delete(settings):
    settings.FIND_SIMILAR_RETENTION_DAYS = 30
    plain, stuck = _upload(0, days_old=31), _upload(1, days_old=31)
    plain_path, stuck_path = Path(plain.image.path), Path(stuck.image.path)
    # A real failure to delete (even as root): a non-empty directory where the photo was.
    stuck_path.unlink()
    stuck_path.mkdir()
    (stuck_path / "blocker").write_text("x")

    assert uploads_delete_expired.apply().get() == 1  # the plain one; the stuck one is retried
    assert not plain_path.exists() and not QueryImage.objects.filter(pk=plain.pk).exists()
    assert QueryImage.objects.filter(pk=stuck.pk).exists(), "a row whose file is still there must stay"

    (stuck_path / "blocker").unlink()  # the disk is fixed; the next run finishes the job
    assert uploads_delete_expired.apply().get() == 1
    assert not stuck_path.exists() and QueryImage.objects.count() == 0


@pytest.fixture
def celery_worker_queues():
    """Only the README's production workers: "-Q crawl" and "-Q embed,query"."""
    return ",".join(sorted(_documented_queues()))


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_production_workers_delete_expired_photos(settings, garment_categories, celery_worker):
    old = _upload(0, days_old=settings.FIND_SIMILAR_RETENTION_DAYS + 1)
    recent = _upload(1)
    old_path = Path(old.image.path)
    uploads_delete_expired.delay()
    deadline = time.monotonic() + 60
    while QueryImage.objects.filter(pk=old.pk).exists() or old_path.exists():
        assert time.monotonic() < deadline, f"the photo is still there:\n{celery_worker.log()[-3000:]}"
        time.sleep(0.3)
    assert QueryImage.objects.filter(pk=recent.pk).exists() and Path(recent.image.path).is_file()
