"""Only http(s) URLs from feeds and crawls are stored and linked (issue 11 item 6)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shop.links import url_is_http
from shop.models import Product
from shop.services import ProductData, ProductRejected, product_upsert
from tests.shop.factories import ProductFactory, SourceFactory

SCRIPT_URLS = [
    "javascript:alert(document.cookie)",
    "JAVASCRIPT:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "\x01javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "//evil.example/x",
    "/relative/path",
    "https://",
    "http://[::1",
]


@pytest.mark.parametrize("url", SCRIPT_URLS)
def test_url_is_http_refuses_script_and_relative_urls(url):
    assert not url_is_http(url)


@pytest.mark.parametrize(
    "url", ["https://shop.example/p/1?x=1#y", "HTTP://SHOP.EXAMPLE/", "https://샵.example/옷"]
)
def test_url_is_http_accepts_absolute_http_urls(url):
    assert url_is_http(url)


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["product_url", "image_url"])
def test_product_upsert_stores_only_http_urls(field):
    source = SourceFactory(slug="links")
    data = ProductData(
        external_id="x1", title="Tee", price=Decimal("1000"), currency="KRW", **{field: "javascript:alert(1)"}
    )
    with pytest.raises(ProductRejected, match="is not an http\\(s\\) address"):
        product_upsert(source=source, data=data)
    assert not Product.objects.exists()


@pytest.mark.django_db
def test_product_page_links_only_an_http_shop_url(client):
    safe = ProductFactory(product_url="https://shop.example/p/safe")
    stored = ProductFactory()  # a row stored before URLs were checked
    Product.objects.filter(pk=stored.pk).update(product_url="javascript:alert(document.cookie)")

    html = client.get(safe.get_absolute_url()).content.decode()
    assert 'href="https://shop.example/p/safe"' in html

    response = client.get(stored.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert "javascript:" not in html
    assert "View at" not in html  # no shop link at all rather than a dangerous one


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_no_script_link_on_the_product_page_in_chromium(live_server, page):
    stored = ProductFactory()
    Product.objects.filter(pk=stored.pk).update(product_url="javascript:document.title='pwned'")

    page.goto(f"{live_server.url}{stored.get_absolute_url()}")

    protocols = page.eval_on_selector_all("a[href]", "links => links.map(a => a.protocol)")
    assert protocols and set(protocols) <= {"http:", "https:"}
    assert page.locator("a[href^='javascript' i]").count() == 0
    assert page.title() != "pwned"
