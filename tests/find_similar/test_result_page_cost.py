"""The Find-similar result page when only a filter changed: what it reads from the database
(a fixed, pinned number of queries), and that its caches never change what it shows."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from find_similar.models import QueryImage
from shop.models import Brand
from tests.find_similar.support import (  # noqa: F401
    _fresh_rate_limits,
    _module_catalogue,
    catalogue_fixture,  # noqa: F401
    scene_jpeg,
)

pytestmark = pytest.mark.django_db

FILTERS = [
    {"whole": 1, "f": 1},
    {"whole": 1, "f": 1, "category": ["pants", "shoes"]},
    {"whole": 1, "f": 1, "price_min": "20000", "price_max": "40000"},
    {"whole": 1, "f": 1, "price_max": "30000"},
    {"whole": 1, "f": 1, "brand": "beta"},
    {"whole": 1, "f": 1, "brand": "alpha", "price_min": "15000"},
    {"whole": 1, "f": 1, "n": 4},
    {"f": 1, "price_max": "50000"},  # the default garment
]

CARD = re.compile(
    r'class="fs-card-title"><a href="/products/(\d+)/">.*?class="fs-card-price">([^<]+)</p>', re.DOTALL
)


@pytest.fixture
def uploaded(client, catalogue, tiny_segmenter, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/find-similar/", {"photo": SimpleUploadedFile("s.jpg", scene_jpeg(), "image/jpeg")}
        )
    assert response.status_code == 302
    return QueryImage.objects.get()


def _cards(response) -> list[tuple[int, str]]:
    assert response.status_code == 200
    return [(int(pk), price.strip()) for pk, price in CARD.findall(response.content.decode())]


def test_cached_pages_show_the_same_products_order_and_prices_as_uncached(client, uploaded):
    url = uploaded.get_absolute_url()
    for params in FILTERS:
        cache.clear()  # the uncached path: choices, filter form and cards read and drawn afresh
        uncached = _cards(client.get(url, params))
        uploaded.refresh_from_db()
        logged = [r["product"] for r in uploaded.results]
        cached = _cards(client.get(url, params))  # choices and fragments from the cache
        assert cached == uncached, params
        assert [pk for pk, _price in cached] == logged, params
    # The combinations were not all alike: the test compared different pages.
    assert len({tuple(_cards(client.get(url, params))) for params in FILTERS}) >= 5


def test_a_filter_change_reads_a_fixed_number_of_queries(client, uploaded, django_assert_num_queries):
    url = uploaded.get_absolute_url()
    client.get(url, {"whole": 1, "f": 1, "price_max": "90000"})  # warm: region, model, choices
    # The upload; the region; the nearest rows (their SET LOCALs, the plan count, in a transaction);
    # the colours of the re-rank pool; the shown products only; the search log (in a
    # transaction). The filter choices come from the cache under the catalogue version, and
    # the shown products' colours from the re-rank's read. Then the colour and pattern facets
    # (issue 16), 6 more: a second nearest-ids search without the facets (savepoint, its
    # SET LOCALs, its plan count, the search, release) and one grouped count over those ids.
    with django_assert_num_queries(19):
        response = client.get(url, {"whole": 1, "f": 1, "price_max": "60000"})
    assert _cards(response)


def test_the_cached_filter_choices_follow_a_catalogue_change(
    client, uploaded, django_capture_on_commit_callbacks
):
    url = uploaded.get_absolute_url()
    assert "Beta" in client.get(url, {"whole": 1, "f": 1}).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Brand.objects.filter(slug="beta").update(name="Betamax")
    html = client.get(url, {"whole": 1, "f": 1, "price_max": "70000"}).content.decode()
    assert re.search(r'<option value="beta"[^>]*>Betamax</option>', html)
