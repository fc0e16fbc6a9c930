"""A shopper filters the browse page by colour in real headless Chromium, then removes it."""

from __future__ import annotations

import pytest

from shop.attributes import VLM_METHOD
from shop.services import AttributeRecord, product_attributes_record
from tests.shop.factories import ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_click_a_colour_facet_and_see_the_filtered_grid(live_server, page):
    colours = {"Red rain jacket": "red", "Red scarf": "red", "Navy shirt": "navy", "Green hat": "green"}
    records = []
    for title, colour in colours.items():
        product = ProductFactory(title=title)
        records.append(
            AttributeRecord(product_id=product.pk, name="colour", value=colour, score=0.9, method="test")
        )
        records.append(
            AttributeRecord(product_id=product.pk, name="pattern", value="", score=None, method=VLM_METHOD)
        )
    product_attributes_record(records=records)

    page.goto(f"{live_server.url}/")
    cards = page.locator(".product-grid .card")
    assert cards.count() == 4
    facet = page.get_by_role("region", name="Colour")
    assert facet.get_by_role("link").all_inner_texts() == ["Red (2)", "Green (1)", "Navy (1)"]
    # Pattern is not known offline: the page says so instead of leaving the filter out.
    assert "Not known for 4 products. Not available yet: this needs the vision-language model." in (
        page.get_by_role("region", name="Pattern").inner_text()
    )

    facet.get_by_role("link", name="Red (2)").click()
    page.wait_for_url("**colour=red**")
    assert sorted(cards.locator(".card-title").all_inner_texts()) == ["Red rain jacket", "Red scarf"]
    assert page.get_by_role("status").filter(has_text="products").inner_text().strip() == "2 products"
    chosen = page.locator('.facet-value[aria-current="true"]')
    assert chosen.inner_text().startswith("Red (2)")

    # Another filter keeps the colour (a hidden field of the form), then the chip removes it.
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_load_state()
    assert "colour=red" in page.url and cards.count() == 2
    page.locator('.facet-value[aria-current="true"]').click()
    page.wait_for_function("() => !location.search.includes('colour=')")
    assert cards.count() == 4
