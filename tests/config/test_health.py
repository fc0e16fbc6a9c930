"""/healthz and /readyz, and the request id on responses and log lines."""

from __future__ import annotations

import json
import logging

import pytest

from config.request_id import RequestIdFilter


def test_healthz_answers_without_touching_the_database(client, settings):
    # No django_db mark: pytest-django fails any query. The probe comes over plain http to the
    # container's own address, which is not an allowed host.
    settings.ALLOWED_HOSTS = ["shop.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200 and response.content == b"ok\n"
    assert response["Cache-Control"] == "no-store"


@pytest.fixture
def redis_backed(settings, private_redis):
    """Broker and cache on the test's own Redis (stopping it leaves the shared one alone)."""
    settings.CELERY_BROKER_URL = private_redis.url(0)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": private_redis.url(1),
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5, "IGNORE_EXCEPTIONS": True},
        }
    }
    return private_redis


@pytest.mark.django_db
def test_readyz_reports_each_check_and_turns_unhealthy_while_redis_is_down(client, redis_backed):
    response = client.get("/readyz")
    body = json.loads(response.content)
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "cache", "model_weights"}
    for check in body["checks"].values():
        assert check["state"] == "ok" and 0 <= check["seconds"] < 1

    redis_backed.stop()
    response = client.get("/readyz")
    body = json.loads(response.content)
    assert response.status_code == 503 and body["status"] == "unavailable"
    assert body["checks"]["broker"]["state"] == "error" and "Connection" in body["checks"]["broker"]["detail"]
    assert body["checks"]["cache"]["state"] == "error"
    assert body["checks"]["database"]["state"] == "ok"

    redis_backed.start()
    response = client.get("/readyz")
    assert response.status_code == 200, response.content


@pytest.mark.django_db
def test_readyz_fails_when_the_active_models_weights_are_missing(client, settings, tmp_path):
    settings.RECOMMENDER_EMBEDDER = "resnet50"
    settings.RECOMMENDER_RESNET50_WEIGHTS = str(tmp_path / "absent.pth")
    response = client.get("/readyz")
    body = json.loads(response.content)
    assert response.status_code == 503
    assert body["checks"]["model_weights"]["state"] == "error"
    assert "fetch_models" in body["checks"]["model_weights"]["detail"]


@pytest.mark.django_db
def test_every_response_carries_a_request_id_that_log_lines_share(client, settings, caplog):
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep()
    handler.addFilter(RequestIdFilter())
    logging.getLogger("django.request").addHandler(handler)
    try:
        response = client.get("/no-such-page/")
    finally:
        logging.getLogger("django.request").removeHandler(handler)
    request_id = response["X-Request-ID"]
    assert response.status_code == 404 and len(request_id) == 32
    assert records and records[0].request_id == request_id  # "Not Found: /no-such-page/"

    # A client's own id is not taken on trust...
    response = client.get("/", HTTP_X_REQUEST_ID="client-chosen")
    assert response["X-Request-ID"] != "client-chosen"
    # ...but a trusted proxy's is, if it looks like an id.
    settings.TRUSTED_PROXY_COUNT = 1
    assert client.get("/", HTTP_X_REQUEST_ID="lb-1234")["X-Request-ID"] == "lb-1234"
    assert client.get("/", HTTP_X_REQUEST_ID='bad"id')["X-Request-ID"] != 'bad"id'
