"""One shopper's path in real headless Chromium: browse, filter by price, open a product."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.shop.factories import ProductFactory, category, jpeg_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_browse_filter_by_price_and_open_a_product(live_server, page):
    from django.core.files.base import ContentFile

    for i, (title, price) in enumerate(
        [("Rain jacket", 89000), ("Oxford shirt", 39000), ("Wide jeans", 59000), ("Bucket hat", 19000)]
    ):
        ProductFactory(
            title=title,
            price=Decimal(price),
            category=category("top"),
            image=ContentFile(jpeg_bytes((60 * i, 120, 200), size=(80, 100)), name=f"b{i}.jpg"),
        )

    page.goto(f"{live_server.url}/")
    cards = page.locator(".product-grid .card")
    assert cards.count() == 4
    assert page.locator("details.filters-panel").get_attribute("open") is not None  # unfolded by shop.js

    page.get_by_label("From", exact=True).fill("30000")
    page.get_by_label("To", exact=True).fill("60000")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**price_min=30000**")
    titles = sorted(cards.locator(".card-title").all_inner_texts())
    assert titles == ["Oxford shirt", "Wide jeans"]
    assert page.get_by_role("status").filter(has_text="products").inner_text().strip() == "2 products"

    page.get_by_role("link", name="Wide jeans").click()
    page.wait_for_url("**/products/*/")
    assert page.get_by_role("heading", level=1).inner_text() == "Wide jeans"
    assert page.locator(".product-price").inner_text() == "₩59,000"
    image = page.locator(".product-image img")
    assert image.evaluate("img => img.complete && img.naturalWidth") == 80  # the stored photo was served
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith(
        "-apple-system"
    )  # CSS served
