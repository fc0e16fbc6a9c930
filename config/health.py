"""Liveness and readiness for load balancers and container health checks.

``/healthz``: the process is up and answering (no I/O at all, so a slow database never
gets a healthy web process restarted). ``/readyz``: it can serve pages, as JSON with each
check's state and time: the database, the broker the tasks go to, the shared cache, and
the weights of the active model; 503 when any fails, so a load balancer stops sending
traffic until it recovers.

Answered by a middleware at the top of the stack, before host validation and the HTTPS
redirect: a probe comes over plain http to the container's own address.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

# Seconds a check may take before it counts as failed: a probe must answer well within the
# orchestrator's own timeout (compose.yaml waits 5 s).
CHECK_TIMEOUT_SECONDS = 1.0


def check_database() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def check_broker() -> str:
    url = settings.CELERY_BROKER_URL
    scheme = urlsplit(url).scheme
    if settings.CELERY_TASK_ALWAYS_EAGER or scheme == "memory":
        return "tasks run in-process (no broker)"
    if scheme in ("redis", "rediss"):
        import redis

        client = redis.Redis.from_url(
            url, socket_connect_timeout=CHECK_TIMEOUT_SECONDS, socket_timeout=CHECK_TIMEOUT_SECONDS
        )
        try:
            client.ping()
        finally:
            client.close()
        return "ok"
    from kombu import Connection

    with Connection(url, connect_timeout=CHECK_TIMEOUT_SECONDS) as connection:
        connection.ensure_connection(max_retries=1)
    return "ok"


def check_cache() -> str:
    """The shared cache answers (django-redis would hide an outage as cache misses)."""
    from django.core.cache import cache

    client_of = getattr(cache, "client", None)
    if client_of is None:
        return "per-process memory cache"
    client = client_of.get_client(write=False)
    client.ping()
    return "ok"


def check_model_weights() -> str:
    """The configured embedders' weights are on disk (files only: nothing is loaded): the image
    model, and the text model when RECOMMENDER_TEXT_MODEL names one."""
    from recommender.embedders import embedder_spec

    names = [
        settings.RECOMMENDER_EMBEDDER,
        *([settings.RECOMMENDER_TEXT_MODEL] if settings.RECOMMENDER_TEXT_MODEL else []),
    ]
    for name in names:
        if not embedder_spec(name).weights_ready():
            raise RuntimeError(f"the weights of {name} are missing; run `python manage.py fetch_models`")
    return ", ".join(names)


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "broker": check_broker,
    "cache": check_cache,
    "model_weights": check_model_weights,
}


def readiness_report(*, checks: dict[str, Callable[[], str]] | None = None) -> tuple[bool, dict]:
    """Run every check; returns (all passed, {name: {state, detail, seconds}})."""
    report = {}
    healthy = True
    for name, check in (checks or CHECKS).items():
        start = time.perf_counter()
        try:
            detail, state = check(), "ok"
        except Exception as exc:  # a probe reports every failure, it never raises
            detail, state = f"{type(exc).__name__}: {exc}", "error"
            healthy = False
            logger.warning("Readiness check %s failed: %s", name, detail)
        report[name] = {"state": state, "detail": detail, "seconds": round(time.perf_counter() - start, 4)}
    return healthy, report


def healthz(request) -> HttpResponse:
    return HttpResponse(b"ok\n", content_type="text/plain")


def readyz(request) -> JsonResponse:
    healthy, report = readiness_report()
    body = {"status": "ok" if healthy else "unavailable", "checks": report}
    return JsonResponse(body, status=200 if healthy else 503, json_dumps_params={"indent": 1})


ROUTES = {"/healthz": healthz, "/readyz": readyz}


class HealthCheckMiddleware:
    """Answers GET/HEAD /healthz and /readyz before anything else looks at the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = ROUTES.get(request.path_info.rstrip("/"))
        if view is None or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        response = view(request)
        response["Cache-Control"] = "no-store"
        return response
