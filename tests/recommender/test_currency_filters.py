"""Alternatives and Find-similar price filters compare prices only within one currency
(issue 11, item 17): the product's currency on its page, the shopper's on Find similar."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.base import ContentFile

from recommender.services import embedding_compute_batch
from tests.find_similar.support import (  # noqa: F401
    _fresh_rate_limits,
    _module_catalogue,
    catalogue_fixture,
)
from tests.find_similar.test_find_similar import _result_ids, uploaded  # noqa: F401
from tests.shop.factories import ProductFactory, category, jpeg_bytes, photo_product

pytestmark = pytest.mark.django_db


def _usd_top(title: str, colour, price: str):
    return ProductFactory(
        title=title,
        category=category("top"),
        price=Decimal(price),
        currency="USD",
        image=ContentFile(jpeg_bytes(colour, size=(60, 80)), name=f"{title}.jpg"),
        image_sha256=title,
    )


@pytest.fixture
def mixed_tops(settings):
    settings.RECOMMENDER_MAX_DISTANCE = 2.0
    items = {
        "main": photo_product("Red top", (200, 30, 30), 20000),
        "cheap_red": photo_product("Cheap red top", (190, 40, 35), 15000),
        "dear_red": photo_product("Dear red top", (195, 35, 30), 45000),
        "usd_red": _usd_top("Red top from a US shop", (198, 32, 30), "30"),
    }
    embedding_compute_batch(product_ids=[p.pk for p in items.values()])
    return items


def _alternative_ids(client, product, query=""):
    response = client.get(product.get_absolute_url() + query)
    assert response.status_code == 200
    return {alt["product"].pk for alt in response.context["alternatives"]}


def test_cheaper_only_and_price_range_use_the_products_currency(client, mixed_tops):
    main = mixed_tops["main"]
    # 30 dollars is not "cheaper" than 20,000 won.
    assert _alternative_ids(client, main, "?cheaper=1") == {mixed_tops["cheap_red"].pk}
    assert _alternative_ids(client, main, "?max_price=50000") == {
        mixed_tops["cheap_red"].pk,
        mixed_tops["dear_red"].pk,
    }
    # Without a price filter the dollar top is an alternative too, with no price comparison.
    response = client.get(main.get_absolute_url())
    shown = {alt["product"].pk: alt for alt in response.context["alternatives"]}
    assert mixed_tops["usd_red"].pk in shown and shown[mixed_tops["usd_red"].pk]["price_difference"] is None
    # The price inputs say which currency they are in.
    assert "(₩)" in response.content.decode()


def test_find_similar_price_filter_uses_the_shoppers_currency(client, uploaded):  # noqa: F811
    usd = _usd_top("Plain tee from a US shop", (120, 120, 120), "30")
    embedding_compute_batch(product_ids=[usd.pk])
    url = uploaded.get_absolute_url()
    # The catalogue is mostly won: "up to 100" means 100 won, and nothing costs that little.
    response = client.get(url, {"f": 1, "price_max": "100"})
    assert response.status_code == 200 and _result_ids(response) == []
    response = client.get(url, {"f": 1, "price_max": "100", "currency": "USD"})
    assert _result_ids(response) == [usd.pk]
    uploaded.refresh_from_db()
    assert uploaded.filters["currency"] == "USD"
