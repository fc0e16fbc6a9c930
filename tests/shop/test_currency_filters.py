"""Prices in different currencies are never compared as raw numbers (issue 11, item 17):
the browse page's price filter and price sort work within the shopper's currency (the
one they pick, else the catalogue's most common), on a catalogue of won and dollars."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.shop.factories import ProductFactory

pytestmark = pytest.mark.django_db
LIST = reverse("shop:product_list")


@pytest.fixture
def mixed_catalogue(db):
    specs = [
        ("Canvas tote", "19000", "KRW"),
        ("Linen shirt", "39000", "KRW"),
        ("Wool coat", "129000", "KRW"),
        ("Denim jacket", "45", "USD"),
        ("Silk scarf", "120", "USD"),
    ]
    return [ProductFactory(title=t, price=Decimal(p), currency=c) for t, p, c in specs]


def _titles(response) -> list[str]:
    return [p.title for p in response.context["products"]]


def test_browse_price_filter_compares_prices_only_within_one_currency(client, mixed_catalogue):
    # 50,000 won is not 45 dollars: the dollar items are not "under 50,000".
    assert set(_titles(client.get(LIST, {"price_max": "50000"}))) == {"Canvas tote", "Linen shirt"}
    assert set(_titles(client.get(LIST, {"price_min": "40", "currency": "USD"}))) == {
        "Denim jacket",
        "Silk scarf",
    }
    assert set(_titles(client.get(LIST, {"price_max": "100", "currency": "USD"}))) == {"Denim jacket"}
    # Without a price filter every currency is listed.
    assert len(_titles(client.get(LIST))) == 5
    html = client.get(LIST).content.decode()
    assert '<option value="KRW"' in html and '<option value="USD"' in html


def test_browse_price_sort_orders_the_shoppers_currency_first_never_mixing_amounts(client, mixed_catalogue):
    assert _titles(client.get(LIST, {"sort": "price_asc"})) == [
        "Canvas tote",
        "Linen shirt",
        "Wool coat",
        "Denim jacket",
        "Silk scarf",
    ]
    assert _titles(client.get(LIST, {"sort": "price_desc", "currency": "USD"})) == [
        "Silk scarf",
        "Denim jacket",
        "Wool coat",
        "Linen shirt",
        "Canvas tote",
    ]


def test_an_unknown_currency_is_ignored_not_an_error(client, mixed_catalogue):
    response = client.get(LIST, {"price_max": "50000", "currency": "XYZ"})
    assert response.status_code == 200
    assert set(_titles(response)) == {"Canvas tote", "Linen shirt"}
