"""Shared pieces of the benchmarks: a scratch database, timers, markdown tables.

Benchmarks never touch the application's own database: `scratch_database_setup` creates
(once) and migrates a database of its own on the same server (the embedded PostgreSQL +
pgvector, or the server in DATABASE_URL), so a benchmark can load a million rows and drop
them again without disturbing the demo catalogue or anyone's tests.
"""

from __future__ import annotations

import logging
import os
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
_SHARED_CC0 = ROOT.parent / "shared" / "data" / "clothing-cc0"
# The full 713 photos where the team's shared data is; else the 290 shipped with the demo.
CC0_DIR = Path(
    os.environ.get(
        "LOOKALIKE_CC0_DIR", _SHARED_CC0 if _SHARED_CC0.is_dir() else ROOT / "demo" / "catalogue" / "images"
    )
)
SCRATCH_DB = "bench_lookalike"


def scratch_database_setup(name: str = SCRATCH_DB, *, migrate: bool = True) -> None:
    """Point Django at the scratch database ``name`` (created if missing), set it up, migrate.

    Each benchmark has its own (bench_lookalike, bench_query, bench_retrieval) so two can
    run at once.
    Must run before anything imports Django models. Settings read LOOKALIKE_DB_NAME to
    pick the database on the same server.
    """
    from django.apps import apps

    if apps.ready:
        # Django is already set up (the smoke tests, under pytest-django): use its database.
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ["LOOKALIKE_DB_NAME"] = name
    import django
    from django.conf import settings

    db = settings.DATABASES["default"]
    import psycopg

    admin = psycopg.connect(
        dbname="postgres",
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
        autocommit=True,
    )
    with admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            logger.info("Creating scratch database %s", name)
            admin.execute(f'CREATE DATABASE "{name}"')
    django.setup()
    # As in production: DEBUG would log every query (time and memory on a million queries).
    settings.DEBUG = False
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)


def database_url(settings_dict: dict, name: str | None = None) -> str:
    """A DATABASE_URL naming the database of ``settings_dict`` (Django's), for a server process
    started beside it; the embedded server listens on a unix socket, given as ?host=."""
    from urllib.parse import quote

    user = settings_dict.get("USER") or "postgres"
    password = settings_dict.get("PASSWORD") or ""
    host = settings_dict.get("HOST") or settings_dict.get("OPTIONS", {}).get("host", "")
    port = settings_dict.get("PORT") or ""
    name = name or settings_dict["NAME"]
    credentials = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    if host.startswith("/"):
        return f"postgres://{credentials}@/{name}?host={host}" + (f"&port={port}" if port else "")
    return f"postgres://{credentials}@{host}{':' + str(port) if port else ''}/{name}"


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else float("nan")


@contextmanager
def stopwatch() -> Iterable[list[float]]:
    """``with stopwatch() as t: ...`` then ``t[0]`` is the elapsed seconds."""
    box: list[float] = []
    start = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - start)


def timed_calls(fn: Callable[[], object], repeat: int) -> list[float]:
    """Call ``fn`` ``repeat`` times; the wall time of each call in milliseconds."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    def cell(value: object) -> str:
        if isinstance(value, float):
            if value != value:  # NaN
                return "–"
            if abs(value) >= 100:
                return f"{value:,.0f}"
            if abs(value) >= 10:
                return f"{value:.1f}"
            return f"{value:.3f}" if abs(value) < 1 else f"{value:.2f}"
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def cc0_photos(limit: int | None = None) -> list[Path]:
    """The CC0 clothing photos (shared/data/clothing-cc0), sorted for repeatable runs."""
    files = sorted(CC0_DIR.rglob("*.jpg"))
    if not files:
        raise SystemExit(
            f"No photos found under {CC0_DIR}. Set LOOKALIKE_CC0_DIR to the clothing-cc0 folder "
            "and run again."
        )
    return files[:limit] if limit else files


def rows_copy(conn, model, rows: list[dict], *, start_id: int = 1) -> list[int]:
    """COPY ``rows`` into ``model``'s table with explicit ids ``start_id``.. (fast, and robust
    to a model that is a migration ahead of the database: only the table's real columns
    are written; columns a row does not give take the model field's default).

    ``conn`` is a psycopg connection (not Django's). Returns the ids.
    """
    from django.db import connection as django_connection
    from django.utils import timezone

    table = model._meta.db_table
    columns = [
        r[0]
        for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
            " ORDER BY ordinal_position",
            [table],
        ).fetchall()
    ]
    fields = {f.column: f for f in model._meta.concrete_fields}
    now = timezone.now()
    ids = list(range(start_id, start_id + len(rows)))
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for pk, row in zip(ids, rows, strict=True):
            values = []
            for column in columns:
                field = fields.get(column)
                if column == "id":
                    value = pk
                elif field is not None and field.attname in row:
                    value = row[field.attname]
                elif column in ("created_at", "updated_at"):
                    value = now
                elif field is not None:
                    value = field.get_default()
                else:
                    value = None
                if field is not None and value is not None and column != "id":
                    value = field.get_db_prep_save(value, django_connection)
                values.append(value)
            copy.write_row(values)
    conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", [max(ids, default=1)])
    return ids
