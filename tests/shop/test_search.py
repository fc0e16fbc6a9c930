"""The search box without a description ranking (shop/search.py): with the text model off, or
no ranker registered at all, results are today's title and brand matches, and a query that
looks like a description says in one line why it was not searched by description."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from shop.search import description_ranker, description_ranker_register, looks_like_description
from shop.selectors import product_browse
from tests.shop.factories import ProductFactory

pytestmark = pytest.mark.django_db

OFF = "Searching by what the photos show is turned off on this shop"
ABSENT = "Searching by description needs the vision-language model"


@pytest.fixture
def catalogue():
    for title in ("Red striped shirt", "Red top", "Striped skirt", "Black leather jacket", "Wool coat"):
        ProductFactory(title=title)


@pytest.fixture
def no_ranker():
    """The shop as if no app had registered a description ranker."""
    saved = description_ranker()
    description_ranker_register(None)
    yield
    description_ranker_register(saved)


def _titles(client, q: str, **filters) -> tuple[list[str], str]:
    response = client.get("/?" + urlencode({"q": q, **filters}))
    assert response.status_code == 200
    return [p.title for p in response.context["products"]], response.content.decode()


def test_the_recommender_registers_its_ranker():
    assert description_ranker() is not None


@pytest.mark.parametrize("q", ["red striped shirt", "Striped", "jaket", "red"])
def test_with_the_text_model_off_results_are_the_title_matches(client, settings, catalogue, q):
    settings.RECOMMENDER_TEXT_MODEL = ""
    titles, html = _titles(client, q)
    assert titles == [p.title for p in product_browse(q=q)]
    # A description says why it was matched on titles only; a single word needs no notice.
    assert (OFF in html) == (len(q.split()) > 1)


def test_without_a_ranker_a_description_says_so_and_matches_titles(client, catalogue, no_ranker):
    titles, html = _titles(client, "red striped shirt")
    assert titles == [p.title for p in product_browse(q="red striped shirt")] and titles
    assert ABSENT in html
    titles, html = _titles(client, "shirt")
    assert titles == ["Red striped shirt"] and ABSENT not in html


def test_a_korean_word_is_a_description(client, settings, catalogue):
    settings.RECOMMENDER_TEXT_MODEL = ""
    titles, html = _titles(client, "자켓")
    assert titles == [] and OFF in html
    assert looks_like_description("자켓") and looks_like_description("red shirt")
    assert not looks_like_description(" shirt ")


def test_the_notice_is_translated(client, settings, catalogue):
    settings.RECOMMENDER_TEXT_MODEL = ""
    html = client.get("/ko/?" + urlencode({"q": "red striped shirt"})).content.decode()
    assert "search-notice" in html and OFF not in html


def test_the_notice_without_a_ranker_is_translated(client, catalogue, no_ranker):
    html = client.get("/ko/?" + urlencode({"q": "red striped shirt"})).content.decode()
    assert "설명으로 검색하려면" in html and ABSENT not in html


@pytest.mark.parametrize(
    "q",
    ["", "   ", "x" * 200, "red shirt " * 25, "zxqv blorp wq", "\x00\x1f red", "%' OR 1=1 --", "🧥 🧥"],
)
def test_bad_queries_give_a_page_never_an_error(client, settings, catalogue, q):
    settings.RECOMMENDER_TEXT_MODEL = ""
    response = client.get("/?" + urlencode({"q": q}))
    assert response.status_code == 200
    html = response.content.decode()
    if len(q) > 200:  # refused by the form with its notice; every product is listed
        assert "Some filters could not be used" in html and len(response.context["products"]) == 5


def test_the_filters_apply_to_a_description_search(client, settings, catalogue):
    settings.RECOMMENDER_TEXT_MODEL = ""
    brand = ProductFactory(title="Striped scarf").brand
    titles, _ = _titles(client, "striped scarf", brand=brand.slug)
    assert titles == ["Striped scarf"]
