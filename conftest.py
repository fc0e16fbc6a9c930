"""Shared fixtures: a real Celery worker on Redis, and headless Chromium.

The database is the embedded PostgreSQL + pgvector (or DATABASE_URL); pytest-django
creates the test database on it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("LOOKALIKE_CHROMIUM", "/usr/bin/chromium")
REDIS_URL = os.environ.get("LOOKALIKE_TEST_REDIS", "redis://127.0.0.1:6379")


def _redis_available(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _reset_broker_pools(app) -> None:
    """Drop the app's connection and producer pools so the next task uses the current
    broker_url. Celery's pools live in kombu's global registry: closing one without
    clearing the registry leaves a closed pool there ("Acquire on closed pool")."""
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture(autouse=True)
def _language_reset():
    """Every test starts and ends in the default language. A request to a /ko/ page activates
    Korean in the thread (LocaleMiddleware does not switch back after the response), and
    strings built outside a request in a later test (form errors) then came out in Korean:
    tests/find_similar/test_box_queries.py failed after test_refine_words.py's Korean page."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _garment_categories(request):
    """Every database test starts with the garment categories that migration 0002 seeds.

    pytest-django empties every table after a transactional test (live server, worker),
    seeded rows included, so the next test would find no categories. Seeding at set-up
    (one count query when they are there) does not depend on fixture teardown order.
    """
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    transactional = (marker is not None and marker.kwargs.get("transaction")) or "transactional_db" in names
    if transactional:
        request.getfixturevalue("transactional_db")
    elif marker is not None or "db" in names:
        request.getfixturevalue("db")
    else:
        return
    from shop.garments import GARMENT_KINDS
    from shop.models import Category
    from shop.services import category_seed

    if Category.objects.filter(slug__in=list(GARMENT_KINDS)).count() < len(GARMENT_KINDS):
        category_seed()


@pytest.fixture
def celery_worker_queues() -> str:
    """The queues the test worker consumes; a test overrides this to run the README's
    production split (a queue nobody consumes then shows up as a task never run)."""
    return "default,crawl,embed,query"


@pytest.fixture
def celery_redis_url() -> str:
    """The Redis server (without a database number) the test worker's broker lives on; the
    fault tests override it with a private server they may stop and restart."""
    return REDIS_URL


@pytest.fixture
def celery_worker(settings, transactional_db, celery_worker_queues, celery_redis_url):
    """Start a real `celery worker` process on Redis, pointed at the test database.

    Yields a handle with ``.process``, ``.wait_ready()``, ``.kill()`` (SIGKILL, as a crash),
    ``.restart()``, ``.stop()`` and ``.log()``; tasks queued during the test go
    through the broker to that process (not eagerly in-process). The broker is a Redis
    database of its own (LOOKALIKE_TEST_REDIS_DB, default 15), emptied before and after,
    so concurrent test runs given different numbers do not steal each other's tasks.
    Recommender model settings are passed on (see below); other environment variables set
    (monkeypatch.setenv) before this fixture runs reach the worker too.
    """
    from celery import current_app
    from django.db import connection

    from config.celery_app import app

    # The project's shared tasks publish through the current app. Another Celery() made
    # current by an earlier test would send them to its broker: say so instead of timing out.
    assert current_app._get_current_object() is app, "a test left another Celery app current"
    if not _redis_available(celery_redis_url):
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {celery_redis_url}; .ci/run should start it.")
        pytest.skip(f"Redis is not reachable at {celery_redis_url} (start redis-server to run worker tests).")

    import redis

    broker_url = f"{celery_redis_url}/{int(os.environ.get('LOOKALIKE_TEST_REDIS_DB', '15'))}"
    redis.Redis.from_url(broker_url).flushdb()
    name = f"w{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "CELERY_BROKER_URL": broker_url,
        "LOOKALIKE_DB_NAME": connection.settings_dict["NAME"],
        "LOOKALIKE_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "LOOKALIKE_PRIVATE_MEDIA_ROOT": str(settings.PRIVATE_MEDIA_ROOT),
    }
    for key in ("LOOKALIKE_TEST_MODELS_DIR",):
        if key in os.environ:
            env[key] = os.environ[key]
    # The worker loads the same models as the test: settings changed by fixtures that run
    # before this one (a tiny segmenter directory, a local ResNet50 file) reach it as env.
    for key in (
        "RECOMMENDER_EMBEDDER",
        "RECOMMENDER_RESNET50_WEIGHTS",
        "RECOMMENDER_SEGMENTER",
        "RECOMMENDER_DEVICE",
        "RECOMMENDER_SEGMENT_CATALOGUE",
        "RECOMMENDER_EMBED_BATCH_SIZE",
        "RECOMMENDER_TEXT_MODEL",
        "RECOMMENDER_FASHION_CLIP",
    ):
        if hasattr(settings, key):
            env[key] = str(getattr(settings, key))
    log_path = Path(settings.MEDIA_ROOT) / f"celery-{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "ab")
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "-Q",
        celery_worker_queues,
        "--concurrency",
        "1",
        "--pool",
        "prefork",
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"{name}@%h",
    ]

    def spawn() -> subprocess.Popen:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    saved = {k: app.conf.get(k) for k in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=broker_url, task_always_eager=False)
    _reset_broker_pools(app)

    class Handle:
        """``process`` is the current worker; ``restart()`` starts a fresh one (after a
        ``kill()``, as a supervisor would), on the same broker, database and log."""

        def __init__(self):
            self.log_path = log_path
            self.process = spawn()
            self._log_start = 0

        def log(self) -> str:
            return log_path.read_text(errors="replace")

        def wait_ready(self, timeout: float = 60) -> None:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if "ready." in self.log()[self._log_start :]:
                    return
                if self.process.poll() is not None:
                    raise RuntimeError(f"Celery worker exited early:\n{self.log()}")
                time.sleep(0.2)
            raise TimeoutError(f"Celery worker not ready after {timeout}s:\n{self.log()}")

        def kill(self) -> None:
            """SIGKILL the whole worker (parent and children), as a crash would."""
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)

        def restart(self, timeout: float = 60) -> None:
            self.kill()
            self._log_start = len(self.log())
            self.process = spawn()
            self.wait_ready(timeout)

        def stop(self) -> None:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(30)
                except subprocess.TimeoutExpired:
                    self.kill()

    handle = Handle()
    try:
        handle.wait_ready()
        yield handle
    finally:
        handle.stop()
        log.close()
        app.conf.update(saved)
        _reset_broker_pools(app)
        redis.Redis.from_url(broker_url).flushdb()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not path:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing; .ci/run installs Debian's chromium package.")
        pytest.skip("Chromium is not installed (apt-get install -y chromium) - browser tests need it.")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    """Headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop; Django's async-safety check would
    # otherwise refuse ORM calls made by the test in the same thread.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
