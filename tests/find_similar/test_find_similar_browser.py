"""Find similar in real headless Chromium against a live server: upload, pick a garment,
narrow the price range, draw a crop box, open a result."""

from __future__ import annotations

import os
import re
from decimal import Decimal

import pytest

from find_similar.models import QueryImage
from tests.find_similar.support import _fresh_rate_limits, catalogue_create, scene_jpeg  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("LOOKALIKE_SCREENSHOTS")  # a folder: save screenshots there to look at


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_upload_pick_garment_filter_and_open_a_result(page, live_server, settings, tiny_segmenter):
    settings.RECOMMENDER_MAX_DISTANCE = 2.0
    products = catalogue_create()
    page.goto(f"{live_server.url}/find-similar/")
    _shot(page, "1-upload")
    page.set_input_files(
        'input[type="file"]', files=[{"name": "street.jpg", "mimeType": "image/jpeg", "buffer": scene_jpeg()}]
    )
    assert page.locator("[data-fs-preview]").is_visible()  # the JS preview of the chosen file
    page.get_by_role("button", name="Upload and find garments").click()
    page.wait_for_url(re.compile(r"/find-similar/[0-9a-f-]{36}/"))
    upload = QueryImage.objects.get()
    assert upload.status == QueryImage.Status.READY and upload.garments
    _shot(page, "2-result")

    # Pick a garment other than the preselected one, by its outline on the photo, from the
    # keyboard: the tiny random segmenter's masks can be ring-shaped, so the centre of an
    # outline's bounding box (where a mouse click lands) may be a hole in it.
    other = next(i for i in range(len(upload.garments)) if i != upload.chosen.get("garment"))
    page.locator(f'.fs-garment[data-garment="{other}"]').press("Enter")
    page.wait_for_url(re.compile(rf"garment={other}"))
    assert page.locator(".fs-chip.is-selected").inner_text() != ""
    upload.refresh_from_db()
    assert upload.chosen["garment"] == other

    # Every category, then narrow the price range.
    page.locator('input[name="category"]').evaluate_all("boxes => boxes.forEach(b => b.checked = false)")
    page.get_by_role("button", name="Update results").click()
    page.wait_for_load_state()
    all_count = page.locator("[data-fs-result-item]").count()
    assert all_count == len(products)
    page.fill('input[name="price_min"]', "20000")
    page.fill('input[name="price_max"]', "40000")
    page.get_by_role("button", name="Update results").click()
    page.wait_for_url(re.compile(r"price_max=40000"))
    prices = [Decimal(p) for p in QueryImage.objects.get().results and _prices(upload)]
    assert prices and all(Decimal(20000) <= p <= Decimal(40000) for p in prices)
    assert page.locator("[data-fs-result-item]").count() == len(prices) < all_count
    assert page.locator("[data-fs-result-item] svg.colour-plot").count() == len(prices)
    _shot(page, "3-filtered")

    # Drag a crop box around the T-shirt: the page searches the GrabCut-refined region.
    page.get_by_role("button", name="Drag a box").click()
    stage = page.locator("[data-fs-stage]").bounding_box()
    page.mouse.move(stage["x"] + stage["width"] * 0.25, stage["y"] + stage["height"] * 0.17)
    page.mouse.down()
    page.mouse.move(stage["x"] + stage["width"] * 0.75, stage["y"] + stage["height"] * 0.88, steps=5)
    drawing = page.locator("[data-fs-drawing]")
    assert drawing.get_attribute("hidden") is None and float(drawing.get_attribute("width")) > 100
    page.mouse.up()
    page.wait_for_url(re.compile(r"box=\d+%2C\d+%2C\d+%2C\d+"))
    assert page.locator("[data-fs-refined]").get_attribute("d").startswith("M")
    upload.refresh_from_db()
    assert "box" in upload.chosen and upload.chosen["mask"]["runs"]
    _shot(page, "4-box")

    # Open a result's product page.
    first = page.locator("[data-fs-result-item] .fs-card-title a").first
    title = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r"/products/\d+/"))
    assert title in page.content()


def _prices(upload) -> list[str]:
    from shop.models import Product

    upload.refresh_from_db()
    ids = [r["product"] for r in upload.results]
    return [str(p) for p in Product.objects.filter(pk__in=ids).values_list("price", flat=True)]


def test_works_on_a_phone_sized_screen(browser, live_server, settings, tiny_segmenter):
    settings.RECOMMENDER_MAX_DISTANCE = 2.0
    catalogue_create()
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/find-similar/")
        page.set_input_files(
            'input[type="file"]',
            files=[{"name": "street.jpg", "mimeType": "image/jpeg", "buffer": scene_jpeg(1)}],
        )
        page.get_by_role("button", name="Upload and find garments").click()
        page.wait_for_url(re.compile(r"/find-similar/[0-9a-f-]{36}/"))
        # Nothing wider than the screen: no sideways scrolling on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # The tiny random segmenter may preselect a garment kind the catalogue lacks: search
        # every category so that results are on the page.
        page.locator('input[name="category"]').evaluate_all("boxes => boxes.forEach(b => b.checked = false)")
        page.get_by_role("button", name="Update results").click()
        page.wait_for_load_state()
        assert page.locator("[data-fs-result-item]").count() > 0
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, "5-mobile")
    finally:
        context.close()


def test_drag_and_drop_and_paste_fill_the_file_input(page, live_server):
    page.goto(f"{live_server.url}/find-similar/")
    data = list(scene_jpeg())
    for event, target in (("drop", "[data-fs-drop]"), ("paste", "body")):
        page.evaluate(
            """([event, target, bytes]) => {
                const file = new File([new Uint8Array(bytes)], "street.jpg", {type: "image/jpeg"});
                const transfer = new DataTransfer();
                transfer.items.add(file);
                const input = document.querySelector('input[type="file"]');
                input.value = "";
                const init = {bubbles: true, cancelable: true};
                const e = event === "drop"
                    ? new DragEvent("drop", {...init, dataTransfer: transfer})
                    : new ClipboardEvent("paste", {...init, clipboardData: transfer});
                document.querySelector(target).dispatchEvent(e);
            }""",
            [event, target, data],
        )
        assert page.evaluate("document.querySelector('input[type=\"file\"]').files.length") == 1, event
        assert page.locator("[data-fs-file-name]").inner_text() == "street.jpg"
        assert page.locator("[data-fs-preview]").is_visible()


def test_works_without_javascript(browser, live_server, settings, tiny_segmenter):
    settings.RECOMMENDER_MAX_DISTANCE = 2.0
    products = catalogue_create()
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/")
        page.get_by_role("link", name="Find similar").first.click()
        page.set_input_files(
            'input[type="file"]',
            files=[{"name": "street.jpg", "mimeType": "image/jpeg", "buffer": scene_jpeg(2)}],
        )
        page.get_by_role("button", name="Upload and find garments").click()
        page.wait_for_url(re.compile(r"/find-similar/[0-9a-f-]{36}/"))
        assert page.locator("[data-fs-draw]").is_hidden()  # drawing a box needs JavaScript
        page.get_by_role("link", name="Use the whole photo").click()
        page.wait_for_url(re.compile(r"whole=1"))
        for box in page.locator('input[name="category"]:checked').all():
            box.uncheck()
        page.get_by_role("button", name="Update results").click()
        page.wait_for_load_state()
        assert page.locator("[data-fs-result-item]").count() == len(products)
    finally:
        context.close()
