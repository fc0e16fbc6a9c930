"""The product page's alternatives are cached per product, model and filters: a repeat view
runs no vector search, while changes to the product, its vector or the alternatives
themselves still show at once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recommender.services import embedding_compute_batch
from shop.models import Product
from tests.shop.factories import jpeg_bytes, photo_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(settings):
    settings.RECOMMENDER_MAX_DISTANCE = 2.0
    cache.clear()
    items = {
        "main": photo_product("Red top", (200, 30, 30), 20000),
        "red": photo_product("Other red top", (190, 40, 35), 15000),
        "blue": photo_product("Blue top", (30, 30, 200), 9000),
        "green": photo_product("Green top", (30, 160, 30), 40000),
    }
    embedding_compute_batch(product_ids=[p.pk for p in items.values()])
    yield items
    cache.clear()


def _view(client, product, query=""):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(product.get_absolute_url() + query)
    assert response.status_code == 200
    searched = any("hnsw.ef_search" in q["sql"] for q in queries.captured_queries)
    return [alt["product"] for alt in response.context["alternatives"]], searched, len(queries)


def test_a_repeat_view_reuses_the_ranking_without_a_vector_search(client, catalogue):
    first, searched, first_queries = _view(client, catalogue["main"])
    assert searched and first[0].pk == catalogue["red"].pk
    again, searched, queries = _view(client, catalogue["main"])
    assert not searched and [p.pk for p in again] == [p.pk for p in first]
    assert queries < first_queries
    # Each set of filters is its own entry.
    cheaper, searched, _ = _view(client, catalogue["main"], "?cheaper=1")
    assert searched and {p.pk for p in cheaper} == {catalogue["red"].pk, catalogue["blue"].pk}


def test_prices_stock_and_take_downs_of_alternatives_show_at_once(client, catalogue):
    _view(client, catalogue["main"])
    _view(client, catalogue["main"], "?cheaper=1")
    Product.objects.filter(pk=catalogue["red"].pk).update(price=Decimal(16000))
    shown, searched, _ = _view(client, catalogue["main"], "?cheaper=1")
    assert not searched
    assert next(p for p in shown if p.pk == catalogue["red"].pk).price == Decimal(16000)

    # Dearer than the product now: no longer a "cheaper" alternative, even from the cache.
    Product.objects.filter(pk=catalogue["red"].pk).update(price=Decimal(25000))
    shown, _, _ = _view(client, catalogue["main"], "?cheaper=1")
    assert [p.pk for p in shown] == [catalogue["blue"].pk]

    Product.objects.filter(pk=catalogue["blue"].pk).update(in_stock=False)
    Product.objects.filter(pk=catalogue["green"].pk).update(is_active=False)
    shown, searched, _ = _view(client, catalogue["main"])
    assert not searched and [p.pk for p in shown] == [catalogue["red"].pk]


def test_a_new_vector_for_the_product_ranks_again(client, catalogue):
    before, _, _ = _view(client, catalogue["main"])
    assert before[0].pk == catalogue["red"].pk
    main = catalogue["main"]
    # The shop replaces the photo with a blue one; the worker embeds it.
    main.image.save("Red top now blue.jpg", ContentFile(jpeg_bytes((35, 35, 195), size=(60, 80))), save=False)
    main.image_sha256 = "now blue"
    main.save()
    embedding_compute_batch(product_ids=[main.pk])
    after, searched, _ = _view(client, Product.objects.get(pk=main.pk))
    assert searched and after[0].pk == catalogue["blue"].pk
