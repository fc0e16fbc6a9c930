"""Find similar, step by step through the Django test client, on a small real catalogue
(CC0 photos embedded with the offline EfficientNet-Lite0 weights) and a tiny random
SegFormer loaded through the production loader (its masks are arbitrary: the tests assert
the flow, not which garment is found)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from find_similar.models import QueryImage
from find_similar.uploads import upload_segment
from shop.garments import GARMENT_CATEGORIES
from shop.models import Product
from tests.find_similar.support import (  # noqa: F401
    _fresh_rate_limits,
    _module_catalogue,
    catalogue_fixture,  # noqa: F401
    scene_jpeg,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def uploaded(client, catalogue, tiny_segmenter, django_capture_on_commit_callbacks):
    """An upload segmented in-process (no broker), as in the demo."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/find-similar/", {"photo": SimpleUploadedFile("s.jpg", scene_jpeg(), "image/jpeg")}
        )
    assert response.status_code == 302
    upload = QueryImage.objects.get()
    assert response["Location"] == upload.get_absolute_url() == f"/find-similar/{upload.pk}/"
    return upload


def _result_ids(response) -> list[int]:
    return [
        int(pk)
        for pk in re.findall(r'class="fs-card-title"><a href="/products/(\d+)/"', response.content.decode())
    ]


def test_upload_page_has_the_form_and_the_script(client):
    response = client.get("/find-similar/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in html and "csrfmiddlewaretoken" in html
    assert "/static/js/find-similar.js" in html
    # Linked from every page's navigation.
    assert 'href="/find-similar/"' in client.get("/").content.decode()


def test_garments_are_found_outlined_and_the_largest_is_searched(client, uploaded, catalogue):
    uploaded.refresh_from_db()
    assert uploaded.status == QueryImage.Status.READY and uploaded.garments
    for garment in uploaded.garments:
        assert garment["kind"] in GARMENT_CATEGORIES
        assert 0 < garment["area_share"] <= 1 and len(garment["box"]) == 4
        assert garment["mask"]["size"] == [uploaded.height, uploaded.width]
    response = client.get(uploaded.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    # Every garment is an outlined, labelled link on the photo.
    assert html.count('class="fs-garment') == len(uploaded.garments)
    assert len(re.findall(r'<path d="M[\d, L]+Z', html)) >= len(uploaded.garments)
    uploaded.refresh_from_db()
    largest = max(range(len(uploaded.garments)), key=lambda i: uploaded.garments[i]["area_share"])
    assert uploaded.chosen["garment"] == largest
    kind = uploaded.garments[largest]["kind"]
    assert uploaded.filters["categories"] == GARMENT_CATEGORIES[kind]
    # The results are exactly those logged, all in the garment's categories.
    ids = _result_ids(response)
    assert ids == [r["product"] for r in uploaded.results]
    slugs = set(Product.objects.filter(pk__in=ids).values_list("category__slug", flat=True))
    assert slugs <= set(GARMENT_CATEGORIES[kind])


def test_any_garment_can_be_chosen_and_the_category_follows_it(client, uploaded):
    for index, garment in enumerate(uploaded.garments):
        response = client.get(uploaded.get_absolute_url(), {"garment": index})
        assert response.status_code == 200
        uploaded.refresh_from_db()
        assert uploaded.chosen == {"garment": index, "kind": garment["kind"]}
        html = response.content.decode()
        for slug in GARMENT_CATEGORIES[garment["kind"]]:
            assert re.search(rf'value="{slug}"[^>]*checked', html), slug


def test_filters_category_price_brand_and_show_more(client, uploaded, catalogue, settings):
    url = uploaded.get_absolute_url()
    # f=1 with no category ticked: every category.
    everything = _result_ids(client.get(url, {"whole": 1, "f": 1}))
    assert sorted(everything) == sorted(p.pk for p in catalogue)

    response = client.get(url, {"whole": 1, "f": 1, "category": ["pants", "shoes"]})
    ids = _result_ids(response)
    assert ids and set(Product.objects.filter(pk__in=ids).values_list("category__slug", flat=True)) <= {
        "pants",
        "shoes",
    }

    ids = _result_ids(client.get(url, {"whole": 1, "f": 1, "price_min": "20000", "price_max": "40000"}))
    prices = list(Product.objects.filter(pk__in=ids).values_list("price", flat=True))
    assert len(ids) == 5 and all(Decimal(20000) <= p <= Decimal(40000) for p in prices)
    uploaded.refresh_from_db()
    assert uploaded.filters["price_min"] == "20000" and uploaded.filters["price_max"] == "40000"

    ids = _result_ids(client.get(url, {"whole": 1, "f": 1, "brand": "beta"}))
    assert ids and set(Product.objects.filter(pk__in=ids).values_list("brand__slug", flat=True)) == {"beta"}

    # Swapped bounds are read as the range meant.
    swapped = _result_ids(client.get(url, {"whole": 1, "f": 1, "price_min": "40000", "price_max": "20000"}))
    assert sorted(swapped) == sorted(ids_between(catalogue, 20000, 40000))

    settings.FIND_SIMILAR_RESULTS_STEP = 4
    first = client.get(url, {"whole": 1, "f": 1})
    assert len(_result_ids(first)) == 4
    more = re.search(r'href="([^"]+)" data-fs-more', first.content.decode()).group(1).replace("&amp;", "&")
    second = client.get(url + more)
    assert len(_result_ids(second)) == 8 and _result_ids(second)[:4] == _result_ids(first)


def ids_between(products, low, high) -> list[int]:
    return [p.pk for p in products if low <= p.price <= high]


def test_results_show_price_similarity_links_and_colour_plots(client, uploaded, catalogue):
    response = client.get(uploaded.get_absolute_url(), {"whole": 1, "f": 1})
    html = response.content.decode()
    assert html.count("data-fs-result-item") == len(catalogue)
    assert html.count('<svg class="colour-plot"') == len(catalogue)
    shown = [int(p) for p in re.findall(r"(\d+)% similar", html)]
    assert len(shown) == len(catalogue) and shown == sorted(shown, reverse=True)  # listed best first
    assert "₩10,000" in html  # the cheapest product's price, in won
    assert 'href="https://shop.example/t-shirt/0" target="_blank" rel="noopener noreferrer nofollow"' in html


def test_a_drawn_box_is_refined_by_grabcut_and_its_outline_shown(client, uploaded):
    box = [
        int(uploaded.width * 0.25),
        int(uploaded.height * 0.17),
        int(uploaded.width * 0.75),
        int(uploaded.height * 0.88),
    ]
    response = client.get(uploaded.get_absolute_url(), {"box": ",".join(map(str, box))})
    assert response.status_code == 200
    uploaded.refresh_from_db()
    from find_similar.refine import box_snap

    box = list(box_snap(tuple(box), width=uploaded.width, height=uploaded.height))  # the 1/32 grid
    assert uploaded.chosen["box"] == box
    from find_similar.refine import mask_decode

    mask = mask_decode(uploaded.chosen["mask"])
    box_area = (box[2] - box[0]) * (box[3] - box[1])
    # Refined: smaller than the box (the background around the T-shirt is gone), not empty.
    assert 0.3 * box_area < mask.sum() < 0.9 * box_area
    assert "data-fs-refined" in response.content.decode()


def test_bad_query_parameters_do_not_break_the_page(client, uploaded):
    url = uploaded.get_absolute_url()
    for params in ({"garment": 99}, {"price_min": "-3"}, {"n": "x"}):
        response = client.get(url, params)
        assert response.status_code == 200, params
        assert _result_ids(response) or "No products match" in response.content.decode(), params
    for box in ("a,b", "5,5,6,6", "-50,-50,-10,-10"):
        response = client.get(url, {"box": box})
        assert response.status_code == 200
        assert "Please draw it again." in response.content.decode(), box


def test_result_page_query_count_is_fixed(client, uploaded, django_assert_max_num_queries):
    client.get(uploaded.get_absolute_url(), {"whole": 1, "f": 1})  # warm the model caches
    # Upload, categories, brands, search (+ SET LOCALs), colours, log update, session: no N+1.
    # Plus 5 for the colour and pattern facets (issue 16): a nearest-ids search without the
    # facets (savepoint, SET LOCALs and plan count, search, release) and one grouped count.
    with django_assert_max_num_queries(17):
        client.get(uploaded.get_absolute_url(), {"whole": 1, "f": 1, "n": 30})


def test_without_segmenter_weights_the_page_says_so_and_offers_the_box(
    client, catalogue, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.RECOMMENDER_SEGMENTER = str(tmp_path / "no-weights-here")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/find-similar/", {"photo": SimpleUploadedFile("s.jpg", scene_jpeg(), "image/jpeg")}
        )
    upload = QueryImage.objects.get()
    assert upload.status == QueryImage.Status.READY and upload.segmenter_unavailable and upload.garments == []
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert "Garment detection is not available on this server right now." in html
    assert "Drag a box" in html and "data-fs-stage" in html
    # Still searchable: by default the main object (a box over the whole photo, refined by
    # GrabCut), outlined; then any box the shopper draws.
    assert _result_ids(page)
    upload.refresh_from_db()
    assert upload.chosen["box"] == [0, 0, upload.width, upload.height]
    assert "the main object on your photo" in html and "data-fs-refined" in html
    page = client.get(response["Location"], {"box": "100,80,380,340"})
    assert page.status_code == 200 and "data-fs-refined" in page.content.decode()


def test_a_failed_detection_shows_a_message(client, uploaded):
    uploaded.image.storage.delete(uploaded.image.name)  # the photo vanished from storage
    upload_segment(upload=uploaded)
    assert uploaded.status == QueryImage.Status.FAILED
    response = client.get(uploaded.get_absolute_url())
    assert response.status_code == 200
    assert "Something went wrong while looking for garments on this photo." in response.content.decode()


def test_find_similar_to_this_look_from_a_product_page(
    client, catalogue, tiny_segmenter, django_capture_on_commit_callbacks
):
    product = catalogue[0]
    page = client.get(product.get_absolute_url())
    assert f'action="/find-similar/product/{product.pk}/"' in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/find-similar/product/{product.pk}/")
    upload = QueryImage.objects.get()
    assert response["Location"] == upload.get_absolute_url()
    assert upload.source_product == product and upload.status == QueryImage.Status.READY
    result = client.get(upload.get_absolute_url(), {"whole": 1, "f": 1})
    ids = _result_ids(result)
    assert ids and product.pk not in ids  # the product itself is not its own look-alike
    assert product.title in result.content.decode()  # "Searching with the photo of …"
    assert client.get(f"/find-similar/product/{product.pk}/").status_code == 405


def test_unknown_upload_is_404(client, db):
    assert client.get("/find-similar/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_missing_embedder_weights_give_a_clear_503(client, uploaded, settings, tmp_path):
    settings.RECOMMENDER_EMBEDDER = "resnet50"
    settings.RECOMMENDER_RESNET50_WEIGHTS = str(tmp_path / "missing-resnet50.pth")
    settings.RECOMMENDER_DEMO_FALLBACK = False
    response = client.get(uploaded.get_absolute_url(), {"whole": 1})
    assert response.status_code == 503
    assert "Similarity search is not available on this server right now." in response.content.decode()


def test_a_repeat_result_page_draws_no_plot_yet_shows_changes_at_once(
    client, uploaded, catalogue, monkeypatch
):
    """The filter form and the result cards are cached as rendered, under keys of all they
    show (shop/fragments.py): a repeat page draws no colour plot, a changed price shows."""
    from find_similar import presenters

    drawn = []
    original = presenters.colour_comparison_svg
    monkeypatch.setattr(
        presenters, "colour_comparison_svg", lambda *a, **k: drawn.append(1) or original(*a, **k)
    )
    url, query = uploaded.get_absolute_url(), {"whole": 1, "f": 1}
    first = client.get(url, query).content.decode()
    assert len(drawn) == len(catalogue)
    again = client.get(url, query).content.decode()
    assert len(drawn) == len(catalogue)  # nothing drawn the second time
    assert again.count('<svg class="colour-plot"') == len(catalogue)
    assert re.findall(r"(\d+)% similar", again) == re.findall(r"(\d+)% similar", first)
    cheapest = min(catalogue, key=lambda p: p.price)
    Product.objects.filter(pk=cheapest.pk).update(price=Decimal(10500))
    html = client.get(url, query).content.decode()
    assert "₩10,500" in html and "₩10,000" not in html
    # Another filter: the form shows it, from a fragment of its own.
    html = client.get(url, {**query, "price_max": "90000"}).content.decode()
    assert re.search(r'name="price_max"[^>]* value="90000(\.0+)?"', html), re.findall(
        r'name="price_max"[^>]*>', html
    )
