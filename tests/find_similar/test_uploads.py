"""Bad uploads get a friendly message and a 4xx, never a 500, and nothing is stored;
awkward but valid photos (animated GIF, CMYK, EXIF-rotated) are handled."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from find_similar.models import QueryImage
from tests.find_similar.support import _fresh_rate_limits, jpeg, scene_jpeg  # noqa: F401

pytestmark = pytest.mark.django_db
URL = "/find-similar/"


@pytest.fixture(autouse=True)
def _own_media_root(settings, tmp_path):
    """Media and upload folders per test, so "nothing stored" sees only this test's files."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


def _post(client, data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    return client.post(URL, {"photo": SimpleUploadedFile(name, data, content_type)})


def _nothing_stored(settings) -> bool:
    uploads = Path(settings.PRIVATE_MEDIA_ROOT) / "uploads"
    return QueryImage.objects.count() == 0 and not (uploads.exists() and any(uploads.rglob("*.jpg")))


def _bomb_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid 1-bit PNG of 20,000 × 20,000 pixels that compresses to ~60 KB."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\x00" + b"\x00" * (width // 8)
    raw = zlib.compress(row * height, 9)
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("empty", lambda: b"", "The file is empty"),
        ("text named .jpg", lambda: b"Hello, this is not a photo at all.\n" * 20, "not an image we can read"),
        ("truncated JPEG", lambda: scene_jpeg()[:4000], "damaged or incomplete"),
        ("20,000 x 20,000 PNG bomb", _bomb_png, "far too many pixels"),
    ],
)
def test_bad_files_are_refused_with_a_message_and_nothing_is_stored(client, settings, name, make, message):
    response = _post(client, make())
    assert response.status_code == 400, name
    assert message in response.content.decode(), name
    assert _nothing_stored(settings)


@pytest.mark.parametrize("csrf_checked", [False, True])
def test_a_file_over_the_size_limit_is_refused_while_it_is_read(settings, csrf_checked):
    data = scene_jpeg()
    settings.UPLOAD_MAX_BYTES = 20_000
    assert len(data) > 2 * settings.UPLOAD_MAX_BYTES
    client = Client(enforce_csrf_checks=csrf_checked)
    token = {}
    if csrf_checked:  # the real browser path: the token precedes the file in the form
        client.get(URL)
        token = {"csrfmiddlewaretoken": client.cookies["csrftoken"].value}
    response = client.post(URL, {**token, "photo": SimpleUploadedFile("big.jpg", data, "image/jpeg")})
    assert response.status_code == 413
    assert "The file is too large. Please use a photo under" in response.content.decode()
    assert _nothing_stored(settings)


def test_the_form_also_checks_the_size(settings):
    """With Django's default upload handlers only, the form refuses big files itself."""
    data = scene_jpeg()
    settings.UPLOAD_MAX_BYTES = len(data) - 1
    settings.FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]
    response = _post(Client(), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "too large" in html and "Please use a photo under" in html
    assert _nothing_stored(settings)


def test_no_file_at_all_asks_for_one(client, settings):
    response = client.post(URL, {})
    assert response.status_code == 400
    assert "Please choose a photo to upload." in response.content.decode()
    assert _nothing_stored(settings)


def _stored(upload: QueryImage) -> Image.Image:
    with upload.image.open("rb") as fh:
        image = Image.open(fh)
        image.load()
    return image


def test_animated_gif_uses_its_first_frame(client, tiny_segmenter, django_capture_on_commit_callbacks):
    frames = [Image.new("RGB", (120, 90), colour) for colour in ((220, 20, 20), (20, 20, 220), (20, 220, 20))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, buffer.getvalue(), "dance.gif", "image/gif")
    assert response.status_code == 302
    stored = _stored(QueryImage.objects.get())
    red, green, blue = np.asarray(stored.convert("RGB")).reshape(-1, 3).mean(axis=0)
    assert red > 180 and blue < 60  # the first (red) frame
    assert client.get(response["Location"]).status_code == 200


def test_cmyk_jpeg_is_converted_to_rgb(client, tiny_segmenter, django_capture_on_commit_callbacks):
    cmyk = Image.new("CMYK", (100, 80), (0, 255, 255, 0))  # pure red in CMYK
    buffer = io.BytesIO()
    cmyk.save(buffer, "JPEG", quality=95)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, buffer.getvalue())
    assert response.status_code == 302
    stored = _stored(QueryImage.objects.get())
    assert stored.mode == "RGB"
    red, green, blue = np.asarray(stored).reshape(-1, 3).mean(axis=0)
    assert red > 200 and green < 60 and blue < 60


def test_exif_rotated_phone_photo_is_stored_and_searched_upright(
    client, settings, tiny_segmenter, django_capture_on_commit_callbacks
):
    # The sensor's landscape frame: red on the left, blue on the right. EXIF orientation 6 says
    # "rotate 90° clockwise to view": upright it is portrait, red on top, blue below.
    sensor = Image.new("RGB", (300, 200), (20, 20, 220))
    sensor.paste((220, 20, 20), (0, 0, 150, 200))
    exif = Image.Exif()
    exif[0x0112] = 6
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, jpeg(sensor, exif=exif.tobytes()))
    assert response.status_code == 302
    upload = QueryImage.objects.get()
    assert (upload.width, upload.height) == (200, 300)
    pixels = np.asarray(_stored(upload))
    assert pixels[40, 100, 0] > 180 and pixels[260, 100, 2] > 180  # red on top, blue at the bottom
    assert "exif" not in _stored(upload).info  # no metadata (GPS!) kept from the phone
    # The search crops the upright photo: a box over the top half (on the 1/32 grid boxes are
    # snapped to) is all red.
    client.get(response["Location"], {"box": "0,0,200,150"})
    upload.refresh_from_db()
    assert upload.chosen["box"] == [0, 0, 200, 150]


def test_csrf_is_enforced(settings):
    client = Client(enforce_csrf_checks=True)
    response = _post(client, scene_jpeg())
    assert response.status_code == 403
    assert "Please go back, reload the page, and send the form again." in response.content.decode()
    assert _nothing_stored(settings)


def test_uploads_are_rate_limited_per_client(
    client, settings, tiny_segmenter, django_capture_on_commit_callbacks
):
    settings.FIND_SIMILAR_UPLOAD_RATE = "2/m"
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(client, scene_jpeg(0)).status_code == 302
        assert _post(client, scene_jpeg(1)).status_code == 302
        response = _post(client, scene_jpeg(2))
    assert response.status_code == 429
    assert "Please wait a few minutes, then try again." in response.content.decode()
    assert QueryImage.objects.count() == 2
    # Another client is not affected.
    other = client.post(
        URL, {"photo": SimpleUploadedFile("p.jpg", scene_jpeg(2), "image/jpeg")}, REMOTE_ADDR="10.0.0.9"
    )
    assert other.status_code == 302
    # Reading results is never limited.
    assert client.get(URL).status_code == 200


def test_the_same_photo_twice_is_stored_once(client, tiny_segmenter, django_capture_on_commit_callbacks):
    data = scene_jpeg()
    with django_capture_on_commit_callbacks(execute=True):
        first = _post(client, data)
        second = _post(client, data)
    assert first["Location"] == second["Location"]
    assert QueryImage.objects.count() == 1
