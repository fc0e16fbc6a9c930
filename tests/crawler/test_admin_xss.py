"""Stored XSS through crawled URLs: a crawled javascript: URL is never a link in the admin.

A sitemap entry ``<loc>javascript:...</loc>`` is refused as a URL, but the refusal is logged in
the run's errors with the URL; the crawl-run page rendered it as ``<a href>``, so one staff
click ran the script in a staff session (issue 11 item 6). Real admin pages, real client.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from crawler.models import CrawlRun, Listing
from tests.crawler.factories import CrawlProfileFactory
from tests.shop.factories import ProductFactory

pytestmark = pytest.mark.django_db

HOSTILE = [
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/x",
]


def _hrefs(html: str) -> list[str]:
    return re.findall(r"""href\s*=\s*["']([^"']*)["']""", html)


def _no_script_links(html: str) -> None:
    for href in _hrefs(html):
        lowered = re.sub(r"[\s\x00-\x1f]", "", href).lower()
        assert not lowered.startswith(("javascript:", "data:", "vbscript:", "//evil")), href
    assert "<script>alert(1)</script>" not in html


def test_crawl_run_errors_link_only_http_urls(admin_client):
    source = CrawlProfileFactory(slug="xss-shop")
    run = CrawlRun.objects.create(
        source=source,
        status=CrawlRun.Status.PARTIAL,
        errors=[
            *({"url": url, "reason": "This is not an http(s) URL."} for url in HOSTILE),
            {"url": "https://shop.example/p/1", "reason": "<script>alert(1)</script>"},
        ],
    )

    response = admin_client.get(reverse("admin:crawler_crawlrun_change", args=[run.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    _no_script_links(html)
    # The hostile URLs are still shown (escaped text), so the operator can see what was refused.
    assert "javascript:alert(document.cookie)" in html
    assert "data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # A real http(s) URL stays a link; the reason is escaped.
    assert "https://shop.example/p/1" in _hrefs(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_listing_and_product_admin_pages_link_no_stored_script_url(admin_client):
    """Rows written before URLs were checked (or by hand) must not become links either."""
    product = ProductFactory(
        source=CrawlProfileFactory(),
        product_url="https://shop.example/ok",
        image_url="https://shop.example/ok.jpg",
    )
    from shop.models import Product

    Product.objects.filter(pk=product.pk).update(
        product_url="javascript:alert(1)", image_url="javascript:alert(2)"
    )
    listing = Listing.objects.create(
        product=product,
        source=product.source,
        page_url="javascript:alert(3)",
        image_url="javascript:alert(4)",
    )

    pages = [
        reverse("admin:crawler_listing_changelist"),
        reverse("admin:crawler_listing_change", args=[listing.pk]),
        reverse("admin:shop_product_changelist"),
        reverse("admin:shop_product_change", args=[product.pk]),
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        _no_script_links(response.content.decode())
