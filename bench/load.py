"""Load benchmark: the production stack on this machine, driven by locust.

    python -m bench.load [--before PATH] [--users 16] [--duration 15] [--no-write]
                         [--pages KIND ...] [--profile DIR]

Starts its own Redis (cache and broker) on a free loopback port and gunicorn with 2 workers
on the production settings (``gunicorn.conf.py`` where the tree has one), on a scratch
database with the demo catalogue embedded with efficientnet-lite0. Then, one page kind at
a time, ``--users`` simulated shoppers request pages back to back for ``--duration``
seconds (after a warm-up that fills the caches, as a running shop has them): the home
page, product pages (24 products in turn), searches with filters, and a Find-similar
result page whose price filter changes on every request (the query's vector is cached).

``--before PATH``: a checkout of older code (``git worktree add /tmp/before REV``) measured
the same way on the same database, in alternation with this tree, so a burst of other work
on the machine hits both alike. The load generator runs on the same cores as the server.

*web CPU* and *database CPU* are the CPU time per request of the gunicorn processes and of
the PostgreSQL backends: unlike requests/s they hardly depend on what else the machine is
busy with, and 2 cores serve at most about 2,000 / (web + database CPU ms) requests/s, less
the load generator's share (*locust CPU*: its own CPU time per request, on the same cores).
A page "not measured" failed its warm-up (e.g. the before tree computed the Find-similar
region inside the web request, past gunicorn's 30 s timeout).
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.common import ROOT, database_url, markdown_table, scratch_database_setup

logger = logging.getLogger("bench.load")
SCRATCH = ROOT / "var" / "bench-load"
DATABASE = "bench_load"
# The mark of a page that waits for a worker and reloads itself.
WAITING = 'http-equiv="refresh"'
PAGES = ("home", "product page", "search with filters", "Find-similar result, filter changed")


@dataclass
class Result:
    page: str
    requests_per_second: float
    p50: float
    p95: float
    p99: float
    failures: int
    requests: int
    # CPU time per request of the gunicorn processes and of the database's backends: what
    # the pages cost, whatever else the shared machine is busy with at the time.
    web_cpu_ms: float = float("nan")
    database_cpu_ms: float = float("nan")
    # The load generator's own CPU time per request (locust runs on the same 2 cores).
    locust_cpu_ms: float = float("nan")


def _cpu_seconds(pids: list[int], reaper: int | None = None) -> dict[int, float]:
    """CPU seconds (user + system) so far of each process that is still there. For
    ``reaper`` (the gunicorn master), under the key ``-reaper``, also the CPU seconds of its
    children that have exited and been waited for: workers that max_requests replaced."""
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        if pid == reaper:
            found[-pid] = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    return found


def _cpu_used(start: dict[int, float], end: dict[int, float]) -> float:
    """CPU seconds between two readings. A process started in between counts from zero. A
    worker that exited in between counts through its master's waited-for children (its whole
    life), less what it had used at the start reading. A database backend that ended in
    between is missed (connections live for minutes, CONN_MAX_AGE)."""
    used = sum(seconds - start.get(pid, 0.0) for pid, seconds in end.items())
    if any(pid < 0 for pid in end):
        used -= sum(seconds for pid, seconds in start.items() if pid > 0 and pid not in end)
    return used


def server_pids(process: subprocess.Popen) -> list[int]:
    """The gunicorn master and its workers."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(process.pid)], capture_output=True, text=True)
    return [process.pid, *(int(pid) for pid in out.stdout.split())]


def database_pids(name: str) -> list[int]:
    """The PostgreSQL backends serving database ``name`` (their process titles name it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if title.startswith("postgres: ") and f" {name} " in title:
                found.append(int(entry.name))
    return found


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited early (code {process.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def catalogue_setup(*, rows: int | None) -> None:
    """The demo catalogue (or its first ``rows`` rows), embedded; nothing if already there."""
    from django.conf import settings

    from shop.models import Product, Source
    from shop.services import catalog_import

    if Product.objects.exists():
        return
    feed = settings.SHOP_DEMO_FEED
    source, _ = Source.objects.get_or_create(
        slug=settings.SHOP_DEMO_SOURCE_SLUG, defaults={"name": "Demo catalogue", "kind": Source.Kind.FEED}
    )
    if rows is not None:
        # The first rows of the feed, with copies of their photos (paths are relative to the feed).
        folder = Path(tempfile.mkdtemp(prefix="bench-load-feed-"))
        with open(feed, newline="") as handle:
            chosen = list(csv.DictReader(handle))[:rows]
        for row in chosen:
            (folder / row["image"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(feed.parent / row["image"], folder / row["image"])
        with open(folder / "feed.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(chosen[0]))
            writer.writeheader()
            writer.writerows(chosen)
        feed = folder / "feed.csv"
    logger.info("Importing and embedding %s", feed)
    report = catalog_import(path=feed, source=source)
    if not report.created:
        raise SystemExit(f"The demo feed imported no products: {report.errors[:3]}")


def paths_prepare() -> dict[str, list[str]]:
    """The URLs of each page kind. Makes a Find-similar upload of a product's photo."""
    from find_similar.models import QueryImage
    from find_similar.uploads import upload_from_product
    from shop.models import Product

    products = list(Product.objects.browsable().order_by("pk").values_list("pk", flat=True)[:24])
    photo = Product.objects.browsable().exclude(image="").order_by("pk").first()
    upload = QueryImage.objects.filter(source_product=photo).first()
    if upload is None:
        upload, _ = upload_from_product(product=photo, client="bench-load")
    upload.refresh_from_db()
    if upload.status != QueryImage.Status.READY:
        raise SystemExit(f"The benchmark's upload is {upload.status}; see the log above.")
    # The before tree may keep uploads under MEDIA_ROOT: a copy there too.
    private = Path(upload.image.path)
    public = Path(os.environ["LOOKALIKE_MEDIA_ROOT"]) / upload.image.name
    public.parent.mkdir(parents=True, exist_ok=True)
    if not public.exists():
        shutil.copyfile(private, public)
    searches = [
        f"/?q={q}&category={c}&price_max={p}"
        for q, c, p in (
            ("shirt", "top", 90000),
            ("jacket", "outer", 200000),
            ("dress", "dress", 150000),
            ("shoes", "shoes", 120000),
            ("pants", "pants", 100000),
            ("bag", "bag", 80000),
        )
    ]
    find_similar = [
        f"/find-similar/{upload.pk}/?f=1&category={photo.category.slug}&price_max={price}"
        for price in range(50000, 250000, 5000)
    ]
    # The garment region's vector, computed here (in-process, as the query worker would)
    # before the run: the run measures the web process answering a changed filter, not a
    # page that waits for a worker. Every filter shares the region.
    from django.test import Client

    response = Client().get(find_similar[0])
    page = response.content.decode()
    if response.status_code != 200 or WAITING in page or "data-fs-result-item" not in page:
        raise SystemExit(f"The Find-similar page has no results to measure (HTTP {response.status_code}).")
    return {
        "home": ["/"],
        "product page": [f"/products/{pk}/" for pk in products],
        "search with filters": searches,
        "Find-similar result, filter changed": find_similar,
    }


def gunicorn_start(
    tree: Path, env: dict, port: int, log: Path, profile: Path | None = None
) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    if profile is not None:
        # cProfile around every request in each worker (bench/gunicorn_profile.py).
        env = {**env, "BENCH_LOAD_PROFILE": str(profile)}
        command += ["--config", str(Path(__file__).with_name("gunicorn_profile.py"))]
    elif (tree / "gunicorn.conf.py").is_file():
        command += ["--config", "gunicorn.conf.py"]
    else:
        command += ["--workers", "2"]
    handle = open(log, "ab")
    # Production serves hashed static file names from the manifest that collectstatic writes.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=tree,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        check=True,
        timeout=300,
    )
    process = subprocess.Popen(
        command, cwd=tree, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    _wait_http(f"http://127.0.0.1:{port}/", 120, process)
    return process


def process_stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def locust_command() -> list[str]:
    """locust from this interpreter (requirements-dev.txt), or else the first ``locust`` on
    PATH: locust pins gevent, which may be kept out of the shop's own environment."""
    import importlib.util

    if importlib.util.find_spec("locust") is not None:
        return [sys.executable, "-m", "locust"]
    binary = shutil.which("locust")
    if binary is None:
        raise SystemExit("locust is missing: pip install -r requirements-dev.txt (or put a locust on PATH)")
    return [binary]


def locust_run(*, host: str, paths: list[str], users: int, seconds: int, folder: Path, label: str) -> Result:
    prefix = folder / label.replace(" ", "-").replace(",", "")
    env = {**os.environ, "BENCH_LOAD_PATHS": "\n".join(paths)}
    command = [
        *locust_command(),
        "-f",
        str(Path(__file__).with_name("locustfile.py")),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{seconds}s",
        "--host",
        host,
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
    ]
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 120)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    locust_seconds = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    try:
        with open(f"{prefix}_stats.csv") as handle:
            row = next(r for r in csv.DictReader(handle) if r["Name"] == "page")
    except (OSError, StopIteration):
        raise SystemExit(
            f"locust measured no {label} request in {seconds} s (exit code {run.returncode}):\n"
            + (run.stderr or run.stdout)[-2000:]
        ) from None
    return Result(
        page=label,
        requests_per_second=float(row["Requests/s"]),
        p50=float(row["50%"]),
        p95=float(row["95%"]),
        p99=float(row["99%"]),
        failures=int(row["Failure Count"]),
        requests=int(row["Request Count"]),
        locust_cpu_ms=1000 * locust_seconds / max(int(row["Request Count"]), 1),
    )


def warm_up(host: str, paths: list[str], rounds: int = 3) -> None:
    """Every URL a few times (each gunicorn worker fills its own caches in older code).

    Stops the benchmark when a page is not the one to measure: an error, or a page that
    waits for a worker and refreshes itself."""
    for _ in range(rounds):
        for path in paths:
            try:
                with urllib.request.urlopen(host + path, timeout=60) as response:
                    body = response.read().decode(errors="replace")
            except OSError as exc:
                raise SystemExit(f"Warm-up {host}{path}: {exc}") from exc
            if WAITING in body:
                raise SystemExit(f"Warm-up {host}{path}: the page waits for a worker; nothing to measure.")


def profile_summary(folder: Path, lines: int = 40) -> None:
    """The functions with the most cumulative and own time over all workers' profiles."""
    import pstats

    files = sorted(str(p) for p in folder.resolve().glob("worker-*.prof"))
    if not files:
        print(f"No profiles in {folder}: the workers did not exit cleanly.")
        return
    stats = pstats.Stats(*files)
    stats.sort_stats("cumulative").print_stats(lines)
    stats.sort_stats("tottime").print_stats(lines)


def redis_start(port: int) -> subprocess.Popen:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is missing: apt-get install -y redis-server")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(0.3)
    return process


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", type=Path, help="a checkout of older code to measure alongside this one")
    parser.add_argument("--users", type=int, default=16, help="simulated shoppers at once (default 16)")
    parser.add_argument(
        "--duration", type=int, default=15, help="seconds per page kind and tree (default 15)"
    )
    parser.add_argument("--rows", type=int, help="import only this many demo products (smoke test)")
    parser.add_argument(
        "--no-write", action="store_true", help="print the table, leave docs/benchmarks.md alone"
    )
    parser.add_argument(
        "--pages", nargs="+", choices=PAGES, default=list(PAGES), help="page kinds to measure (default all)"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="profile this tree's gunicorn workers with cProfile into this folder "
        "(one worker-PID.prof each; profiling slows the pages: implies --no-write)",
    )
    args = parser.parse_args(argv)
    if args.profile:
        args.no_write = True
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    scratch = SCRATCH if args.rows is None else Path(tempfile.mkdtemp(prefix="bench-load-"))
    os.environ.setdefault("LOOKALIKE_MEDIA_ROOT", str(scratch / "media"))
    os.environ.setdefault("LOOKALIKE_PRIVATE_MEDIA_ROOT", str(scratch / "private"))
    os.environ.setdefault("RECOMMENDER_EMBEDDER", "efficientnet-lite0")
    scratch_database_setup(DATABASE)
    from django.conf import settings
    from django.db import connection

    settings.MEDIA_ROOT = Path(os.environ["LOOKALIKE_MEDIA_ROOT"])
    settings.PRIVATE_MEDIA_ROOT = Path(os.environ["LOOKALIKE_PRIVATE_MEDIA_ROOT"])
    settings.RECOMMENDER_EMBEDDER = os.environ["RECOMMENDER_EMBEDDER"]
    catalogue_setup(rows=args.rows)
    paths = paths_prepare()

    redis_port = free_port()
    redis = redis_start(redis_port)
    folder = Path(tempfile.mkdtemp(prefix="bench-load-out-"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LOOKALIKE_DB_NAME"))},
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": database_url(connection.settings_dict),
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "CACHE_URL": f"redis://127.0.0.1:{redis_port}/1",
        "RECOMMENDER_DEMO_FALLBACK": "false",
        # Plain http on loopback: no proxy in front to terminate TLS.
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_COOKIES": "false",
        "WEB_CONCURRENCY": "2",
        "LOG_LEVEL": "WARNING",
    }
    trees = ([("before", args.before.resolve())] if args.before else []) + [("after", ROOT)]
    results: dict[str, list[Result]] = {label: [] for label, _ in trees}
    load_start = os.getloadavg()[0]
    servers = {}
    try:
        for label, tree in trees:
            port = free_port()
            profile = args.profile.resolve() if args.profile and label == "after" else None
            servers[label] = (
                gunicorn_start(tree, env, port, folder / f"gunicorn-{label}.log", profile),
                port,
            )
        for page in args.pages:
            for label, _ in trees:  # in alternation: the same background load on both
                host = f"http://127.0.0.1:{servers[label][1]}"
                try:
                    warm_up(host, paths[page])
                except SystemExit as exc:
                    # Older code may not serve a page at all (the before tree computed the
                    # Find-similar region in the web worker, past gunicorn's timeout): say so.
                    logger.warning("%s %s: not measured: %s", label, page, exc)
                    results[label].append(Result(page, *[float("nan")] * 3, float("nan"), -1, 0))
                    continue
                # Read again at the end: gunicorn replaces a worker after max_requests.
                master = servers[label][0].pid
                web_cpu = _cpu_seconds(server_pids(servers[label][0]), master)
                database_cpu = _cpu_seconds(database_pids(DATABASE))
                result = locust_run(
                    host=host,
                    paths=paths[page],
                    users=args.users,
                    seconds=args.duration,
                    folder=folder,
                    label=f"{label} {page}",
                )
                result.page = page
                if result.requests:
                    used = _cpu_used(web_cpu, _cpu_seconds(server_pids(servers[label][0]), master))
                    result.web_cpu_ms = 1000 * used / result.requests
                    used = _cpu_used(database_cpu, _cpu_seconds(database_pids(DATABASE)))
                    result.database_cpu_ms = 1000 * used / result.requests
                results[label].append(result)
                logger.info(
                    "%s %s: %.1f req/s, p95 %.0f ms", label, page, result.requests_per_second, result.p95
                )
    finally:
        for process, _ in servers.values():
            process_stop(process)
        process_stop(redis)
    load_end = os.getloadavg()[0]

    headers = ["page"]
    for label, _ in trees:
        headers += [
            f"{label} req/s",
            f"{label} p50 ms",
            f"{label} p95 ms",
            f"{label} p99 ms",
            f"{label} failed",
            f"{label} web CPU ms/req",
            f"{label} database CPU ms/req",
            f"{label} locust CPU ms/req",
        ]
    if args.before:
        headers += ["req/s after ÷ before", "web CPU before ÷ after"]
    rows = []
    for i, page in enumerate(args.pages):
        row = [page]
        for label, _ in trees:
            r = results[label][i]
            if r.failures < 0:
                row += ["not measured"] + ["–"] * 7
                continue
            row += [r.requests_per_second, r.p50, r.p95, r.p99, r.failures]
            row += [round(r.web_cpu_ms, 1), round(r.database_cpu_ms, 1), round(r.locust_cpu_ms, 1)]
        if args.before:
            before, after = results["before"][i], results["after"][i]
            row += [
                round(after.requests_per_second / before.requests_per_second, 2)
                if before.failures >= 0 and before.requests_per_second
                else "–",
                round(before.web_cpu_ms / after.web_cpu_ms, 2)
                if before.failures >= 0 and after.web_cpu_ms
                else "–",
            ]
        rows.append(row)
    failures = {label: sum(max(r.failures, 0) for r in results[label]) for label, _ in trees}
    table = markdown_table(headers, rows)
    body = (
        __doc__.split("\n\n", 2)[2].strip()
        + f"\n\n{args.users} users, {args.duration} s per page kind and tree; load average "
        f"{load_start:.1f} at the start, {load_end:.1f} at the end; failed requests: "
        + ", ".join(f"{label} {n}" for label, n in failures.items())
        + ".\n\n"
        + table
    )
    print(body)
    if args.profile:
        profile_summary(args.profile)
    if not args.no_write:
        from bench.report import section_write

        section_write("load", body, packages=("gunicorn", "locust"))
    return table


if __name__ == "__main__":
    main()
