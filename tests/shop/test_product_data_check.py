"""product_upsert checks every value against its column before writing (issue 11 item 4 and
the same defect elsewhere): a crawled price or currency the columns cannot hold was a database
error that failed the product with a raw message, or a whole import."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shop.models import Brand, Product
from shop.services import ProductData, ProductRejected, product_upsert
from tests.shop.factories import SourceFactory

pytestmark = pytest.mark.django_db


def _data(**changes) -> ProductData:
    fields = dict(external_id="x1", title="Tee", price=Decimal("1000"), currency="KRW")
    return ProductData(**{**fields, **changes})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"price": Decimal("12345678901")}, "is not between 0 and 9999999999.99"),
        ({"price": Decimal("-1")}, "is not between 0 and"),
        ({"price": Decimal("NaN")}, "is not between 0 and"),
        ({"currency": "usd"}, "three-letter ISO 4217 code"),
        ({"currency": "US$"}, "three-letter ISO 4217 code"),
        ({"title": "T" * 501}, "title is longer than 500 characters"),
        ({"external_id": "x" * 256}, "external_id is longer than 255 characters"),
        ({"brand": "B" * 201}, "brand is longer than 200 characters"),
        ({"image_url": "https://shop.example/" + "i" * 2000}, "image URL is longer than 2000 characters"),
    ],
)
def test_values_that_do_not_fit_are_refused_before_any_write(changes, message):
    source = SourceFactory(slug="checks")
    with pytest.raises(ProductRejected, match=message):
        product_upsert(source=source, data=_data(**changes))
    assert not Product.objects.exists() and not Brand.objects.exists()


def test_values_at_the_limits_are_stored():
    source = SourceFactory(slug="limits")
    data = _data(
        price=Decimal("9999999999.99"),
        title="T" * 500,
        external_id="x" * 255,
        brand="B" * 200,
        product_url="https://shop.example/" + "p" * (2000 - len("https://shop.example/")),
    )
    product, _ = product_upsert(source=source, data=data)
    assert product.price == Decimal("9999999999.99") and len(product.brand.slug) == 200
