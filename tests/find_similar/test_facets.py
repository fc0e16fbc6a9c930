"""The colour and pattern facets on the Find-similar result page (issue 16): counts over the
nearest products under the other filters, links that choose and remove a facet, the search
narrowed by it, and bad values read as no facet."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from find_similar.models import QueryImage
from shop.attributes import VLM_METHOD
from shop.models import ProductAttribute
from tests.find_similar.support import (  # noqa: F401
    _fresh_rate_limits,
    _module_catalogue,
    catalogue_fixture,
    scene_jpeg,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def uploaded(client, catalogue, tiny_segmenter, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/find-similar/", {"photo": SimpleUploadedFile("s.jpg", scene_jpeg(), "image/jpeg")}
        )
    assert response.status_code == 302
    return QueryImage.objects.get()


def _seed(products, name: str, values: dict[int, str], default: str, method: str = "test") -> None:
    for product in products:
        value = values.get(product.pk, default)
        ProductAttribute.objects.update_or_create(
            product=product,
            name=name,
            defaults={"value": value, "score": 1.0 if value else None, "method": method},
        )


@pytest.fixture
def seeded(catalogue):
    """Two green products (a T-shirt and trousers), the rest black; three striped, the rest plain."""
    green = {catalogue[1].pk, catalogue[6].pk}
    striped = {catalogue[0].pk, catalogue[1].pk, catalogue[7].pk}
    _seed(catalogue, "colour", dict.fromkeys(green, "green"), "black")
    _seed(catalogue, "pattern", dict.fromkeys(striped, "striped"), "plain")
    return green, striped


def _result_ids(response) -> list[int]:
    assert response.status_code == 200
    return [
        int(pk)
        for pk in re.findall(
            r'class="fs-card-title"><a href="(?:/ko)?/products/(\d+)/"', response.content.decode()
        )
    ]


def _facet_counts(html: str, name: str) -> dict[str, int]:
    section = re.search(rf'data-fs-facet="{name}">(.*?)</section>', html, re.S).group(1)
    return {
        value: int(count)
        for value, count in re.findall(
            r'data-fs-facet-(?:value|remove)="(\w+)">[^<]*<span class="facet-count">\((\d+)\)', section
        )
    }


def _link(html: str, name: str, value: str, kind: str = "value") -> str:
    section = re.search(rf'data-fs-facet="{name}">(.*?)</section>', html, re.S).group(1)
    href = re.search(rf'href="([^"]+)"[^>]*data-fs-facet-{kind}="{value}"', section).group(1)
    return html_lib.unescape(href)


def test_the_counts_are_over_the_nearest_products_under_the_other_filters(
    client, uploaded, catalogue, seeded, settings
):
    url = uploaded.get_absolute_url()
    html = client.get(url, {"whole": 1, "f": 1}).content.decode()
    # Every category, and the pool (100) is larger than the catalogue: all ten are counted.
    assert _facet_counts(html, "colour") == {"black": 8, "green": 2}
    assert _facet_counts(html, "pattern") == {"plain": 7, "striped": 3}
    assert "among the 100 closest products" in html

    # Under a chosen pattern, colour counts only the striped; pattern still counts every one.
    striped = client.get(url, {"whole": 1, "f": 1, "pattern": "striped"}).content.decode()
    assert _facet_counts(striped, "colour") == {"black": 2, "green": 1}
    assert _facet_counts(striped, "pattern") == {"plain": 7, "striped": 3}

    # The pool is the nearest FIND_SIMILAR_FACET_POOL, and the page says so.
    settings.FIND_SIMILAR_FACET_POOL = 4
    small = client.get(url, {"whole": 1, "f": 1}).content.decode()
    assert sum(_facet_counts(small, "colour").values()) == 4
    assert "among the 4 closest products" in small


def test_choosing_a_colour_narrows_the_results_and_its_link_removes_it(client, uploaded, catalogue, seeded):
    green, _striped = seeded
    url = uploaded.get_absolute_url()
    before = client.get(url, {"whole": 1, "f": 1})
    assert len(_result_ids(before)) > len(green)

    chosen = client.get(url + _link(before.content.decode(), "colour", "green"))
    html = chosen.content.decode()
    assert set(_result_ids(chosen)) == green
    assert 'aria-current="true"' in html
    # Kept by the filter form, the "like this" box and the garment links.
    assert html.count('name="colour" value="green"') >= 2
    uploaded.refresh_from_db()
    assert uploaded.filters["colour"] == "green"

    again = client.get(url + _link(html, "colour", "green", kind="remove"))
    assert _result_ids(again) == _result_ids(before)


def test_colour_and_pattern_together_keep_the_products_with_both(client, uploaded, catalogue, seeded):
    response = client.get(
        uploaded.get_absolute_url(), {"whole": 1, "f": 1, "colour": "green", "pattern": "striped"}
    )
    assert _result_ids(response) == [catalogue[1].pk]


@pytest.mark.parametrize(
    "params",
    [
        {"colour": "mauve"},
        {"colour": "GREEN'; DROP TABLE shop_product; --"},
        {"colour": "x" * 500, "pattern": "zigzag"},
        {"pattern": "<script>alert(1)</script>"},
        {"colour": ["green", "mauve"]},
    ],
)
def test_bad_values_give_the_normal_results(client, uploaded, catalogue, seeded, params):
    url = uploaded.get_absolute_url()
    plain = _result_ids(client.get(url, {"whole": 1, "f": 1}))
    response = client.get(url, {"whole": 1, "f": 1, **params})
    # ["green", "mauve"]: the last value is read, as for any single-valued field.
    assert _result_ids(response) == plain
    assert "<script>alert" not in response.content.decode()


def test_an_unavailable_pattern_says_so_in_both_languages(client, uploaded, catalogue):
    _seed(catalogue, "colour", {}, "black")
    _seed(catalogue, "pattern", {}, "", method=VLM_METHOD)  # the spectrum detector is off
    url = uploaded.get_absolute_url()
    html = client.get(url, {"whole": 1, "f": 1}).content.decode()
    assert _facet_counts(html, "pattern") == {}
    assert "Not known for 10 products. Not available yet: this needs the vision-language model." in html

    # The request activates Korean in this thread; the override puts English back after it,
    # so later tests that read messages outside a request are not left in Korean.
    with translation.override("en"):
        korean = client.get(f"/ko{url}", {"whole": 1, "f": 1}).content.decode()
    assert "색상과 패턴" in korean
    assert "가장 비슷한 상품 100개 중의 개수입니다" in korean
    assert "10개 상품은 아직 알 수 없습니다." in korean
