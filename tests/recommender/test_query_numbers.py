"""Every number a query string carries is bounded before it reaches PostgreSQL (issue 11 item 3).

``?max_price=1e200000`` passed the product page's decimal check and reached PostgreSQL as a
numeric overflow. Huge, tiny, infinite, NaN and negative values must give the normal page.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from find_similar.models import QueryImage
from find_similar.uploads import upload_create
from recommender.services import embedding_compute_batch
from shop.images import image_decode
from tests.find_similar.support import _fresh_rate_limits, scene_jpeg  # noqa: F401
from tests.shop.factories import photo_product

pytestmark = pytest.mark.django_db

HOSTILE_NUMBERS = [
    "1e200000",
    "-1e200000",
    "1e-200000",
    "9" * 5000,
    "99999999999999999999.999",
    "inf",
    "-Infinity",
    "nan",
    "sNaN",
    "-5",
    "1e10",
    "0x10",
    "１２３",  # full-width digits: Decimal reads them
    "",
]


@pytest.fixture
def product(settings):
    settings.RECOMMENDER_MAX_DISTANCE = 2.0
    main = photo_product("Red top", (200, 30, 30), 20000)
    other = photo_product("Cheap red top", (190, 40, 35), 15000)
    embedding_compute_batch(product_ids=[main.pk, other.pk])
    return main


def test_item3_product_page_price_filters_are_bounded(client, product):
    # One product (embedding it is the slow part), every value, with and without "cheaper".
    for name in ("min_price", "max_price"):
        for value in HOSTILE_NUMBERS:
            for extra in ({}, {"cheaper": "1"}):
                query = urlencode({name: value, **extra})
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(f"{product.get_absolute_url()}?{query}")
                assert response.status_code == 200, query
                assert "Similar alternatives" in response.content.decode()
                sql = " ".join(q["sql"] for q in queries.captured_queries)
                for word in ("E+", "e+", "E-", "NaN", "Infinity"):
                    assert word not in sql, (query, sql)


def test_item3_the_bounded_filter_still_filters(client, product):
    response = client.get(product.get_absolute_url() + "?max_price=1e200000")
    assert [a["product"].title for a in response.context["alternatives"]] == ["Cheap red top"]
    response = client.get(product.get_absolute_url() + "?min_price=1e200000")
    assert response.context["alternatives"] == []


def test_item3_find_similar_result_numbers_are_bounded(client, tiny_segmenter):
    upload, _ = upload_create(decoded=image_decode(scene_jpeg()), size_bytes=100)
    QueryImage.objects.filter(pk=upload.pk).update(status=QueryImage.Status.READY, garments=[])
    for name in ("price_min", "price_max", "n", "garment"):
        for value in HOSTILE_NUMBERS:
            query = urlencode({name: value})
            response = client.get(f"{upload.get_absolute_url()}?{query}")
            assert response.status_code == 200, query
