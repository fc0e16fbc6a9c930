"""Shoppers' photos are private: kept outside MEDIA_ROOT and served only through their own
unguessable result page's photo view, never from /media/."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from find_similar.uploads import upload_create
from shop.images import image_decode
from tests.find_similar.support import scene_jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture
def upload(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    data = scene_jpeg()
    created, _ = upload_create(decoded=image_decode(data, max_bytes=len(data) + 1), size_bytes=len(data))
    return created


def test_the_photo_is_stored_outside_media_and_has_no_public_url(upload, settings):
    path = Path(upload.image.path)
    assert path.is_file() and Path(settings.PRIVATE_MEDIA_ROOT) in path.parents
    assert not list(Path(settings.MEDIA_ROOT).rglob("*.jpg"))
    with pytest.raises(ValueError, match="no public URL"):
        upload.image.url  # noqa: B018


def test_the_photo_is_served_only_through_its_result_page(client, upload):
    response = client.get(f"/find-similar/{upload.pk}/photo/")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, max-age=3600"
    assert b"".join(response.streaming_content) == Path(upload.image.path).read_bytes()

    # Not under /media/, neither the file nor a listing of its folder.
    assert client.get(f"/media/{upload.image.name}").status_code == 404
    assert client.get("/media/uploads/").status_code == 404
    # An id nobody was given shows nothing.
    assert client.get(f"/find-similar/{uuid.uuid4()}/photo/").status_code == 404
    page = client.get(upload.get_absolute_url()).content.decode()
    assert f"/find-similar/{upload.pk}/photo/" in page


def test_a_photo_deleted_by_retention_is_a_404(client, upload):
    Path(upload.image.path).unlink()
    assert client.get(f"/find-similar/{upload.pk}/photo/").status_code == 404
