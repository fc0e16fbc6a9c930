"""Adapter details that need no server: prices, currencies, categories, odd markup."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crawler.models import CrawlProfile
from crawler.sources import ParseError, adapter_for
from crawler.sources.base import category_guess, price_parse, url_canonical
from tests.crawler.conftest import FIXTURES


@pytest.mark.parametrize(
    ("raw", "hint", "expected"),
    [
        ("₩12,900", "", (Decimal("12900.00"), "KRW")),
        ("12.900,50 €", "", (Decimal("12900.50"), "EUR")),
        ("59.00", "usd", (Decimal("59.00"), "USD")),
        (27300, "", (Decimal("27300.00"), "")),
        ("£24.50", "EUR", (Decimal("24.50"), "GBP")),  # the text's own symbol wins
    ],
)
def test_price_parse(raw, hint, expected):
    assert price_parse(raw, currency_hint=hint) == expected


@pytest.mark.parametrize("raw", [None, "", "call us", -5, True])
def test_price_parse_refuses_missing_and_nonsense(raw):
    with pytest.raises(ParseError):
        price_parse(raw)


@pytest.mark.parametrize(
    ("texts", "slug"),
    [
        (("Jeans", "Relaxed Denim"), "pants"),
        (("", "Oxford dress shirt"), "top"),
        (("", "Shirt dress in linen"), "dress"),
        (("", "오버핏 반팔 티셔츠"), "top"),
        (("", "Leather belt bag"), "bag"),
        (("", "Gift card"), ""),
    ],
)
def test_category_guess(texts, slug):
    assert category_guess(*texts) == slug


def test_url_canonical_drops_tracking_and_sorts_the_query():
    assert (
        url_canonical("https://Shop.example/p/1?utm_source=x&b=2&a=1#reviews")
        == "https://shop.example/p/1?a=1&b=2"
    )


def test_product_group_offers_come_from_its_variants():
    source = CrawlProfile(kind="schemaorg", currency="")
    data = adapter_for("schemaorg").parse_detail(
        url="https://shop.example/products/skirt",
        text=(FIXTURES / "product_group.html").read_text(),
        source=source,
    )
    assert (data.title, data.price, data.currency, data.brand, data.category) == (
        "Pleated Midi Skirt",
        Decimal("89.00"),
        "USD",
        "Studio Ame",
        "skirt",
    )
    assert data.in_stock is True  # size M can be bought
    assert data.image_url == "https://cdn.example/img/skirt.jpg"


def test_feed_sources_are_not_crawled():
    with pytest.raises(ValueError, match="feed importer"):
        adapter_for("feed")


def test_the_cheapest_available_offer_is_the_price():
    html = """<script type="application/ld+json">{"@type": "Product", "name": "Wool Scarf", "offers": [
      {"@type": "Offer", "price": "30.00", "priceCurrency": "EUR", "availability": "https://schema.org/SoldOut"},
      {"@type": "Offer", "price": "45.00", "priceCurrency": "EUR", "availability": "https://schema.org/InStock"},
      {"@type": "Offer", "price": "n/a", "priceCurrency": "EUR"}]}</script>"""
    data = adapter_for("schemaorg").parse_detail(
        url="https://s.example/p/1", text=html, source=CrawlProfile()
    )
    assert (data.price, data.currency, data.in_stock, data.category) == (
        Decimal("45.00"),
        "EUR",
        True,
        "scarf",
    )
