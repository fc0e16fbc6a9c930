"""Refining a photo search in words, in real headless Chromium against a live server: upload,
search the whole photo, refine "in green", see the chip and the green products, remove the
chip, see the first results again (offline: the colour attribute does the work)."""

from __future__ import annotations

import re

import pytest

from shop.models import ProductAttribute
from tests.find_similar.support import _fresh_rate_limits, catalogue_create, scene_jpeg  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shown(page) -> list[str]:
    return page.locator("[data-fs-result-item] .fs-card-title a").all_inner_texts()


def test_refine_in_green_then_remove_the_chip(page, live_server, settings, tiny_segmenter):
    settings.RECOMMENDER_MAX_DISTANCE = 2.0
    products = catalogue_create()
    green = {products[1].title, products[6].title}
    for product in products:
        ProductAttribute.objects.update_or_create(
            product=product,
            name="colour",
            defaults={
                "value": "green" if product.title in green else "black",
                "score": 1.0,
                "method": "test",
            },
        )
    page.goto(f"{live_server.url}/find-similar/")
    page.set_input_files(
        'input[type="file"]', files=[{"name": "street.jpg", "mimeType": "image/jpeg", "buffer": scene_jpeg()}]
    )
    page.get_by_role("button", name="Upload and find garments").click()
    page.wait_for_url(re.compile(r"/find-similar/[0-9a-f-]{36}/"))
    page.get_by_role("link", name="Use the whole photo").click()
    page.wait_for_url(re.compile(r"whole=1"))
    before = _shown(page)
    assert len(before) == len(products)

    page.fill("[data-fs-refine-input]", "in green")
    page.get_by_role("button", name="Refine", exact=True).click()
    page.wait_for_url(re.compile(r"refine=in\+green"))
    chip = page.locator('[data-fs-refinement="in green"]')
    assert chip.is_visible() and chip.get_attribute("data-fs-unavailable") is None
    assert set(_shown(page)) == green

    chip.locator("[data-fs-refinement-remove]").click()
    page.wait_for_url(lambda url: "refine=" not in url)
    assert page.locator("[data-fs-refinement]").count() == 0
    assert _shown(page) == before
