"""schema.org product pages and Shopify storefronts, crawled from the loopback shop."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crawler.services import crawl_run_execute
from shop.models import Product
from tests.crawler.conftest import Reply, png_bytes

pytestmark = pytest.mark.django_db


def products(source):
    return {
        p.external_id: (
            p.title,
            p.price,
            p.currency,
            p.in_stock,
            p.brand.name if p.brand else "",
            p.category_id and p.category.slug,
        )
        for p in Product.objects.filter(source=source).select_related("brand", "category")
    }


@pytest.fixture
def schema_shop(shop_server):
    shop_server.fixture("/sitemap.xml", "sitemap.xml", content_type="application/xml")
    shop_server.fixture("/products/linen-shirt", "product_jsonld.html", headers={"ETag": '"ls-1"'})
    shop_server.fixture("/products/wool-coat", "product_microdata.html")
    shop_server.fixture("/products/og-bag", "product_og.html")
    shop_server.fixture("/products/no-price", "product_no_price.html")
    shop_server.fixture("/products/broken", "product_broken.html")
    shop_server.fixture("/private/hidden-product", "product_jsonld.html")
    return shop_server


def test_sitemap_crawl_reads_json_ld_microdata_and_opengraph(schema_shop, make_source):
    source = make_source("schemaorg", schema_shop.base)  # no start URLs: {base}/sitemap.xml

    run = crawl_run_execute(source_id=source.pk)

    base = schema_shop.base
    assert products(source) == {
        "LS-001": ("Linen Shirt", Decimal("59.00"), "EUR", True, "Atelier Nord", "top"),
        "WC-77": ("Wool Coat", Decimal("129000.00"), "KRW", False, "Maison K", "outer"),
        f"{base}/products/og-bag": ("Canvas Tote Bag", Decimal("24.50"), "GBP", True, "", "bag"),
    }
    shirt = Product.objects.get(external_id="LS-001")
    assert shirt.product_url == f"{base}/products/linen-shirt"  # from <link rel=canonical>
    assert shirt.image_url == f"{base}/img/red.png"  # "../img/red.png" resolved
    assert Product.objects.get(external_id="WC-77").image_url == f"{base}/img/blue.png"
    assert all(p.image for p in Product.objects.all())

    reasons = {e["url"].removeprefix(base): e["reason"] for e in run.errors}
    assert reasons == {
        "/products/no-price": (
            "No price was found on this product page: not in its schema.org data or meta tags, not in "
            "its script data, and no amount next to its title or buy button. If shoppers see a price "
            "there, report the page as an extraction problem."
        ),
        "/products/broken": (
            "This does not look like a product page: it has no schema.org Product, no OpenGraph tags, "
            "no buy button and no price. Check that the source's start URLs lead to product pages."
        ),
        "/products/gone": "The server answered HTTP 404.",
        "/private/hidden-product": "robots.txt does not allow crawling this URL.",
    }
    assert (run.products_new, run.products_failed, run.status) == (3, 4, "partial")
    assert not schema_shop.hits_for("/private/hidden-product")


def test_unchanged_product_pages_are_revalidated_with_conditional_requests(schema_shop, make_source):
    source = make_source("schemaorg", schema_shop.base)
    crawl_run_execute(source_id=source.pk)
    run = crawl_run_execute(source_id=source.pk)
    second = schema_shop.hits_for("/products/linen-shirt")[-1]
    assert second.headers.get("if-none-match") == '"ls-1"'
    assert (run.products_new, run.products_updated, run.products_unchanged) == (0, 0, 3)
    assert Product.objects.count() == 3


def test_listing_pages_relative_links_and_a_next_link_loop(shop_server, make_source):
    shop_server.fixture("/shop/listing1.html", "listing1.html")
    shop_server.fixture("/shop/listing2.html", "listing2.html")
    shop_server.fixture("/shop/products/linen-shirt", "product_jsonld.html")
    shop_server.fixture("/products/og-bag", "product_og.html")
    shop_server.fixture("/shop/products/wool-coat", "product_microdata.html")
    shop_server.route("/shop/img/red.png", body=png_bytes(), content_type="image/png")  # "../img/red.png"
    source = make_source("schemaorg", shop_server.base, start_urls=shop_server.url("/shop/listing1.html"))

    run = crawl_run_execute(source_id=source.pk)

    assert sorted(products(source)) == ["LS-001", "WC-77", f"{shop_server.base}/products/og-bag"]
    assert run.errors == [
        {
            "url": shop_server.url("/shop/listing1.html"),
            "reason": "Pagination loop: this page was already crawled in this run; stopped following it.",
        }
    ]
    # The tracking parameter is dropped: one product, one URL.
    assert shop_server.hits_for("/products/og-bag")
    assert run.pages_fetched == 5  # 2 listings + 3 products


def test_a_product_listed_on_two_pages_is_fetched_once(shop_server, make_source):
    shop_server.route("/l1", body='<a href="/products/og-bag">x</a><a rel="next" href="/l2">next</a>')
    shop_server.route("/l2", body='<a href="/products/og-bag?utm_medium=email">again</a>')
    shop_server.fixture("/products/og-bag", "product_og.html")
    source = make_source("schemaorg", shop_server.base, start_urls=shop_server.url("/l1"))
    run = crawl_run_execute(source_id=source.pk)
    assert len(shop_server.hits_for("/products/og-bag")) == 1
    assert (run.products_new, run.status) == (1, "succeeded")


def test_redirects_are_followed_and_a_redirect_loop_fails_only_that_product(shop_server, make_source):
    shop_server.route(
        "/sitemap.xml",
        body=(
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>{shop_server.base}/p/old-shirt</loc></url>"
            f"<url><loc>{shop_server.base}/p/loop-a</loc></url></urlset>"
        ),
        content_type="application/xml",
    )
    shop_server.route("/p/old-shirt", status=301, headers={"Location": "/products/linen-shirt"})
    shop_server.fixture("/products/linen-shirt", "product_jsonld.html")
    shop_server.route("/p/loop-a", status=302, headers={"Location": "/p/loop-b"})
    shop_server.route("/p/loop-b", status=302, headers={"Location": "/p/loop-a"})
    source = make_source("schemaorg", shop_server.base)

    run = crawl_run_execute(source_id=source.pk)

    assert sorted(products(source)) == ["LS-001"]
    assert run.errors[0]["url"] == shop_server.url("/p/loop-a")
    assert run.errors[0]["reason"].startswith("Redirect loop:")


def test_slow_product_page_times_out_and_the_rest_is_crawled(schema_shop, make_source, settings):
    settings.CRAWLER_MAX_RETRIES = 0
    schema_shop.route("/products/og-bag", Reply(body="late", delay=1.5))
    source = make_source("schemaorg", schema_shop.base)
    run = crawl_run_execute(source_id=source.pk)
    assert sorted(products(source)) == ["LS-001", "WC-77"]
    assert {
        "url": schema_shop.url("/products/og-bag"),
        "reason": "Timed out after 0.5s reading the response.",
    } in run.errors or {
        "url": schema_shop.url("/products/og-bag"),
        "reason": "Timed out after 0.5s waiting for the server.",
    } in run.errors


def test_malformed_sitemap_is_a_failed_page(shop_server, make_source):
    shop_server.route(
        "/sitemap.xml", body="<?xml version='1.0'?><urlset><url><loc>x</url>", content_type="application/xml"
    )
    source = make_source("schemaorg", shop_server.base)
    run = crawl_run_execute(source_id=source.pk)
    assert run.status == "failed" and run.pages_failed == 1
    assert run.errors[0]["reason"].startswith("The sitemap is not well-formed XML")


# --- Shopify ----------------------------------------------------------------------------


@pytest.fixture
def shopify(shop_server, make_source):
    for page in (1, 2, 3):
        shop_server.fixture(
            f"/products.json?limit=2&page={page}", f"shopify_page{page}.json", content_type="application/json"
        )
    return make_source("shopify", shop_server.base, page_size=2, currency="USD")


def test_shopify_products_json_variants_images_and_pagination(shopify, shop_server):
    run = crawl_run_execute(source_id=shopify.pk)

    assert products(shopify) == {
        # cheapest *available* variant
        "7001": ("Relaxed Denim Jeans", Decimal("95.00"), "USD", True, "Blue Mill", "pants"),
        # every variant sold out: kept, marked sold out
        "7002": ("Merino Beanie", Decimal("35.00"), "USD", False, "Blue Mill", "hat"),
    }
    jeans = Product.objects.get(external_id="7001")
    assert jeans.product_url == shop_server.url("/products/relaxed-denim-jeans")
    assert jeans.image_url == shop_server.url("/img/blue.png")  # the first image
    assert Product.objects.get(external_id="7002").image_url == shop_server.url("/img/green.png")
    assert run.errors == [
        {"url": shop_server.url("/products/gift-card"), "reason": "The product has no variant with a price."}
    ]
    assert (run.pages_fetched, run.complete) == (3, True)


def test_shopify_without_a_currency_tells_the_operator_what_to_set(shop_server, make_source):
    source = make_source("shopify", shop_server.base, currency="")
    run = crawl_run_execute(source_id=source.pk)
    assert run.status == "failed"
    assert (
        run.errors[0]["reason"]
        == "Set the source's currency (for example USD): Shopify's products.json has none."
    )


def test_shopify_server_error_page_is_recorded_and_retried(shopify, shop_server):
    shop_server.route("/products.json?limit=2&page=2", status=503, headers={"Retry-After": "0"})
    run = crawl_run_execute(source_id=shopify.pk)
    assert run.errors == [
        {
            "url": shop_server.url("/products.json?limit=2&page=2"),
            "reason": "The server answered HTTP 503 after 3 attempts.".replace("attempts", "attempt(s)"),
        }
    ]
    assert len(shop_server.hits_for("/products.json?limit=2&page=2")) == 3
    assert sorted(products(shopify)) == ["7001", "7002"]


def test_a_sitemap_index_of_gzipped_sitemaps(schema_shop, make_source):
    import gzip

    child = (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{schema_shop.base}/products/linen-shirt</loc></url></urlset>"
    )
    schema_shop.route(
        "/sitemap-products.xml.gz", body=gzip.compress(child.encode()), content_type="application/gzip"
    )
    schema_shop.route(
        "/sitemap_index.xml",
        body=(
            '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            "<sitemap><loc>/sitemap-products.xml.gz</loc></sitemap></sitemapindex>"
        ),
        content_type="application/xml",
    )
    source = make_source("schemaorg", schema_shop.base, start_urls=schema_shop.url("/sitemap_index.xml"))
    run = crawl_run_execute(source_id=source.pk)
    assert sorted(products(source)) == ["LS-001"]
    assert (run.status, run.pages_fetched) == ("succeeded", 3)  # index, child sitemap, product page


def test_a_gzip_bomb_sitemap_fails_that_page(shop_server, make_source, settings):
    import gzip

    settings.CRAWLER_MAX_PAGE_BYTES = 50_000
    shop_server.route("/sitemap.xml", body=gzip.compress(b" " * 5_000_000), content_type="application/gzip")
    source = make_source("schemaorg", shop_server.base)
    run = crawl_run_execute(source_id=source.pk)
    assert run.status == "failed"
    assert run.errors[0]["reason"] == "The unpacked gzip file is too large (over 50,000 bytes)."
