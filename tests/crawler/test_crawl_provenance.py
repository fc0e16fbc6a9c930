"""Crawled product pages keep where each field came from; unsure prices are flagged for the
admin, and pages without a price are reported one by one with the reason."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from crawler.models import Listing
from crawler.services import crawl_run_execute
from shop.models import Product
from tests.crawler.extract_pages import page, product_block

pytestmark = pytest.mark.django_db

STRUCTURED = page(
    product_block("<p>€ 59,00</p>"),
    head='<script type="application/ld+json">'
    + json.dumps(
        {
            "@type": "Product",
            "name": "Relaxed Linen Shirt",
            "sku": "LS-1",
            "offers": {"@type": "Offer", "price": "59.00", "priceCurrency": "EUR"},
        }
    )
    + "</script>",
)
# Two amounts next to the title and nothing to tell which is the price: read, but unsure.
AMBIGUOUS = page(product_block("<p>€ 49,00</p><p>€ 64,00</p>"), title="Wool Coat")
CLEAR = page(product_block('<p class="product-price">€ 49,00</p>'), title="Wool Coat")
SOLD_OUT = page(product_block("<p class='stock'>Sold out</p>", button=""), title="Silk Scarf")


@pytest.fixture
def pages_shop(shop_server):
    urls = "".join(
        f"<url><loc>{shop_server.base}/p/{name}</loc></url>" for name in ("shirt", "coat", "scarf")
    )
    shop_server.route(
        "/sitemap.xml",
        body=f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>',
        content_type="application/xml",
    )
    shop_server.route("/p/shirt", body=STRUCTURED)
    shop_server.route("/p/coat", body=AMBIGUOUS)
    shop_server.route("/p/scarf", body=SOLD_OUT)
    return shop_server


def listing(title: str) -> Listing:
    return Listing.objects.select_related("product").get(product__title=title)


def test_field_sources_and_the_unsure_price_flag_are_stored(pages_shop, make_source):
    source = make_source("schemaorg", pages_shop.base)

    run = crawl_run_execute(source_id=source.pk)

    shirt = listing("Relaxed Linen Shirt")
    assert (shirt.price_source, shirt.price_unsure, shirt.price_confidence) == ("jsonld", False, 0.95)
    assert shirt.field_sources["price"] == {
        "source": "jsonld",
        "confidence": 0.95,
        "rule": "schema.org Offer price",
    }
    coat = listing("Wool Coat")
    assert (coat.product.price, coat.price_source, coat.price_unsure) == (Decimal("49.00"), "dom", True)
    assert coat.price_confidence < 0.6
    assert coat.field_sources["availability"]["rule"] == "the buy button can be pressed"
    # The page without a price is no product, and the run says why, for that page.
    assert not Product.objects.filter(title="Silk Scarf").exists()
    assert run.errors == [
        {
            "url": f"{pages_shop.base}/p/scarf",
            "reason": "No price was found: the page shows the product as sold out without a price.",
        }
    ]


def test_a_price_read_surely_on_the_next_crawl_clears_the_flag(pages_shop, make_source):
    source = make_source("schemaorg", pages_shop.base)
    crawl_run_execute(source_id=source.pk)
    assert listing("Wool Coat").price_unsure

    pages_shop.route("/p/coat", body=CLEAR)
    crawl_run_execute(source_id=source.pk)

    assert (listing("Wool Coat").price_unsure, listing("Wool Coat").price_source) == (False, "dom")


def test_the_admin_shows_and_filters_unsure_prices(pages_shop, make_source, admin_client):
    source = make_source("schemaorg", pages_shop.base)
    crawl_run_execute(source_id=source.pk)

    listings = admin_client.get("/admin/crawler/listing/?price_unsure__exact=1")
    assert listings.status_code == 200
    assert "Wool Coat" in listings.text and "Relaxed Linen Shirt" not in listings.text
    assert "price needs checking" in listings.text.lower()

    products = admin_client.get("/admin/shop/product/?listing__price_unsure__exact=1")
    assert products.status_code == 200
    assert "Wool Coat" in products.text and "Relaxed Linen Shirt" not in products.text

    detail = admin_client.get(f"/admin/crawler/listing/{listing('Wool Coat').pk}/change/")
    assert detail.status_code == 200
    assert "the buy button can be pressed" in detail.text
