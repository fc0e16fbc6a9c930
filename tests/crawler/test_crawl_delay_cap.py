"""robots.txt Crawl-delay is obeyed up to a cap (issue 11, item 16): "Crawl-delay: 3600"
would turn one run into weeks and hold the crawl worker from every other source, so a
host asking for more than CRAWLER_MAX_CRAWL_DELAY is skipped for the run, and the run's
errors say so once. Its products are not counted as gone."""

from __future__ import annotations

import threading

import pytest

from config.fetching import BlockedURL, Fetcher, FetchError
from crawler.services import crawl_run_execute
from tests.crawler.test_crawl_schemaorg_shopify import schema_shop  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("delay", ["3600", "1e9", "10.5"])
def test_a_crawl_delay_above_the_cap_refuses_the_host_at_once(shop_server, settings, delay):
    settings.CRAWLER_MAX_CRAWL_DELAY = 10
    shop_server.route("/robots.txt", body=f"User-agent: *\nCrawl-delay: {delay}\n", content_type="text/plain")
    shop_server.route("/page", body="<html></html>")
    with pytest.raises(FetchError) as caught:
        Fetcher().get(shop_server.url("/page"))
    assert not isinstance(caught.value, BlockedURL)  # not a refusal: the products are not "gone"
    assert "Crawl-delay" in caught.value.reason and "skipped for this run" in caught.value.reason
    assert not shop_server.hits_for("/page")


def test_a_crawl_delay_within_the_cap_is_obeyed(shop_server, settings):
    settings.CRAWLER_MAX_CRAWL_DELAY = 10
    shop_server.route("/robots.txt", body="User-agent: *\nCrawl-delay: 0.3\n", content_type="text/plain")
    shop_server.route("/page", body="<html></html>")
    fetcher = Fetcher()
    fetcher.get(shop_server.url("/page"))
    fetcher.get(shop_server.url("/page"))
    first, second = shop_server.hits_for("/page")
    assert second.at - first.at >= 0.29


@pytest.mark.django_db(transaction=True)
def test_a_crawl_with_a_huge_crawl_delay_skips_the_host_and_says_so_once(schema_shop, make_source, settings):  # noqa: F811
    schema_shop.route("/robots.txt", body="User-agent: *\nCrawl-delay: 3600\n", content_type="text/plain")
    source = make_source("schemaorg", schema_shop.base)
    done = {}

    def crawl():
        from django.db import connection

        try:
            done["run"] = crawl_run_execute(source_id=source.pk)
        finally:
            connection.close()

    # Inside the test's transaction on this thread would be nicer, but the old behaviour
    # sleeps for an hour: a thread lets the test fail instead of hanging.
    thread = threading.Thread(target=crawl, daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "the crawl is sleeping out the robots.txt Crawl-delay"
    run = done["run"]
    skipped = [e for e in run.errors if "Crawl-delay" in e["reason"]]
    assert len(skipped) == 1, run.errors
    assert "3600" in skipped[0]["reason"] and "skipped for this run" in skipped[0]["reason"]
    assert run.status == "failed" and not run.complete and run.products_inactivated == 0
