"""Korean and English pages, and prices written the way each currency is written."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from tests.shop.factories import ProductFactory, category

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "amount", "currency", "expected"),
    [
        ("en", "12900.00", "KRW", "₩12,900"),
        ("ko", "12900.00", "KRW", "₩12,900"),
        ("en", "26", "USD", "$26.00"),
        ("ko", "26", "USD", "US$26.00"),
        ("en", "1234.5", "EUR", "€1,234.50"),
        ("en", "1234567", "KRW", "₩1,234,567"),
    ],
)
def test_money_filter(language, amount, currency, expected):
    template = Template("{% load shop_tags %}{{ amount|money:currency }}")
    with translation.override(language):
        assert template.render(Context({"amount": Decimal(amount), "currency": currency})) == expected


def test_korean_pages_render_korean_strings(client):
    product = ProductFactory(title="Linen shirt", category=category("top"), price=Decimal("12900"))
    usd = ProductFactory(
        title="Denim jacket", category=category("outer"), price=Decimal("26"), currency="USD"
    )
    html = client.get("/ko/").content.decode()
    assert '<html lang="ko">' in html
    assert "필터" in html and "전체 상품" in html and "상품 2개" in html and "상의" in html
    assert "₩12,900" in html and "US$26.00" in html
    assert "Filters" not in html
    detail = client.get(f"/ko/products/{product.pk}/").content.decode()
    assert "재고 있음" in detail and "판매처" in detail and "₩12,900" in detail
    english = client.get(f"/products/{usd.pk}/").content.decode()
    assert "In stock" in english and "$26.00" in english and "US$" not in english


def test_language_switcher_posts_with_csrf_and_switches(client):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    page = csrf_client.get(reverse("shop:product_list"))
    token = page.context["csrf_token"]
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    # Without the token the switch is refused; with it, the shopper lands on the Korean page.
    assert csrf_client.post("/i18n/setlang/", {"language": "ko", "next": "/"}).status_code == 403
    response = csrf_client.post(
        "/i18n/setlang/", {"language": "ko", "next": "/", "csrfmiddlewaretoken": str(token)}
    )
    assert response.status_code == 302 and response["Location"] == "/ko/"
