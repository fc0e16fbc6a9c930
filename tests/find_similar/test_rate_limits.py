"""Rate limits of Find similar behind a reverse proxy (issue 11, item 7): each shopper has
their own budget, and a header a shopper writes cannot buy a fresh one."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from find_similar.models import QueryImage
from tests.find_similar.support import _fresh_rate_limits, scene_jpeg  # noqa: F401

pytestmark = pytest.mark.django_db
URL = "/find-similar/"
PROXY = "10.0.0.2"  # every request reaches the app from the proxy


def _upload(client, seed: int, forwarded: str):
    photo = SimpleUploadedFile(f"p{seed}.jpg", scene_jpeg(seed), "image/jpeg")
    return client.post(URL, {"photo": photo}, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)


def test_upload_rate_limit_behind_a_proxy_is_per_client_and_not_spoofable(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.FIND_SIMILAR_UPLOAD_RATE = "1/m"
    assert _upload(client, 0, "203.0.113.7").status_code == 302
    # Another shopper behind the same proxy still has their own budget.
    assert _upload(client, 1, "198.51.100.4").status_code == 302
    # The first shopper again, now claiming another address in front of the proxy's entry.
    response = _upload(client, 2, "192.0.2.99, 203.0.113.7")
    assert response.status_code == 429
    assert "Please wait a few minutes, then try again." in response.content.decode()
    # The upload log tells the two shoppers apart (a keyed hash of each one's address).
    assert QueryImage.objects.values("client_hash").distinct().count() == 2


def test_without_trusted_proxies_forwarded_for_cannot_buy_a_fresh_budget(client, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.FIND_SIMILAR_UPLOAD_RATE = "1/m"
    assert _upload(client, 0, "203.0.113.7").status_code == 302
    assert _upload(client, 1, "198.51.100.4").status_code == 429
