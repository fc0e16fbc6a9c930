"""A shopper types a description into the search box in headless Chromium and sees the grid
ranked by the photos (the tiny random CLIP as the text model)."""

from __future__ import annotations

import pytest

from recommender.tasks import embed_pending
from shop.models import Product
from tests.recommender.test_description_search import CATALOGUE, WORDS, _by_the_model
from tests.shop.factories import photo_product

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("garment_categories"),
]


def test_typing_a_description_shows_the_nearest_photos_first(tiny_text_model, live_server, page):
    products = [
        photo_product(title, colour, price, kind=kind) for title, (colour, kind, price) in CATALOGUE.items()
    ]
    Product.objects.update(needs_embedding=True)
    embed_pending()

    page.goto(f"{live_server.url}/")
    box = page.get_by_role("searchbox", name="Search products")
    box.fill(WORDS)
    box.press("Enter")
    page.wait_for_url("**q=red+striped+shirt**")
    assert page.get_by_role("heading", level=1).inner_text() == f"Results for “{WORDS}”"
    titles = page.locator(".product-grid .card .card-title").all_inner_texts()
    assert titles == _by_the_model(WORDS, products)
    assert page.locator(".search-notice").count() == 0


def test_with_the_text_model_off_the_page_says_why(settings, live_server, page):
    settings.RECOMMENDER_TEXT_MODEL = ""
    photo_product("Red striped shirt", (200, 30, 30), 10000)
    photo_product("Blue top", (30, 30, 200), 10000)

    page.goto(f"{live_server.url}/")
    box = page.get_by_role("searchbox", name="Search products")
    box.fill(WORDS)
    box.press("Enter")
    page.wait_for_url("**q=red+striped+shirt**")
    assert page.locator(".product-grid .card .card-title").all_inner_texts() == ["Red striped shirt"]
    assert "turned off on this shop" in page.get_by_role("note").inner_text()
