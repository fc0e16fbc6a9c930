"""Find similar in headless Chromium on a photo of a person with no segmenter weights
installed: the page outlines the top and the bottoms placed on the body
(recommender/regions.py), and picking one searches that region (issue 13)."""

from __future__ import annotations

import re

import pytest

from find_similar.models import QueryImage
from tests.find_similar.support import _fresh_rate_limits, catalogue_create, jpeg  # noqa: F401
from tests.recommender.test_regions import FOUND, painted_person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _query_colours(page) -> str:
    """The searched region's colour chart (the filled polygon every result card shows)."""
    return page.locator("[data-fs-result-item] svg.colour-plot polygon").first.get_attribute("points")


def test_person_photo_offers_top_and_bottoms_and_searches_the_one_picked(
    page, live_server, settings, tmp_path
):
    settings.RECOMMENDER_MAX_DISTANCE = 2.0
    settings.RECOMMENDER_SEGMENTER = str(tmp_path / "not-installed")  # no weights: body regions
    catalogue_create()
    # The upload is processed inside the request (no broker): the failed segmenter load
    # imports transformers once, and the body regions run GrabCut three times.
    page.set_default_timeout(60_000)
    page.goto(f"{live_server.url}/find-similar/")
    page.set_input_files(
        'input[type="file"]',
        files=[{"name": "person.jpg", "mimeType": "image/jpeg", "buffer": jpeg(painted_person(FOUND).image)}],
    )
    page.get_by_role("button", name="Upload and find garments").click()
    page.wait_for_url(re.compile(r"/find-similar/[0-9a-f-]{36}/"))
    upload = QueryImage.objects.get()
    assert upload.status == QueryImage.Status.READY

    # The page says where the garments come from and outlines the top and the bottoms.
    assert page.locator("[data-fs-body-regions]").is_visible()
    kinds = [g["kind"] for g in upload.garments]
    assert kinds[:2] == ["top", "bottoms"]
    outlines = page.locator(".fs-garment")
    assert outlines.count() == len(kinds)
    for i, label in ((0, "Top"), (1, "Bottoms")):
        outline = page.locator(f'.fs-garment[data-garment="{i}"]')
        assert outline.locator("text").text_content().strip() == label
        assert outline.locator("path").get_attribute("d").startswith("M")
    # The top is searched first.
    assert page.locator(".fs-garment.is-selected").get_attribute("data-garment") == "0"
    assert page.locator(".fs-chip.is-selected").inner_text().strip() == "Top"
    assert page.locator("[data-fs-result-item]").count() > 0
    top_colours, top_results = _query_colours(page), list(upload.results)

    # Pick the bottoms on the photo: the bottoms region is searched.
    page.locator('.fs-garment[data-garment="1"]').press("Enter")
    page.wait_for_url(re.compile(r"garment=1"))
    assert page.locator(".fs-garment.is-selected").get_attribute("data-garment") == "1"
    assert page.locator(".fs-chip.is-selected").inner_text().strip() == "Bottoms"
    upload.refresh_from_db()
    assert upload.chosen["garment"] == 1
    assert page.locator("[data-fs-result-item]").count() > 0
    assert _query_colours(page) != top_colours  # another region's colours went into the search
    assert upload.results != top_results
