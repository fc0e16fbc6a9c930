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
CC0_DIR = Path(os.environ.get("LOOKALIKE_CC0_DIR", ROOT.parent / "shared" / "data" / "clothing-cc0"))
SCRATCH_DB = "bench_lookalike"


def scratch_database_setup(name: str = SCRATCH_DB, *, migrate: bool = True) -> None:
    """Point Django at the scratch database ``name`` (created if missing), set it up, migrate.

    Must run before anything imports Django models. Settings read LOOKALIKE_DB_NAME to
    pick the database on the same server.
    """
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
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)


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
    files = sorted(CC0_DIR.glob("*/*/*.jpg"))
    if not files:
        raise SystemExit(
            f"No photos found under {CC0_DIR}. Set LOOKALIKE_CC0_DIR to the clothing-cc0 folder "
            "and run again."
        )
    return files[:limit] if limit else files
