"""The result page's ``?box=`` comes from anyone's address bar: every value is read by one
form field, and a bad one is a sentence on the page, never a server error (issue 11, item 2)."""

from __future__ import annotations

import pytest

from find_similar.forms import SearchForm
from tests.find_similar.support import (  # noqa: F401
    _fresh_rate_limits,
    _module_catalogue,
    catalogue_fixture,
)
from tests.find_similar.test_find_similar import uploaded  # noqa: F401

pytestmark = pytest.mark.django_db

HOSTILE_BOXES = [
    "inf,0,10,10",
    "0,-inf,10,10",
    "nan,0,10,10",
    "1e400,0,10,10",
    "9" * 70 + ",0,10,10",
    "-1e308,0,10,10",
    "0x10,0,10,10",
    "1,2,3",
    "1,2,3,4,5",
    ",,,",
    "1e5,1e5,2e5,2e5",
]


@pytest.mark.parametrize("box", HOSTILE_BOXES)
def test_box_field_refuses_non_finite_huge_and_miscounted_values(box):
    form = SearchForm({"box": box}, categories=[], brands=[])
    assert not form.is_valid()
    assert form.errors["box"] == ["The crop box could not be read. Please draw it again."]


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        ("10,20,110,220", (10, 20, 110, 220)),
        ("110.4,220.6,10,20", (110, 221, 10, 20)),
        ("-5,0,50,60", (-5, 0, 50, 60)),
    ],
)
def test_box_field_reads_plain_numbers_in_any_order(box, expected):
    form = SearchForm({"box": box}, categories=[], brands=[])
    assert form.is_valid(), form.errors
    assert form.cleaned_data["box"] == expected


def test_hostile_boxes_on_the_result_page_are_a_message_not_a_500(client, uploaded):  # noqa: F811
    url = uploaded.get_absolute_url()
    for box in HOSTILE_BOXES:
        response = client.get(url, {"box": box})
        assert response.status_code == 200, box
        assert "Please draw it again." in response.content.decode(), box
    # Reversed and negative corners are the shopper's drag direction: read, ordered and clipped.
    response = client.get(url, {"box": f"{uploaded.width + 500},{uploaded.height},-40,0"})
    assert response.status_code == 200
    uploaded.refresh_from_db()
    assert uploaded.chosen["box"] == [0, 0, uploaded.width, uploaded.height]


# --- Item 8: box changes cost model work, so they are snapped, rate-limited and queued ------


def _box_regions(upload):
    from find_similar.models import QueryRegion

    return QueryRegion.objects.filter(upload=upload, key__startswith="b")


def test_boxes_are_snapped_to_a_grid_so_nearby_boxes_share_one_computed_region(client, uploaded):  # noqa: F811
    from find_similar.refine import BOX_GRID, box_snap

    w, h = uploaded.width, uploaded.height
    on_grid = [
        round(8 * w / BOX_GRID),
        round(6 * h / BOX_GRID),
        round(24 * w / BOX_GRID),
        round(27 * h / BOX_GRID),
    ]
    drawn = tuple(v + 2 for v in on_grid)
    nudged = tuple(v - 2 for v in on_grid)  # the same box, dragged a few pixels off
    snapped = box_snap(drawn, width=w, height=h)
    assert snapped == box_snap(nudged, width=w, height=h)
    for value in (snapped[0] * BOX_GRID / w, snapped[3] * BOX_GRID / h):
        assert abs(value - round(value)) < 0.05  # on the grid (up to the pixel rounding)
    before = _box_regions(uploaded).count()
    for box in (drawn, nudged):
        response = client.get(uploaded.get_absolute_url(), {"box": ",".join(map(str, box))})
        assert response.status_code == 200
        uploaded.refresh_from_db()
        assert uploaded.chosen["box"] == list(snapped)
    assert _box_regions(uploaded).count() == before + 1  # GrabCut and the embedding ran once


def test_new_boxes_are_rate_limited_per_client_and_known_ones_are_free(client, uploaded, settings):  # noqa: F811
    settings.FIND_SIMILAR_BOX_RATE = "2/m"
    url = uploaded.get_absolute_url()
    w, h = uploaded.width, uploaded.height
    boxes = [f"0,0,{w // 2},{h // 2}", f"{w // 2},0,{w},{h // 2}", f"0,{h // 2},{w // 2},{h}"]
    assert client.get(url, {"box": boxes[0]}).status_code == 200
    assert client.get(url, {"box": boxes[1]}).status_code == 200
    limited = client.get(url, {"box": boxes[2]})
    assert limited.status_code == 429
    html = limited.content.decode()
    assert "many boxes in a short time" in html and "Please wait a few minutes" in html
    # A box already computed costs nothing and is not limited; nor are garments or filters.
    assert client.get(url, {"box": boxes[0]}).status_code == 200
    assert client.get(url, {"whole": 1}).status_code == 200
    # Another shopper has their own budget.
    assert client.get(url, {"box": boxes[2]}, REMOTE_ADDR="198.51.100.4").status_code == 200
