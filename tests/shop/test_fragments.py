"""Rendered page fragments are cached (shop/fragments.py) under a key of everything they
show: a repeat view skips the rendering, while every change a shopper could see makes a new
key and shows at once, in each language."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recommender.services import embedding_compute_batch
from shop.models import Brand, Product
from tests.shop.factories import ProductFactory, photo_product

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def _page(content: bytes) -> str:
    """The page less its CSRF token (masked afresh on every response, and never cached) and
    less the price chart, which is drawn up to the moment of the request (never cached)."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", content.decode())
    return re.sub(r'<svg class="price-chart".*?</svg>', "", html, flags=re.S)


def _templates(response) -> list[str]:
    return [t.name for t in response.templates]


def test_a_repeat_browse_view_renders_no_card_and_the_same_page(client):
    ProductFactory(title="Oxford shirt", brand__name="Acme")
    first = client.get("/?q=oxford")
    assert "shop/_product_card.html" in _templates(first)
    again = client.get("/?q=oxford")
    assert "shop/_product_card.html" not in _templates(again)
    assert _page(again.content) == _page(first.content)
    assert "Oxford shirt" in again.content.decode()


def test_browse_fragments_show_changes_at_once(client):
    product = ProductFactory(title="Oxford shirt", brand__name="Acme", price=Decimal(12900))
    html = client.get("/").content.decode()
    assert "₩12,900" in html and "Acme" in html
    # .update() leaves updated_at alone: the key is made of the shown values, not of a timestamp.
    Product.objects.filter(pk=product.pk).update(price=Decimal(9900), in_stock=False)
    html = client.get("/").content.decode()
    assert "₩9,900" in html and "₩12,900" not in html and "sold-out" in html
    Brand.objects.filter(pk=product.brand_id).update(name="Acme Seoul")
    html = client.get("/").content.decode()
    assert "Acme Seoul" in html
    # The brand filter's choices are in the cached filter form too.
    assert '<option value="acme">Acme Seoul</option>' in html.replace("\n", "")


def test_browse_fragments_are_per_language_and_query(client):
    ProductFactory(title="Oxford shirt")
    english = client.get("/").content.decode()
    korean = client.get("/ko/").content.decode()
    assert "All categories" in english and "All categories" not in korean
    assert _page(client.get("/").content) == _page(english.encode())
    # The form shows what was asked for, from the cache too.
    client.get("/?q=oxford&price_max=50000")
    html = client.get("/?q=oxford&price_max=50000").content.decode()
    assert 'value="oxford"' in html and 'value="50000"' in html
    assert 'value="50000"' not in client.get("/?q=oxford").content.decode()


@pytest.fixture
def catalogue(settings):
    settings.RECOMMENDER_MAX_DISTANCE = 2.0
    items = {
        "main": photo_product("Red top", (200, 30, 30), 20000),
        "red": photo_product("Other red top", (190, 40, 35), 15000),
        "blue": photo_product("Blue top", (30, 30, 200), 9000),
    }
    embedding_compute_batch(product_ids=[p.pk for p in items.values()])
    return items


def _money_calls(client, url) -> tuple[str, int]:
    """The page, and how many prices were formatted while rendering it."""
    from shop.templatetags import shop_tags

    calls = []
    original = shop_tags.format_currency

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    shop_tags.format_currency = counting
    try:
        response = client.get(url)
    finally:
        shop_tags.format_currency = original
    assert response.status_code == 200
    return _page(response.content), len(calls)


def test_a_repeat_product_view_renders_no_alternative(client, catalogue):
    url = catalogue["main"].get_absolute_url()
    first, formatted_first = _money_calls(client, url)
    again, formatted_again = _money_calls(client, url)
    assert again == first and "Other red top" in again
    # The alternatives' prices and differences (two cards, two amounts each) come cached; the
    # product's own price, its chart and its other shops are formatted on every view.
    assert formatted_again <= formatted_first - 4, (formatted_first, formatted_again)


def test_alternatives_prices_and_stock_show_at_once_in_the_page(client, catalogue):
    url = catalogue["main"].get_absolute_url()
    assert "₩15,000" in client.get(url).content.decode()
    Product.objects.filter(pk=catalogue["red"].pk).update(price=Decimal(16000))
    with CaptureQueriesContext(connection) as queries:
        html = client.get(url).content.decode()
    assert not any("hnsw.ef_search" in q["sql"] for q in queries.captured_queries)  # ranking cached
    assert "₩16,000" in html and "₩15,000" not in html and "₩4,000 cheaper" in html
    Product.objects.filter(pk=catalogue["red"].pk).update(in_stock=False)
    html = client.get(url).content.decode()
    assert "Other red top" not in html and "Blue top" in html
    # The product's own price moves every difference.
    Product.objects.filter(pk=catalogue["main"].pk).update(price=Decimal(30000))
    html = client.get(url).content.decode()
    assert "₩21,000 cheaper" in html


def test_alternatives_are_cached_per_language(client, catalogue):
    url = catalogue["main"].get_absolute_url()
    assert "Similar alternatives" in client.get(url).content.decode()
    korean = client.get("/ko" + url).content.decode()
    assert "Similar alternatives" not in korean and "Other red top" in korean
    assert "Similar alternatives" in client.get(url).content.decode()
