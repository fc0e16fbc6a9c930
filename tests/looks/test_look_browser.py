"""Complete the look in real headless Chromium against a live server: upload an outfit photo,
open "Complete the look within a budget", set a budget, swap one garment and see the total
change (live, then as stored)."""

from __future__ import annotations

import os
import re
from decimal import Decimal

import pytest

from looks.models import Look
from tests.find_similar.support import catalogue_create
from tests.looks.conftest import outfit_jpeg

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("LOOKALIKE_SCREENSHOTS")  # a folder: save screenshots there to look at


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"look-{name}.png"), full_page=True)


def _won(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text))


def test_upload_set_a_budget_swap_a_garment_and_see_the_total_change(page, live_server, settings, tmp_path):
    # No segmenter weights: the garments are placed on the painted person's body (or, found
    # nowhere, the main object is one garment), as on a server without downloaded models.
    settings.RECOMMENDER_SEGMENTER = str(tmp_path / "no-weights-here")
    settings.RECOMMENDER_MAX_DISTANCE = 2.0
    catalogue_create()
    page.goto(f"{live_server.url}/find-similar/")
    page.set_input_files(
        'input[type="file"]',
        files=[{"name": "outfit.jpg", "mimeType": "image/jpeg", "buffer": outfit_jpeg()}],
    )
    page.get_by_role("button", name="Upload and find garments").click()
    page.wait_for_url(re.compile(r"/find-similar/[0-9a-f-]{36}/"))

    page.get_by_role("link", name="Complete the look within a budget").click()
    page.wait_for_url(re.compile(r"/looks/new/[0-9a-f-]{36}/"))
    garments = page.locator('input[name="parts"]').count()
    # Add a garment by dragging a box on the photo (around the shoes): one line in the form.
    stage = page.locator("[data-lk-stage]").bounding_box()
    page.mouse.move(stage["x"] + stage["width"] * 0.3, stage["y"] + stage["height"] * 0.78)
    page.mouse.down()
    page.mouse.move(stage["x"] + stage["width"] * 0.7, stage["y"] + stage["height"] * 0.97, steps=5)
    page.mouse.up()
    assert re.fullmatch(r"\d+,\d+,\d+,\d+", page.locator('textarea[name="boxes"]').input_value())
    _shot(page, "1-form")
    page.fill('input[name="budget"]', "150,000")
    page.get_by_role("button", name="Put the look together").click()
    page.wait_for_url(re.compile(r"/looks/[0-9a-f-]{36}/$"))
    page.wait_for_selector("[data-lk-total]")
    _shot(page, "2-look")
    look = Look.objects.get()
    slots = list(look.slots.select_related("product"))
    assert len(slots) == garments + 1 and slots[-1].region_key.startswith("b")
    assert all(s.product for s in slots)
    first_total = _won(page.locator("[data-lk-total]").inner_text())
    assert first_total == sum(s.product.price for s in slots) <= 150000

    # Swap the first garment for another candidate: the total follows at once (JavaScript).
    current = slots[0].product
    options = page.locator(f'input[name="slot-{slots[0].position}"]:not([value="empty"])')
    values = [v for v in options.evaluate_all("inputs => inputs.map(i => i.value)") if v != str(current.pk)]
    assert values, "the garment has other candidates"
    other = next(int(v) for v in values)
    page.locator(f'input[name="slot-{slots[0].position}"][value="{other}"]').check()
    from shop.models import Product

    other_price = Product.objects.get(pk=other).price
    live_total = _won(page.locator("[data-lk-total]").inner_text())
    assert live_total == first_total - current.price + other_price != first_total
    _shot(page, "3-swapped-live")

    # Stored: the pick is kept, the others are chosen again around it within the budget.
    page.get_by_role("button", name="Update the look").click()
    page.wait_for_load_state()
    page.wait_for_selector("text=your pick")
    slots = list(look.slots.select_related("product"))
    assert slots[0].product_id == other and slots[0].pinned
    stored_total = _won(page.locator("[data-lk-total]").inner_text())
    assert stored_total == sum(s.product.price for s in slots if s.product) <= 150000
    assert stored_total != first_total
    assert Decimal(stored_total) == sum((s.price for s in slots if s.price), Decimal(0))
    _shot(page, "4-swapped-stored")
