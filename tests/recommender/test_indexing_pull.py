"""Indexing is pulled, not pushed (issue 12): a producer only marks products needs_embedding
and announces it (shop.signals.products_marked); the recommender subscribes itself
(recommender/receivers.py) and queues the embedding sweep. Eager Celery, as the other
indexing tests; the crawl through a real worker is tests/crawler/test_worker_integration.py."""

from __future__ import annotations

import csv
import logging

import pytest

from recommender.embedders import active_model_key
from recommender.models import Embedding
from shop.feeds import COLUMNS
from shop.models import Product
from shop.services import catalog_import
from shop.signals import products_marked
from tests.find_similar.test_broker_outage import broker  # noqa: F401  (fixture)
from tests.shop.factories import SourceFactory, jpeg_bytes

pytestmark = pytest.mark.django_db


def _feed(folder, colours) -> str:
    (folder / "img").mkdir(exist_ok=True)
    rows = []
    for i, colour in enumerate(colours):
        (folder / "img" / f"p{i}.jpg").write_bytes(jpeg_bytes(colour, size=(60, 80)))
        rows.append(
            {"external_id": f"P{i}", "title": f"Shirt {i}", "category": "top", "price": "1000",
             "image": f"img/p{i}.jpg"}
        )  # fmt: skip
    path = folder / "feed.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_an_import_marks_and_the_recommender_embeds(tmp_path, django_capture_on_commit_callbacks):
    source = SourceFactory(slug="pull-test")
    heard = []

    def listen(sender, **kwargs):
        heard.append((sender, kwargs["source"]))

    products_marked.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            report = catalog_import(path=_feed(tmp_path, [(200, 30, 30), (30, 30, 200)]), source=source)
    finally:
        products_marked.disconnect(listen)
    assert report.images_stored == 2
    assert heard == [("shop.import", source)]  # one announcement per import, after commit
    # The recommender heard it too and queued embed_pending (run in-process here).
    key = active_model_key()
    assert Embedding.objects.filter(product__source=source, model_key=key).count() == 2
    assert not Product.objects.filter(source=source).needing_embedding().exists()


def test_nothing_is_announced_when_no_image_changed(tmp_path, django_capture_on_commit_callbacks):
    source = SourceFactory(slug="pull-again")
    path = _feed(tmp_path, [(30, 160, 30)])
    with django_capture_on_commit_callbacks(execute=True):
        catalog_import(path=path, source=source)
    with django_capture_on_commit_callbacks(execute=True) as again:
        catalog_import(path=path, source=source)
    assert again == []


def test_with_the_broker_down_the_marks_stay_for_the_sweep(
    tmp_path,
    django_capture_on_commit_callbacks,
    broker,  # noqa: F811
    caplog,
):
    source = SourceFactory(slug="pull-down")
    broker("redis://127.0.0.1:1/0")  # nobody listens on port 1
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        report = catalog_import(path=_feed(tmp_path, [(230, 210, 40)]), source=source)
    assert report.created == 1 and report.failed == 0  # the import itself succeeds
    assert Product.objects.filter(source=source).needing_embedding().count() == 1
    assert not Embedding.objects.filter(product__source=source).exists()
    assert "pull-down: marked products were not queued for embedding now" in caplog.text
