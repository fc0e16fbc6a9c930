"""Refine a photo search in words ("like this, but in green"): the query string's phrases,
the offline colour refinement on the real CC0 catalogue, and the refinement composed under a
tiny random CLIP loaded through the production loader."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict

from find_similar.forms import SearchForm
from find_similar.models import QueryImage
from find_similar.refinements import refinements_read
from shop.models import ProductAttribute
from tests.find_similar.support import (  # noqa: F401
    _fresh_rate_limits,
    _module_catalogue,
    catalogue_fixture,
    scene_jpeg,
)

pytestmark = pytest.mark.django_db


def _form(query: str) -> SearchForm:
    return SearchForm(QueryDict(query), categories=[], brands=[], currencies=[])


# --- The form ------------------------------------------------------------------------------


def test_refinements_are_cleaned_deduplicated_and_kept_in_order():
    form = _form("refine=in+green&refine=&refine=with%09a%00hood&refine=IN+GREEN&refine=++shorter++")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["refine"] == ["in green", "with a hood", "shorter"]


def test_no_refinement_is_an_empty_list():
    form = _form("")
    assert form.is_valid()
    assert form.cleaned_data["refine"] == []


@pytest.mark.parametrize(
    "query, words",
    [
        ("&".join(f"refine=word{i}" for i in range(6)), "at most 5"),
        ("refine=" + "a" * 61, "at most 60 characters"),
    ],
)
def test_too_many_or_too_long_refinements_are_refused_with_a_sentence(query, words):
    form = _form(query)
    assert not form.is_valid()
    assert words in form.errors["refine"][0]


@pytest.mark.parametrize(
    "text, colour, remove, phrase",
    [
        ("in green", "green", False, "in green"),
        ("Green", "green", False, "Green"),
        ("in navy", "navy", False, "in navy"),
        ("red", "red", False, "red"),
        ("초록색", "green", False, "초록색"),
        ("그린으로", "green", False, "그린으로"),
        ("with a hood", None, False, "with a hood"),
        ("green with a hood", None, False, "green with a hood"),
        ("without a logo", None, True, "a logo"),
        ("로고 없이", None, True, "로고"),
    ],
)
def test_phrases_are_read_as_colours_or_words_to_add_or_remove(text, colour, remove, phrase):
    (read,) = refinements_read([text])
    assert (read.colour, read.remove, read.phrase) == (colour, remove, phrase)


# --- Offline: colour words through the colour attribute ----------------------------------------


@pytest.fixture
def uploaded(client, catalogue, tiny_segmenter, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/find-similar/", {"photo": SimpleUploadedFile("s.jpg", scene_jpeg(), "image/jpeg")}
        )
    assert response.status_code == 302
    return QueryImage.objects.get()


def _result_ids(response) -> list[int]:
    return [
        int(pk)
        for pk in re.findall(
            r'class="fs-card-title"><a href="(?:/ko)?/products/(\d+)/"', response.content.decode()
        )
    ]


def _colour(products, colours: dict[int, str]) -> None:
    """Give each product a colour attribute (green for the chosen ones, else black)."""
    for product in products:
        ProductAttribute.objects.update_or_create(
            product=product,
            name="colour",
            defaults={"value": colours.get(product.pk, "black"), "score": 1.0, "method": "test"},
        )


def test_offline_in_green_keeps_the_green_products_and_the_chip_removes_it(client, uploaded, catalogue):
    green = {catalogue[1].pk, catalogue[6].pk}  # a T-shirt and a pair of trousers
    _colour(catalogue, {pk: "green" for pk in green})
    url = uploaded.get_absolute_url()
    before = client.get(url, {"whole": 1, "f": 1})
    assert before.status_code == 200
    assert len(_result_ids(before)) > len(green)  # every category, every colour

    refined = client.get(url, {"whole": 1, "f": 1, "refine": "in green"})
    html = refined.content.decode()
    assert refined.status_code == 200
    assert set(_result_ids(refined)) == green
    assert 'data-fs-refinement="in green"' in html and "data-fs-unavailable" not in html
    uploaded.refresh_from_db()
    assert uploaded.filters["refine"] == ["in green"]

    # The chip's remove link gives back the search without it.
    remove = re.search(
        r'data-fs-refinement="in green".*?<a href="([^"]+)" data-fs-refinement-remove', html, re.S
    )
    again = client.get(url + remove.group(1).replace("&amp;", "&"))
    assert _result_ids(again) == _result_ids(before)
    assert "data-fs-refinement=" not in again.content.decode()


def test_offline_korean_colour_words_work_and_other_words_say_why(client, uploaded, catalogue):
    _colour(catalogue, {catalogue[2].pk: "green"})
    response = client.get(
        uploaded.get_absolute_url(), {"whole": 1, "f": 1, "refine": ["초록색", "with a hood"]}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert _result_ids(response) == [catalogue[2].pk]
    # The word the offline shop cannot read is shown, marked, with the reason.
    chip = re.search(
        r'<li class="fs-chip is-unavailable" data-fs-refinement="with a hood".*?</li>', html, re.S
    )
    assert chip and "needs the vision-language model" in chip.group(0)


def test_refinements_survive_the_filter_form_and_the_links(client, uploaded, catalogue):
    _colour(catalogue, {})
    html = client.get(uploaded.get_absolute_url(), {"refine": "with a hood"}).content.decode()
    # Kept by the filter form (hidden field), the "like this" box, and the suggestions.
    assert html.count('name="refine" value="with a hood"') >= 2
    assert "refine=with+a+hood&amp;refine=in+green" in html


@pytest.mark.parametrize(
    "params",
    [
        {"refine": ""},
        {"refine": "x" * 300},
        {"refine": [f"w{i}" for i in range(9)]},
        {"refine": "qzxv ptk!! \x07 ☃☃"},
        {"refine": "without"},
    ],
)
def test_bad_refinements_give_normal_results_or_a_sentence(client, uploaded, catalogue, params):
    response = client.get(uploaded.get_absolute_url(), {"whole": 1, **params})
    assert response.status_code == 200
    assert _result_ids(response) or "No products match" in response.content.decode()


def test_the_korean_page_has_the_box_chips_and_reasons_in_korean(client, uploaded, catalogue):
    _colour(catalogue, {catalogue[3].pk: "green"})
    response = client.get(
        f"/ko{uploaded.get_absolute_url()}", {"whole": 1, "f": 1, "refine": ["그린", "후드"]}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "이것과 비슷하지만" in html and "다듬기" in html
    assert _result_ids(response) == [catalogue[3].pk]
    assert "시각-언어 모델이 필요합니다" in html and "“후드” 지우기" in html
