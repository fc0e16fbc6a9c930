"""Browse and product pages: filters, search, sort, pagination, odd query strings, 404s."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from shop.models import Product
from tests.shop.factories import BrandFactory, ProductFactory, SourceFactory, category

pytestmark = pytest.mark.django_db

LIST = reverse("shop:product_list")


def _titles(response) -> list[str]:
    return [p.title for p in response.context["products"]]


@pytest.fixture
def catalogue(db):
    """Five products with distinct prices, created one minute apart (oldest first)."""
    maru, hanul = BrandFactory(name="Maru"), BrandFactory(name="Hanul Studio")
    specs = [
        ("Rain jacket", maru, "outer", "89000", True),
        ("Oxford shirt", hanul, "top", "39000", True),
        ("Wide jeans", maru, "pants", "59000", False),
        ("Bucket hat", hanul, "hat", "19000", True),
        ("Pleated skirt", maru, "skirt", "45000", True),
    ]
    now = timezone.now()
    products = []
    for i, (title, brand, cat, price, in_stock) in enumerate(specs):
        p = ProductFactory(
            title=title, brand=brand, category=category(cat), price=Decimal(price), in_stock=in_stock
        )
        Product.objects.filter(pk=p.pk).update(created_at=now - timedelta(minutes=len(specs) - i))
        products.append(p)
    ProductFactory(title="Hidden coat", brand=maru, category=category("outer"), is_active=False)
    return products


def test_browse_lists_active_products_newest_first(client, catalogue):
    response = client.get(LIST)
    assert response.status_code == 200
    assert _titles(response) == ["Pleated skirt", "Bucket hat", "Wide jeans", "Oxford shirt", "Rain jacket"]
    html = response.content.decode()
    assert "₩89,000" in html and "Hidden coat" not in html
    assert "Sold out" in html  # the jeans' badge


def test_browse_page_query_count_is_pinned(client, catalogue, django_assert_num_queries):
    ProductFactory.create_batch(10)
    # brands and currencies for the filters, the count, the page of products with
    # brand/category/source joined, the colour and pattern counts (one query: no facet chosen)
    with django_assert_num_queries(5):
        assert client.get(LIST, {"category": "top", "price_min": "1000"}).status_code == 200
    with django_assert_num_queries(5):
        assert client.get(LIST).status_code == 200


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"category": "outer"}, {"Rain jacket"}),
        ({"brand": "hanul-studio"}, {"Oxford shirt", "Bucket hat"}),
        ({"price_min": "40000", "price_max": "60000"}, {"Wide jeans", "Pleated skirt"}),
        ({"price_min": "60000", "price_max": "40000"}, {"Wide jeans", "Pleated skirt"}),  # swapped
        ({"price_max": "39000"}, {"Oxford shirt", "Bucket hat"}),
        ({"in_stock": "on", "brand": "maru"}, {"Rain jacket", "Pleated skirt"}),
        ({"category": "top", "brand": "maru"}, set()),
    ],
)
def test_filters(client, catalogue, params, expected):
    response = client.get(LIST, params)
    assert response.status_code == 200
    assert set(_titles(response)) == expected


def test_search_tolerates_a_typo_and_matches_brands(client, catalogue):
    assert _titles(client.get(LIST, {"q": "jaket"})) == ["Rain jacket"]
    assert _titles(client.get(LIST, {"q": "oxfrod shirt"}))[0] == "Oxford shirt"
    assert set(_titles(client.get(LIST, {"q": "hanul"}))) == {"Oxford shirt", "Bucket hat"}
    assert _titles(client.get(LIST, {"q": "SKIRT"})) == ["Pleated skirt"]
    assert _titles(client.get(LIST, {"q": "spacesuit"})) == []


def test_search_combines_with_filters(client, catalogue):
    assert _titles(client.get(LIST, {"q": "maru", "price_max": "60000", "in_stock": "1"})) == [
        "Pleated skirt"
    ]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("price_asc", ["Bucket hat", "Oxford shirt", "Pleated skirt", "Wide jeans", "Rain jacket"]),
        ("price_desc", ["Rain jacket", "Wide jeans", "Pleated skirt", "Oxford shirt", "Bucket hat"]),
        ("newest", ["Pleated skirt", "Bucket hat", "Wide jeans", "Oxford shirt", "Rain jacket"]),
    ],
)
def test_sort(client, catalogue, sort, expected):
    assert _titles(client.get(LIST, {"sort": sort})) == expected


def test_pagination_keeps_filters_and_clamps_the_page(client, catalogue, settings):
    settings.SHOP_PAGE_SIZE = 2
    first = client.get(LIST, {"sort": "price_asc"})
    assert _titles(first) == ["Bucket hat", "Oxford shirt"]
    html = first.content.decode()
    assert "?sort=price_asc&amp;page=2" in html and "Page 1 of 3" in html
    assert _titles(client.get(LIST, {"sort": "price_asc", "page": "2"})) == ["Pleated skirt", "Wide jeans"]
    # Past the end: the last page; not a number: the first page.
    assert _titles(client.get(LIST, {"sort": "price_asc", "page": "99999"})) == ["Rain jacket"]
    assert _titles(client.get(LIST, {"sort": "price_asc", "page": "abc"})) == ["Bucket hat", "Oxford shirt"]


@pytest.mark.parametrize(
    "query",
    [
        "price_min=abc",
        "price_max=-5&price_min=1e999",
        "category=spacesuit",
        "brand=nobody",
        "sort=bogus",
        "page=-1",
        "q=" + "x" * 500,
        "in_stock=maybe&q=%00",
        "price_min=NaN",
    ],
)
def test_odd_query_strings_give_a_normal_page(client, catalogue, query):
    response = client.get(f"{LIST}?{query}")
    assert response.status_code == 200
    assert response.context["page"].paginator.count >= 0


def test_a_bad_price_is_ignored_and_explained(client, catalogue):
    response = client.get(LIST, {"price_min": "abc", "category": "outer"})
    assert _titles(response) == ["Rain jacket"]  # the valid filter still applies
    assert "The minimum price must be a number of 0 or more." in response.content.decode()


def test_product_page_shows_the_product(client, catalogue):
    jacket = catalogue[0]
    response = client.get(jacket.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "Rain jacket" in html and "Maru" in html and "₩89,000" in html and "In stock" in html
    assert f'href="{jacket.product_url}"' in html and 'rel="noopener noreferrer nofollow"' in html
    assert jacket.image.url in html


def test_sold_out_product_says_so_first(client, catalogue):
    html = client.get(catalogue[2].get_absolute_url()).content.decode()
    assert "This product is sold out." in html
    assert html.index("This product is sold out.") < html.index('class="product"')


def test_demo_products_are_labelled_as_demo_data(client, settings):
    demo = SourceFactory(slug=settings.SHOP_DEMO_SOURCE_SLUG, name="Demo catalogue")
    product = ProductFactory(source=demo)
    assert "generated demo data" in client.get(LIST).content.decode()
    assert "generated demo data" in client.get(product.get_absolute_url()).content.decode()


def test_real_products_carry_no_demo_label(client, catalogue):
    assert "generated demo data" not in client.get(LIST).content.decode()


def test_unknown_and_inactive_products_are_404(client, catalogue):
    assert client.get(reverse("shop:product_detail", kwargs={"pk": 999999})).status_code == 404
    hidden = Product.objects.get(title="Hidden coat")
    assert client.get(hidden.get_absolute_url()).status_code == 404
