"""The production profile end to end, with real processes: gunicorn on the production
settings and the test database, a Celery worker per queue group as compose.yaml runs them,
all on a Redis of the test's own. A loopback shop is crawled and its products embedded by the
workers; a shopper uploads a photo through the web app and gets results; /readyz turns
unhealthy while that Redis is stopped and healthy again once it is back."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from crawler.sources.musinsa import MusinsaAdapter
from tests.config.conftest import free_port
from tests.crawler.conftest import LoopbackShop, png_bytes
from tests.find_similar.support import scene_jpeg

pytestmark = [pytest.mark.worker, pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parents[2]
# The workers as compose.yaml starts them (the heartbeat file per worker added here).
WORKERS = {
    "crawl": ["-Q", "crawl", "--concurrency", "2"],
    "inference": ["-Q", "embed,query", "--concurrency", "1"],
}


class Processes:
    def __init__(self, folder: Path):
        self.folder = folder
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], env: dict) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "ab")
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.running[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{self.log(name)[-3000:]}" for name in self.running)

    def stop_all(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def wait_for(condition, *, timeout: float, what: str, processes: Processes):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"Timed out waiting for {what}.\n{processes.logs()}")


@pytest.fixture
def loopback_shop():
    shop = LoopbackShop()
    shop.thread.start()
    shop.route("/robots.txt", body="User-agent: *\nAllow: /\n", content_type="text/plain")
    listing = {"data": {"list": [], "pagination": {"page": 1, "size": 4, "totalPages": 1, "hasNext": False}}}
    for i, colour in enumerate([(200, 30, 30), (30, 30, 200), (30, 160, 60), (220, 200, 40)]):
        shop.route(f"/img/{i}.png", body=png_bytes(colour, size=(64, 80)), content_type="image/png")
        listing["data"]["list"].append(
            {
                "goodsNo": 9100 + i,
                "goodsName": f"Crawled top {i}",
                "brandName": "Loopback",
                "price": 10000 + 1000 * i,
                "thumbnail": f"{shop.base}/img/{i}.png",
                "goodsLinkUrl": f"{shop.base}/goods/{9100 + i}",
                "isSoldOut": False,
            }
        )
    path = MusinsaAdapter.page_url(base="", category="001", page=1, size=4)
    shop.route(path, body=json.dumps(listing), content_type="application/json")
    yield shop
    shop.server.shutdown()
    shop.server.server_close()


@pytest.fixture
def stack(production_env, private_redis, tmp_path, transactional_db):
    env = {
        **production_env,
        # Plain http on loopback, no proxy in front: the HTTPS redirect and secure-only cookies
        # would stop the test client (check --deploy covers them in test_production_settings).
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_COOKIES": "false",
        "CRAWLER_ALLOW_LOOPBACK": "true",
        "CRAWLER_EMBED_AFTER_RUN": "true",
        "CRAWLER_BACKOFF_BASE": "0.01",
        # Flat-colour test photos are far apart in the model's space: show every result.
        "RECOMMENDER_MAX_DISTANCE": "2.0",
        "WEB_CONCURRENCY": "2",
    }
    processes = Processes(tmp_path)
    collect = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collect.returncode == 0, collect.stderr
    port = free_port()
    processes.start(
        "web",
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "-c",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        env,
    )
    heartbeats = {}
    for name, queues in WORKERS.items():
        heartbeats[name] = tmp_path / f"heartbeat-{name}"
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            *queues,
            "-n",
            f"{name}@%h",
            "-l",
            "INFO",
        ]
        processes.start(
            f"worker-{name}", command, {**env, "LOOKALIKE_WORKER_HEARTBEAT_FILE": str(heartbeats[name])}
        )
    base = f"http://127.0.0.1:{port}"

    def healthz():
        try:
            return requests.get(base + "/healthz", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_for(healthz, timeout=120, what="gunicorn", processes=processes)
        for name, path in heartbeats.items():
            wait_for(path.exists, timeout=120, what=f"the {name} worker's heartbeat", processes=processes)
        yield {
            "base": base,
            "env": env,
            "processes": processes,
            "redis": private_redis,
            "heartbeats": heartbeats,
        }
    finally:
        processes.stop_all()


def test_production_stack_crawls_embeds_searches_and_reports_readiness(stack, loopback_shop):
    from celery import Celery

    from crawler.models import CrawlProfile
    from find_similar.models import QueryImage
    from recommender.models import Embedding

    base, processes = stack["base"], stack["processes"]

    # Ready: database, broker, cache and weights, each with its time.
    ready = requests.get(base + "/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    assert {check["state"] for check in ready.json()["checks"].values()} == {"ok"}

    # A crawl queued as the admin's "Crawl now" queues it, taken by the crawl worker; the run
    # queues embedding, taken by the inference worker.
    source = CrawlProfile.objects.create(
        name="Loopback shop",
        slug="loopback",
        kind=CrawlProfile.Kind.MUSINSA,
        base_url=loopback_shop.base,
        start_urls="001",
        page_size=4,
        pages_per_run=1,
        rate_limit=50,
    )
    # A client app of its own, never made the current app: the project's shared tasks would
    # bind to it and publish to this stack's broker for the rest of the run.
    with Celery(broker=stack["env"]["CELERY_BROKER_URL"], set_as_current=False) as broker:
        broker.send_task("crawler.tasks.crawl_source", args=[source.pk], queue="crawl")
    wait_for(
        lambda: Embedding.objects.filter(product__source=source).count() == 4,
        timeout=300,
        what="the crawled products' embeddings",
        processes=processes,
    )
    assert "crawler.tasks.crawl_source" in processes.log("worker-crawl")
    assert "recommender.tasks.embed_products" in processes.log("worker-inference")

    # A shopper uploads a photo; the inference worker finds the garments; results come back.
    session = requests.Session()
    form = session.get(base + "/find-similar/", timeout=30)
    assert form.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    posted = session.post(
        base + "/find-similar/",
        data={"csrfmiddlewaretoken": token},
        files={"photo": ("street.jpg", scene_jpeg(), "image/jpeg")},
        headers={"Referer": base + "/find-similar/"},
        allow_redirects=False,
        timeout=60,
    )
    assert posted.status_code == 302, posted.text[:2000]
    result_url = base + posted.headers["Location"]

    def answered(url):
        # The page waits for the query worker (garment detection, then the chosen region's
        # vector) and refreshes itself until the work is done.
        page = session.get(url, timeout=60)
        assert page.status_code == 200, page.text[:2000]
        return page if 'http-equiv="refresh"' not in page.text else None

    wait_for(lambda: answered(result_url), timeout=180, what="garment detection", processes=processes)
    page = wait_for(
        lambda: answered(result_url + "?f=1&whole=1"),
        timeout=180,
        what="the whole photo's vector",
        processes=processes,
    )
    assert page.text.count("data-fs-result-item") == 4 and "Crawled top" in page.text
    upload = QueryImage.objects.get()
    assert upload.status == QueryImage.Status.READY
    assert "find_similar.tasks.query_segment_upload" in processes.log("worker-inference")
    assert "find_similar.tasks.query_region_embed" in processes.log("worker-inference")
    photo = session.get(f"{base}/find-similar/{upload.pk}/photo/", timeout=30)
    assert photo.status_code == 200 and photo.headers["Content-Type"] == "image/jpeg"
    assert session.get(f"{base}/media/{upload.image.name}", timeout=30).status_code == 404

    # JSON logs with the request id the response carried.
    assert page.headers["X-Request-ID"] in processes.log("web")
    json.loads(next(line for line in processes.log("web").splitlines() if '"request_id"' in line))

    # Both workers are alive by their heartbeat files.
    for path in stack["heartbeats"].values():
        assert time.time() - path.stat().st_mtime < 60

    # Redis goes away: not ready (broker and cache), pages still answer; back: ready again.
    stack["redis"].stop()
    down = requests.get(base + "/readyz", timeout=10)
    assert down.status_code == 503
    assert down.json()["checks"]["broker"]["state"] == "error"
    assert down.json()["checks"]["database"]["state"] == "ok"
    assert requests.get(base + "/", timeout=30).status_code == 200
    stack["redis"].start()
    wait_for(
        lambda: requests.get(base + "/readyz", timeout=10).status_code == 200,
        timeout=30,
        what="readiness after Redis came back",
        processes=processes,
    )
