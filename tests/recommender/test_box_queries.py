"""The result page's ``?box=`` comes from anyone's address bar: every value is read by one
form field, and a bad one is a sentence on the page, never a server error (issue 11, item 2)."""

from __future__ import annotations

import pytest

from recommender.forms import SearchForm
from tests.recommender.find_similar_support import (  # noqa: F401
    _fresh_rate_limits,
    _module_catalogue,
    catalogue_fixture,
)
from tests.recommender.test_find_similar import uploaded  # noqa: F401

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
