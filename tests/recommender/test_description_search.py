"""The shop's search box ranked by description (recommender/description.py registered into
shop/search.py), on the real database with the tiny random CLIP as the text model. Expected
orders come from the model itself (its vectors, compared in numpy), never from faked outputs."""

from __future__ import annotations

from urllib.parse import urlencode

import numpy as np
import pytest

from recommender.embedders import get_embedder, text_model_key
from recommender.models import Embedding
from recommender.tasks import embed_pending
from shop.models import Product
from shop.selectors import product_browse
from tests.shop.factories import photo_product

pytestmark = pytest.mark.django_db

# Titles and brands ("Brand N") share no trigram with the descriptions searched below, so the
# title match adds nothing and the page's order is the photos' order.
CATALOGUE = {
    "Item 1": ((200, 30, 30), "top", 10000),
    "Item 2": ((30, 30, 200), "top", 11000),
    "Item 3": ((30, 160, 30), "skirt", 12000),
    "Item 4": ((230, 210, 40), "skirt", 13000),
    "Item 5": ((20, 20, 20), "top", 14000),
}
WORDS = "red striped shirt"


@pytest.fixture
def catalogue(tiny_text_model) -> dict[str, Product]:
    products = {
        title: photo_product(title, colour, price, kind=kind)
        for title, (colour, kind, price) in CATALOGUE.items()
    }
    Product.objects.update(needs_embedding=True)
    embed_pending()  # vectors of both models (eager Celery: in this process)
    return products


def _by_the_model(words: str, products) -> list[str]:
    """Titles by the cosine distance of their text-model vectors to the words' vector."""
    query = get_embedder("fashion-clip").embed_text([words])[0]
    rows = dict(
        Embedding.objects.filter(model_key=text_model_key(), product__in=products).values_list(
            "product__title", "vector"
        )
    )
    return sorted(rows, key=lambda title: 1 - float(np.asarray(rows[title], dtype=np.float32) @ query))


def _page(client, q: str, **filters) -> tuple[list[str], str]:
    response = client.get("/?" + urlencode({"q": q, **filters}))
    assert response.status_code == 200
    return [p.title for p in response.context["products"]], response.content.decode()


def test_the_photo_nearest_the_words_ranks_first_though_no_title_matches(client, catalogue):
    assert list(product_browse(q=WORDS)) == []  # the title search alone finds nothing
    titles, html = _page(client, WORDS)
    expected = _by_the_model(WORDS, catalogue.values())
    assert titles == expected and len(titles) == len(CATALOGUE)
    assert "search-notice" not in html


def test_title_matches_outside_the_nearest_photos_are_blended_in(client, settings, catalogue):
    settings.SHOP_SEARCH_DESCRIPTION_POOL = 2
    nearest = _by_the_model(WORDS, catalogue.values())
    titled = photo_product("Red striped shirt", (120, 120, 120), 9000)  # no vector yet: outside the pool
    titles, _ = _page(client, WORDS)
    assert set(titles) == {*nearest[:2], titled.title}
    # Words only: the title match is ranked at the farthest photo's similarity (the floor): it
    # ties with that photo (the newer first), after the nearest.
    settings.SHOP_SEARCH_DESCRIPTION_WEIGHT = 1.0
    titles = _page(client, WORDS)[0]
    assert titles[0] == nearest[0] and set(titles[1:]) == {nearest[1], titled.title}
    # Titles only: the exact title first, then the photos by their (equal, zero) title match.
    settings.SHOP_SEARCH_DESCRIPTION_WEIGHT = 0.0
    assert _page(client, WORDS)[0][0] == titled.title
    # The default blends both: the exact title (similarity 1) outweighs the random photos.
    settings.SHOP_SEARCH_DESCRIPTION_WEIGHT = 0.5
    assert _page(client, WORDS)[0][0] == titled.title


@pytest.mark.parametrize(
    ("filters", "kept"),
    [
        ({"category": "skirt"}, {"Item 3", "Item 4"}),
        ({"price_max": "11500", "currency": "KRW"}, {"Item 1", "Item 2"}),
        ({"price_min": "12500"}, {"Item 4", "Item 5"}),
    ],
)
def test_the_filters_apply(client, catalogue, filters, kept):
    titles, _ = _page(client, WORDS, **filters)
    assert titles == [t for t in _by_the_model(WORDS, catalogue.values()) if t in kept]


def test_the_brand_filter_applies(client, catalogue):
    brand = catalogue["Item 4"].brand
    assert _page(client, WORDS, brand=brand.slug)[0] == ["Item 4"]


def test_korean_words_match_titles_and_say_why(client, catalogue):
    photo_product("검정 가죽 자켓", (10, 10, 10), 9000)
    titles, html = _page(client, "검정 가죽 자켓")
    assert titles == ["검정 가죽 자켓"]
    assert "understands English words only" in html


def test_missing_weights_match_titles_and_say_why(client, settings, catalogue, tmp_path):
    settings.RECOMMENDER_FASHION_CLIP = str(tmp_path / "not-installed")
    titled = photo_product("Red striped shirt", (120, 120, 120), 9000)
    titles, html = _page(client, WORDS)
    assert titles == [titled.title] == [p.title for p in product_browse(q=WORDS)]
    assert "unavailable because its model is not installed" in html


@pytest.mark.parametrize("q", ["", "x" * 200, "qzxv blorp ### ☃", "a " * 100, "\x01\x02"])
def test_bad_queries_give_normal_results(client, catalogue, q):
    titles, _ = _page(client, q)
    assert sorted(titles) == sorted(CATALOGUE)


def test_query_count_is_pinned(client, settings, catalogue, django_assert_num_queries):
    _page(client, WORDS)  # loads the text tower and caches the words' vector
    # Currencies, brands, the attribute facets, the count and the page; the description adds its
    # nearest-products search (a savepoint around the index settings, the plan count and the lookup) and the
    # products it names.
    with django_assert_num_queries(5 + 6):
        _page(client, WORDS)
    # Off: no model, no lookup; no title matches either, so no page query after the count.
    settings.RECOMMENDER_TEXT_MODEL = ""
    with django_assert_num_queries(4):
        _page(client, WORDS)
