"""Attributes computed without model weights (recommender/attributes.py), on drawn pictures:
the colour name of a garment on a backdrop, stripes and checks from the spectrum; and their
place in indexing (every embedding batch, ``reindex --attributes``), keeping staff corrections."""

from __future__ import annotations

from io import StringIO

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from PIL import Image

from recommender.attributes import (
    COLOUR_METHOD,
    PATTERN_METHOD,
    attributes_compute,
    colour_name,
    pattern_from_spectrum,
)
from recommender.preprocess import garment_on_white
from recommender.selectors import products_pending_attributes
from recommender.services import attributes_compute_batch, embedding_compute_batch
from shop.attributes import ATTRIBUTES, VLM_METHOD
from shop.models import ProductAttribute
from tests.shop.factories import ProductFactory


def garment_photo(fill, *, backdrop=(120, 110, 100), size=(300, 380)) -> Image.Image:
    """A garment (a rectangle painted by ``fill(array)``) on a backdrop, padded on white as
    the catalogue's crop is."""
    photo = Image.new("RGB", size, backdrop)
    garment = np.zeros((size[1] - 80, size[0] - 80, 3), dtype=np.uint8)
    fill(garment)
    photo.paste(Image.fromarray(garment), (40, 40))
    return garment_on_white(photo)


def plain(colour):
    def fill(a):
        a[:] = colour

    return fill


def stripes(a_colour=(200, 30, 30), b_colour=(240, 240, 240), period=12, vertical=False):
    def fill(a):
        a[:] = a_colour
        index = np.arange(a.shape[1] if vertical else a.shape[0])
        on = (index % period) < period // 2
        if vertical:
            a[:, on] = b_colour
        else:
            a[on] = b_colour

    return fill


def checks(period=12):
    def fill(a):
        ys, xs = np.indices(a.shape[:2])
        on = ((ys % period) < period // 2) ^ ((xs % period) < period // 2)
        a[:] = (30, 40, 120)
        a[on] = (235, 235, 235)

    return fill


@pytest.mark.parametrize(
    "colour, name",
    [
        ((200, 30, 30), "red"),
        ((25, 32, 70), "navy"),
        ((30, 150, 60), "green"),
        ((240, 200, 40), "yellow"),
        ((20, 20, 20), "black"),
        ((128, 128, 130), "grey"),
        ((240, 160, 175), "pink"),
        ((40, 90, 200), "blue"),
    ],
)
def test_colour_name_of_a_plain_garment_on_a_backdrop(colour, name):
    guess = colour_name(garment_photo(plain(colour)))
    assert (guess.name, guess.value, guess.method) == ("colour", name, COLOUR_METHOD)
    assert guess.score > 0.9


def test_colour_name_of_a_garment_that_fills_the_photo_is_not_white_balanced_away():
    # The brightest patch is the garment itself: it is no white to balance on.
    red = colour_name(Image.new("RGB", (200, 260), (200, 30, 30)))
    assert red.value == "red"
    navy = colour_name(Image.new("RGB", (200, 260), (25, 32, 70)))
    assert navy.value == "navy"


def test_colour_name_ignores_the_backdrop_and_shadows():
    # A blue garment, a third of it in shadow, on a beige bed: blue.
    def fill(a):
        a[:] = (40, 90, 200)
        a[:, : a.shape[1] // 3] = (25, 45, 90)

    assert colour_name(garment_photo(fill, backdrop=(222, 205, 175))).value == "blue"


@pytest.mark.parametrize("vertical", [False, True])
def test_stripes_show_as_one_periodic_peak(vertical):
    guess = pattern_from_spectrum(garment_photo(stripes(vertical=vertical)))
    assert (guess.value, guess.method) == ("striped", PATTERN_METHOD)
    assert 0 < guess.score <= 1


def test_checks_show_as_two_peaks_at_right_angles():
    guess = pattern_from_spectrum(garment_photo(checks()))
    assert guess.value == "checked"


@pytest.mark.parametrize("colour", [(200, 30, 30), (20, 20, 20), (240, 240, 240)])
def test_a_plain_garment_has_no_periodic_peak_and_is_left_to_the_model(colour):
    guess = pattern_from_spectrum(garment_photo(plain(colour)))
    assert (guess.value, guess.score, guess.method) == ("", None, VLM_METHOD)


def test_every_attribute_is_computed_or_says_it_needs_the_model():
    picture = garment_photo(stripes())
    guesses = {g.name: g for g in attributes_compute(picture)}
    assert list(guesses) == list(ATTRIBUTES)
    assert guesses["colour"].value in ("red", "white")
    # Off by default (it measured too few right on real photos): pattern waits for the model.
    assert (guesses["pattern"].value, guesses["pattern"].method) == ("", VLM_METHOD)
    for name in ("hood", "logo", "sleeve", "neckline"):
        assert (guesses[name].value, guesses[name].method) == ("", VLM_METHOD)
    on = {g.name: g for g in attributes_compute(picture, pattern_from_spectrum_on=True)}
    assert on["pattern"].value == "striped"


def _photo_bytes(picture: Image.Image) -> bytes:
    from io import BytesIO

    buffer = BytesIO()
    picture.save(buffer, "PNG")  # lossless: the stripes stay sharp
    return buffer.getvalue()


def _product(title, fill):
    return ProductFactory(
        title=title,
        image=ContentFile(_photo_bytes(garment_photo(fill)), name=f"{title}.png"),
        image_sha256=title,
    )


def _values(product) -> dict[str, tuple[str, str]]:
    return {a.name: (a.value, a.source) for a in ProductAttribute.objects.filter(product=product)}


@pytest.mark.django_db
def test_an_embedding_batch_stores_attributes_and_keeps_staff_corrections(settings):
    settings.RECOMMENDER_PATTERN_FROM_SPECTRUM = True
    shirt = _product("striped-shirt", stripes(a_colour=(25, 32, 70)))
    tee = _product("green-tee", plain((30, 150, 60)))
    embedding_compute_batch(product_ids=[shirt.pk, tee.pk])
    assert _values(tee)["colour"] == ("green", "computed")
    assert _values(shirt)["pattern"] == ("striped", "computed")
    assert _values(tee)["pattern"] == ("", "computed")
    assert _values(tee)["hood"] == ("", "computed")
    assert ProductAttribute.objects.get(product=tee, name="hood").method == VLM_METHOD
    assert ProductAttribute.objects.get(product=tee, name="colour").image_sha256 == "green-tee"

    ProductAttribute.objects.filter(product=tee, name="colour").update(value="beige", source="staff")
    embedding_compute_batch(product_ids=[tee.pk])
    assert _values(tee)["colour"] == ("beige", "staff")


@pytest.mark.django_db
def test_reindex_attributes_computes_what_is_missing_or_stale_with_a_progress_bar(settings):
    settings.RECOMMENDER_PATTERN_FROM_SPECTRUM = True
    striped = _product("stripes", stripes())
    plain_red = _product("red", plain((200, 30, 30)))
    assert products_pending_attributes() == [striped.pk, plain_red.pk]

    out, err = StringIO(), StringIO()
    call_command("reindex", "--attributes", stdout=out, stderr=err)
    assert "2 products to compute attributes for." in out.getvalue()
    assert "Computed attributes of 2 products; 0 flagged." in out.getvalue()
    assert "2/2" in err.getvalue()  # tqdm's bar
    assert _values(striped)["pattern"] == ("striped", "computed")
    assert _values(plain_red)["colour"] == ("red", "computed")
    assert products_pending_attributes() == []

    # A new photo makes the product's attributes stale; --all recomputes everything.
    type(plain_red).objects.filter(pk=plain_red.pk).update(image_sha256="new")
    assert products_pending_attributes() == [plain_red.pk]
    assert products_pending_attributes(all_products=True) == [striped.pk, plain_red.pk]
    out = StringIO()
    call_command("reindex", "--attributes", "--all", stdout=out, stderr=StringIO())
    assert "2 products to compute attributes for." in out.getvalue()


@pytest.mark.django_db
def test_an_unreadable_photo_is_flagged_and_the_rest_computed():
    good = _product("good", plain((30, 150, 60)))
    bad = ProductFactory(image=ContentFile(b"not an image", name="bad.jpg"))
    done, failed = attributes_compute_batch(product_ids=[bad.pk, good.pk])
    assert done == 1 and list(failed) == [bad.pk]
    assert _values(good)["colour"] == ("green", "computed")
    bad.refresh_from_db()
    assert bad.image_error
