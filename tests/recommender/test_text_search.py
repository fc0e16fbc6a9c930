"""Searching by description (selectors.products_matching_text) and indexing for both models
(tasks.embed_pending), on the real database with a tiny random CLIP as the text model. The
expected ranking is computed through the model itself, never from faked outputs."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.embedders import active_model_key, get_embedder, text_model_key
from recommender.models import Embedding
from recommender.selectors import products_matching_text
from recommender.tasks import embed_pending
from recommender.words import Reason
from shop.models import Product
from tests.shop.factories import photo_product

pytestmark = pytest.mark.django_db

COLOURS = {
    "Red top": ((200, 30, 30), "top"),
    "Blue top": ((30, 30, 200), "top"),
    "Green skirt": ((30, 160, 30), "skirt"),
    "Yellow skirt": ((230, 210, 40), "skirt"),
    "Black top": ((20, 20, 20), "top"),
}


def _catalogue() -> dict[str, Product]:
    products = {
        title: photo_product(title, colour, 10000 + i * 1000, kind=kind)
        for i, (title, (colour, kind)) in enumerate(COLOURS.items())
    }
    Product.objects.filter(pk__in=[p.pk for p in products.values()]).update(needs_embedding=True)
    return products


def _ranking_by_the_model(words: str, ids: list[int]) -> list[int]:
    """Product ids by the cosine distance of their stored text-model vectors to the words'
    vector, computed here in numpy."""
    query = get_embedder("fashion-clip").embed_text([words])[0]
    rows = dict(
        Embedding.objects.filter(model_key=text_model_key(), product_id__in=ids).values_list(
            "product_id", "vector"
        )
    )
    distance = {pk: 1 - float(np.asarray(rows[pk], dtype=np.float32) @ query) for pk in ids}
    return sorted(ids, key=distance.get)


def test_the_sweep_embeds_every_product_for_both_models(tiny_text_model):
    products = _catalogue()
    ids = sorted(p.pk for p in products.values())
    assert embed_pending() == 2  # one batch per model (eager Celery: run in-process)
    for key, dim in ((active_model_key(), 1280), (text_model_key(), 512)):
        rows = Embedding.objects.filter(model_key=key)
        assert sorted(rows.values_list("product_id", flat=True)) == ids
        assert all(len(np.asarray(v)) == dim for v in rows.values_list("vector", flat=True))
    assert {m for m in Embedding.objects.values_list("model_name", flat=True)} == {
        "efficientnet-lite0",
        "fashion-clip",
    }
    assert not Product.objects.needing_embedding().exists()
    # Nothing left for either model: the next sweep queues nothing.
    assert embed_pending() == 0
    # A changed image needs new vectors of both.
    red = products["Red top"]
    Product.objects.filter(pk=red.pk).update(image_sha256="changed", needs_embedding=True)
    assert embed_pending() == 2
    assert set(Embedding.objects.filter(product=red).values_list("image_sha256", flat=True)) == {"changed"}


def test_without_a_text_model_the_sweep_embeds_for_the_image_model_only(settings):
    settings.RECOMMENDER_TEXT_MODEL = ""
    _catalogue()
    assert embed_pending() == 1
    assert set(Embedding.objects.values_list("model_name", flat=True)) == {"efficientnet-lite0"}


def test_words_rank_the_product_whose_image_is_nearest_first(tiny_text_model):
    products = _catalogue()
    embed_pending()
    ids = [p.pk for p in products.values()]
    for words in ("red striped shirt", "floral midi skirt", "black leather jacket"):
        expected = _ranking_by_the_model(words, ids)
        found = products_matching_text(text=words, k=10)
        assert found.available and found.model_key == text_model_key() and found.text == words
        assert [item.product.pk for item in found.results] == expected, words
        assert found.results[0].distance <= found.results[-1].distance


def test_words_search_with_the_usual_filters(tiny_text_model):
    products = _catalogue()
    embed_pending()
    skirts = [products["Green skirt"].pk, products["Yellow skirt"].pk]
    found = products_matching_text(text="striped long-sleeve tee", categories=["skirt"])
    assert [item.product.pk for item in found.results] == _ranking_by_the_model(
        "striped long-sleeve tee", skirts
    )
    cheap = products_matching_text(text="striped long-sleeve tee", price_max=11000, currency="KRW")
    assert {item.product.pk for item in cheap.results} <= {products["Red top"].pk, products["Blue top"].pk}
    paged = products_matching_text(text="striped long-sleeve tee", k=2, offset=1)
    everything = products_matching_text(text="striped long-sleeve tee", k=10)
    assert [i.product.pk for i in paged.results] == [i.product.pk for i in everything.results[1:3]]


@pytest.mark.parametrize(
    ("text", "code"),
    [("", Reason.EMPTY), ("검정 가죽 자켓", Reason.LANGUAGE)],
)
def test_queries_that_cannot_be_ranked_say_why(tiny_text_model, text, code):
    _catalogue()
    embed_pending()
    found = products_matching_text(text=text)
    assert found.results == [] and found.code == code and found.reason


def test_long_and_nonsense_queries_give_normal_results(tiny_text_model):
    _catalogue()
    embed_pending()
    for text in ("x" * 5000, "qzxv blorp ### ☃", "a " * 300):
        found = products_matching_text(text=text, k=10)
        assert found.available and len(found.results) == len(COLOURS), text


def test_without_a_text_model_nothing_is_ranked_and_the_page_can_say_so(settings):
    settings.RECOMMENDER_TEXT_MODEL = ""
    _catalogue()
    embed_pending()
    found = products_matching_text(text="black leather jacket")
    assert found.results == [] and found.code == Reason.OFF and not found.available


def test_reindex_embeds_the_catalogue_for_the_text_model_and_resumes(tiny_text_model):
    from io import StringIO

    from django.core.management import call_command

    products = _catalogue()
    out = StringIO()
    call_command("reindex", "--model", "fashion-clip", stdout=out, verbosity=0)
    assert f"Embedded {len(products)} products with {text_model_key()}" in out.getvalue()
    assert Embedding.objects.filter(model_key=text_model_key()).count() == len(products)
    # The image model's marks are its own: still there for its sweep.
    assert Product.objects.needing_embedding().count() == len(products)
    again = StringIO()
    call_command("reindex", "--model", "fashion-clip", stdout=again, verbosity=0)
    assert "0 products to embed" in again.getvalue()
