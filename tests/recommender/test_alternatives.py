"""The "Similar alternatives" section of the product page, with real embeddings
(efficientnet-lite0) in pgvector."""

from __future__ import annotations

from decimal import Decimal

import pytest

from recommender.services import embedding_compute_batch
from tests.shop.factories import photo_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(settings):
    """A red top and four tops around it (two cheaper, one dearer, one sold out), a red
    skirt (another category) and a product with no vector yet."""
    settings.RECOMMENDER_MAX_DISTANCE = 2.0

    items = {
        "main": photo_product("Red top", (200, 30, 30), 20000),
        "cheap_red": photo_product("Cheap red top", (190, 40, 35), 15000),
        "cheap_blue": photo_product("Cheap blue top", (30, 30, 200), 9000),
        "dear_green": photo_product("Dear green top", (30, 160, 30), 40000),
        "sold_out": photo_product("Sold out red top", (205, 30, 30), 18000, in_stock=False),
        "skirt": photo_product("Red skirt", (200, 30, 30), 10000, kind="skirt"),
    }
    embedding_compute_batch(product_ids=[p.pk for p in items.values()])
    items["unindexed"] = photo_product("New top", (100, 100, 100), 5000)
    return items


def _alternatives(client, product, query=""):
    response = client.get(product.get_absolute_url() + query)
    assert response.status_code == 200
    return response, [alt["product"].pk for alt in response.context["alternatives"]]


def test_in_stock_alternatives_of_the_same_category_without_itself(client, catalogue):
    response, ids = _alternatives(client, catalogue["main"])
    expected = {catalogue[k].pk for k in ("cheap_red", "cheap_blue", "dear_green")}
    assert set(ids) == expected
    # Ranked by look: the red top is nearest to the red top.
    assert ids[0] == catalogue["cheap_red"].pk
    html = response.content.decode()
    assert "Similar alternatives" in html and "% similar" in html and "cheaper" in html
    first = response.context["alternatives"][0]
    assert first["price_difference"] == Decimal(-5000)
    assert 0 < first["similarity"] <= 1


def test_cheaper_only_and_price_range(client, catalogue):
    _, ids = _alternatives(client, catalogue["main"], "?cheaper=1")
    assert set(ids) == {catalogue["cheap_red"].pk, catalogue["cheap_blue"].pk}
    _, ids = _alternatives(client, catalogue["main"], "?min_price=10000&max_price=50000")
    assert set(ids) == {catalogue["cheap_red"].pk, catalogue["dear_green"].pk}
    _, ids = _alternatives(client, catalogue["main"], "?min_price=abc")  # ignored, not an error
    assert len(ids) == 3


def test_sold_out_product_leads_with_alternatives(client, catalogue):
    response, ids = _alternatives(client, catalogue["sold_out"])
    assert response.context["alternatives_first"] is True
    assert ids and catalogue["sold_out"].pk not in ids
    html = response.content.decode()
    assert html.index('id="alternatives"') < html.index('class="product"')


def test_product_without_vector_says_it_is_pending(client, catalogue):
    response, ids = _alternatives(client, catalogue["unindexed"])
    assert ids == [] and "once this product" in response.content.decode()


def test_product_page_query_count_does_not_grow_with_alternatives(
    client, catalogue, django_assert_max_num_queries
):
    # product (+source), own vector, own colour, savepoint + SET LOCALs + plan count + search
    # + release, candidates' colours, demo-source lookups by the shop: no per-result queries.
    with django_assert_max_num_queries(13):
        client.get(catalogue["main"].get_absolute_url())


def test_the_alternatives_selector_takes_plain_filters_not_the_request():
    """Issue 12: the template tag reads the query string; the selector gets keyword data."""
    import inspect

    from recommender.selectors import AlternativesFilters, product_alternatives_context

    assert "request" not in inspect.signature(product_alternatives_context).parameters
    filters = AlternativesFilters.from_query({"cheaper": "1", "min_price": "cheap", "max_price": "20000"})
    assert filters == AlternativesFilters(cheaper=True, price_min=None, price_max=Decimal("20000"))
