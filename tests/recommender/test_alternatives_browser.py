"""A shopper on a product page in headless Chromium: alternatives, "Cheaper only"."""

from __future__ import annotations

import pytest

from recommender.services import embedding_compute_batch
from tests.shop.factories import photo_product

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("garment_categories"),
]


def test_cheaper_only_toggle_narrows_the_alternatives(settings, live_server, page):
    settings.RECOMMENDER_MAX_DISTANCE = 2.0

    main = photo_product("Red top", (200, 30, 30), 20000)
    cheap = photo_product("Cheaper red top", (190, 40, 35), 15000)
    dear = photo_product("Dearer red top", (210, 35, 30), 30000)
    embedding_compute_batch(product_ids=[main.pk, cheap.pk, dear.pk])

    page.goto(live_server.url + main.get_absolute_url())
    section = page.locator("#alternatives")
    assert section.get_by_role("heading", name="Similar alternatives").is_visible()
    titles = section.locator(".alternative .card-title")
    assert sorted(titles.all_inner_texts()) == ["Cheaper red top", "Dearer red top"]
    assert "cheaper" in section.locator(f'[data-product-id="{cheap.pk}"]').inner_text()

    section.get_by_label("Cheaper only").check()
    section.get_by_role("button", name="Apply").click()
    page.wait_for_url("**cheaper=1**")
    assert page.locator("#alternatives .alternative .card-title").all_inner_texts() == ["Cheaper red top"]
    assert page.locator("#alternatives").get_by_label("Cheaper only").is_checked()
