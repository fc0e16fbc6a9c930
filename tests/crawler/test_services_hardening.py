"""Crawl bookkeeping that must hold for years of scheduled runs and for hostile shop data."""

from __future__ import annotations

import json

import pytest

from crawler.models import MISSED_RUNS_MAX, Listing
from crawler.services import crawl_run_execute
from shop.models import Product
from tests.crawler.conftest import FIXTURES
from tests.crawler.test_crawl_musinsa import page_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def musinsa(shop_server, make_source):
    shop_server.fixture(page_path(1), "musinsa_page1.json", content_type="application/json")
    shop_server.fixture(page_path(2), "musinsa_page2.json", content_type="application/json")
    return make_source("musinsa", shop_server.base, start_urls="001", page_size=3)


def test_missed_runs_saturates_instead_of_overflowing(musinsa, shop_server):
    """Issue 11 item 5: a product gone for ~114 days on a 5-minute schedule reached 32767
    misses, and the next complete run failed with "smallint out of range"."""
    crawl_run_execute(source_id=musinsa.pk)
    data = json.loads((FIXTURES / "musinsa_page2.json").read_text().replace("{base}", shop_server.base))
    data["data"]["list"].pop()  # "Pocket Tee" (3012349) leaves the shop
    shop_server.route(page_path(2), body=json.dumps(data), content_type="application/json")
    Listing.objects.filter(product__external_id="3012349").update(missed_runs=MISSED_RUNS_MAX)

    run = crawl_run_execute(source_id=musinsa.pk)

    assert run.status == "partial" and run.complete, run.errors  # partial: one product has no price
    assert not any("out of range" in e["reason"] for e in run.errors)
    gone = Product.objects.select_related("listing").get(external_id="3012349")
    assert gone.listing.missed_runs == MISSED_RUNS_MAX
    assert not gone.is_active
    assert run.products_inactivated == 1


def test_inactivate_after_missed_runs_cannot_exceed_the_saturated_count(make_source):
    """A threshold above the cap would never be reached: the admin form refuses it."""
    from django.core.exceptions import ValidationError

    source = make_source("musinsa", "https://shop.example", start_urls="001")
    source.inactivate_after_missed_runs = MISSED_RUNS_MAX + 1
    with pytest.raises(ValidationError) as caught:
        source.full_clean()
    assert "inactivate_after_missed_runs" in caught.value.message_dict


def test_overlong_crawled_fields_fail_that_product_with_a_reason_and_the_run_goes_on(musinsa, shop_server):
    """Issue 11 item 4 in the crawler: a URL longer than its column (2,000 characters) is reported
    for that product; the others are stored. (Adapters already shorten titles and brands.)"""
    data = json.loads((FIXTURES / "musinsa_page1.json").read_text().replace("{base}", shop_server.base))
    tee, hoodie = data["data"]["list"][0], data["data"]["list"][1]
    tee["thumbnail"] = f"{shop_server.base}/img/" + "r" * 2010 + ".png"
    hoodie["goodsLinkUrl"] = "https://www.musinsa.com/products/" + "9" * 2010
    shop_server.route(page_path(1), body=json.dumps(data), content_type="application/json")

    run = crawl_run_execute(source_id=musinsa.pk)

    assert run.status == "partial"
    assert set(Product.objects.values_list("external_id", flat=True)) == {"3012348", "3012349"}
    reasons = [e["reason"] for e in run.errors]
    assert any("image URL is longer than 2000 characters" in r for r in reasons), reasons
    assert any("product_url is longer than 2000 characters" in r for r in reasons), reasons
    assert not any("value too long" in r for r in reasons), reasons
    assert run.products_failed == 3  # the two above and the fixture's product without a price
