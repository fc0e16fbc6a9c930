"""Complete the look within a budget: the form, the chosen look (exact against brute force on
the real candidates), swaps, a look re-opened after its products changed, and bad input."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from find_similar.models import QueryImage
from looks.knapsack import VALUE_SCALE, Candidate, Slot, look_brute_force
from looks.models import Look
from looks.selectors import candidate_similarity, look_candidates, look_slots
from looks.services import look_regions
from shop.models import Product

pytestmark = pytest.mark.django_db


def _new(upload) -> str:
    return reverse("looks:look_new", kwargs={"upload_pk": upload.pk})


def _post(client, upload, **fields):
    data = {"parts": [f"g{i}" for i in range(len(upload.garments))], "in_stock_only": "on", **fields}
    return client.post(_new(upload), data)


def _make(client, upload, **fields) -> Look:
    response = _post(client, upload, **fields)
    assert response.status_code == 302, response.content.decode()[:2000]
    look = Look.objects.get(pk=response["Location"].rstrip("/").rsplit("/", 1)[1])
    assert response["Location"] == look.get_absolute_url()
    return look


def _total(html: str) -> str:
    return re.search(r"data-lk-total>([^<]+)<", html).group(1)


def test_result_page_links_to_the_look_form(client, catalogue, outfit_upload):
    html = client.get(outfit_upload.get_absolute_url()).content.decode()
    assert f'href="{_new(outfit_upload)}"' in html and "Complete the look within a budget" in html
    form = client.get(_new(outfit_upload))
    assert form.status_code == 200
    page = form.content.decode()
    for label in ("Top", "Bottoms", "Shoes"):
        assert label in page
    assert page.count('name="parts"') == 3 and re.search(r'name="in_stock_only"[^>]*checked', page)


def test_the_look_is_the_most_similar_that_fits_the_budget(client, catalogue, outfit_upload):
    look = _make(client, outfit_upload, budget="120,000", currency="KRW")
    assert look.budget == Decimal(120000) and look.solved_at is None
    page = client.get(look.get_absolute_url())
    assert page.status_code == 200
    look.refresh_from_db()
    slots = look_slots(look=look)
    assert look.solved_at and [s.kind for s in slots] == ["top", "bottoms", "shoes"]
    chosen = [s.product for s in slots]
    assert all(chosen)
    total = sum(p.price for p in chosen)
    assert total <= Decimal(120000)
    # Each garment from its own categories.
    assert chosen[0].category.slug in ("top", "outer") and chosen[1].category.slug == "pants"
    assert chosen[2].category.slug == "shoes"
    # Exact: no combination of the same candidates is more similar within the budget.
    candidates = look_candidates(look=look, slots=slots, regions=look_regions(look=look, slots=slots).ready)
    problem = [
        Slot(
            candidates=[
                Candidate(int(i.product.price), candidate_similarity(i)) for i in candidates[s.position]
            ]
        )
        for s in slots
    ]
    best_value, best_price = look_brute_force(slots=problem, budget=120000)
    got = sum(round(s.similarity * VALUE_SCALE) for s in slots)
    assert abs(got - best_value) <= len(slots)  # float -> millionths rounding, per slot
    assert total == best_price
    html = page.content.decode()
    assert _total(html) == f"₩{total:,.0f}" and "₩120,000" in html
    # Each garment offers its candidates to swap to, and leaving it out.
    for slot in slots:
        assert html.count(f'name="slot-{slot.position}"') == len(candidates[slot.position]) + 1


def test_nothing_fits_says_what_the_cheapest_complete_look_costs(client, catalogue, outfit_upload):
    # Cheapest: T-shirt ₩10,000 + trousers ₩35,000 + shoes ₩50,000 (catalogue_create's prices).
    look = _make(client, outfit_upload, budget="90000")
    html = client.get(look.get_absolute_url()).content.decode()
    assert "No complete look fits your budget of ₩90,000" in html
    assert "the cheapest complete look costs ₩95,000" in html
    assert not any(s.product_id for s in look_slots(look=look))
    # Leaving garments out is allowed: then the best look within ₩90,000 fills what it can.
    look = _make(client, outfit_upload, budget="90000", allow_empty="on")
    html = client.get(look.get_absolute_url()).content.decode()
    assert "cheapest complete look" not in html
    assert 0 < sum(s.price or 0 for s in look_slots(look=look)) <= 90000


def test_swapping_a_garment_keeps_it_and_updates_the_total(client, catalogue, outfit_upload):
    look = _make(client, outfit_upload, budget="150000")
    before = client.get(look.get_absolute_url()).content.decode()
    slots = look_slots(look=look)
    top = slots[0]
    other = next(
        p for p in Product.objects.filter(category__slug__in=["top", "outer"]) if p.pk != top.product_id
    )
    data = {f"slot-{s.position}": s.product_id for s in slots} | {"slot-0": other.pk, "action": "swap"}
    assert client.post(look.get_absolute_url(), data).status_code == 302
    after = client.get(look.get_absolute_url()).content.decode()
    slots = look_slots(look=look)
    assert slots[0].product == other and slots[0].pinned and not slots[1].pinned
    assert "your pick" in after and _total(after) != _total(before)
    assert sum(s.price for s in slots) <= 150000  # the others were chosen around the pick
    # Leave the shoes out; then "Choose again" drops the picks.
    data = {f"slot-{s.position}": s.product_id for s in slots} | {"slot-2": "empty", "action": "swap"}
    client.post(look.get_absolute_url(), data)
    slots = look_slots(look=look)
    assert slots[2].product is None and slots[2].pinned
    client.post(look.get_absolute_url(), {"action": "again"})
    assert all(s.product_id and not s.pinned for s in look_slots(look=look))


def test_picks_over_the_budget_are_kept_and_the_page_says_by_how_much(client, catalogue, outfit_upload):
    look = _make(client, outfit_upload, budget="100000")
    client.get(look.get_absolute_url())
    slots = look_slots(look=look)
    dearest = {
        0: Product.objects.filter(category__slug__in=["top", "outer"]).order_by("-price").first(),
        1: Product.objects.filter(category__slug="pants").order_by("-price").first(),
        2: Product.objects.filter(category__slug="shoes").order_by("-price").first(),
    }
    data = {f"slot-{p}": product.pk for p, product in dearest.items()} | {"action": "swap"}
    client.post(look.get_absolute_url(), data)
    html = client.get(look.get_absolute_url()).content.decode()
    total = sum(p.price for p in dearest.values())  # 30,000 + 45,000 + 55,000
    assert [s.product for s in look_slots(look=look)] == list(dearest.values())
    assert _total(html) == f"₩{total:,.0f}" and f"₩{total - 100000:,.0f}</span> over your budget" in html
    assert slots  # the page shows, never a 500


def test_reopened_look_marks_sold_out_deleted_and_repriced_products(client, catalogue, outfit_upload):
    look = _make(client, outfit_upload, budget="150000")
    client.get(look.get_absolute_url())
    top, bottoms, shoes = (s.product for s in look_slots(look=look))
    Product.objects.filter(pk=top.pk).update(in_stock=False)
    Product.objects.filter(pk=bottoms.pk).update(price=bottoms.price + 1000)
    shoes_title = shoes.title
    Product.objects.filter(pk=shoes.pk).update(is_active=False)  # taken down
    try:
        page = client.get(look.get_absolute_url())
        html = page.content.decode()
        assert page.status_code == 200
        assert 'data-lk-change="sold_out"' in html and 'data-lk-change="price"' in html
        assert 'data-lk-change="gone"' in html and f"No longer sold: {shoes_title}" in html
        assert f"The price changed from ₩{bottoms.price:,.0f} to ₩{bottoms.price + 1000:,.0f}" in html
        assert "Some products changed since this look was put together" in html
        # Only what can be bought counts: the re-priced trousers.
        assert _total(html) == f"₩{bottoms.price + 1000:,.0f}"
        # "Choose again" replaces them from what is in stock now.
        client.post(look.get_absolute_url(), {"action": "again"})
        chosen = [s.product for s in look_slots(look=look)]
        assert top not in chosen and shoes not in chosen and all(p.in_stock for p in chosen)
    finally:
        Product.objects.filter(pk__in=[top.pk, shoes.pk]).update(in_stock=True, is_active=True)
        Product.objects.filter(pk=bottoms.pk).update(price=bottoms.price)


def test_a_deleted_product_still_opens(client, catalogue, outfit_upload):
    look = _make(client, outfit_upload, budget="150000", brand="alpha")
    client.get(look.get_absolute_url())
    slot = look_slots(look=look)[0]
    assert slot.product.brand.slug == "alpha"  # one brand only
    title = slot.product.title
    # Deleting a product of the module's catalogue: this test's transaction is rolled back.
    slot.product.delete()
    html = client.get(look.get_absolute_url()).content.decode()
    assert f"No longer sold: {title}" in html


def test_a_garment_without_candidates_is_left_empty_with_a_message(client, catalogue, outfit_upload):
    garments = outfit_upload.garments
    garments[2]["kind"] = "bag"  # the catalogue sells no bags
    outfit_upload.garments = garments
    outfit_upload.save()
    look = _make(client, outfit_upload, budget="150000")
    page = client.get(look.get_absolute_url())
    html = page.content.decode()
    assert page.status_code == 200 and "data-lk-no-candidates" in html
    assert "We found nothing similar enough for this garment" in html
    top, bottoms, bag = look_slots(look=look)
    assert top.product and bottoms.product and bag.product is None


def test_a_box_adds_a_garment(client, catalogue, outfit_upload):
    x0, y0, x1, y1 = outfit_upload.garments[0]["box"]
    look = _make(client, outfit_upload, budget="200000", parts=["g0"], boxes=f"{x0},{y0},{x1},{y1}\n")
    client.get(look.get_absolute_url())
    slots = look_slots(look=look)
    assert [s.region_key[0] for s in slots] == ["g", "b"] and all(s.product_id for s in slots)
    assert slots[1].kind == ""  # a box: every category


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        ("0", "Please enter a budget above zero."),
        ("-5000", "Please enter a budget above zero."),
        ("abc", "Please enter the budget as a number, for example 150000."),
        ("1e999999", "That budget is larger than any price here."),
        ("1e-999999", "Please enter a budget above zero."),
        ("0.001", "Please enter a budget above zero."),
        ("NaN", "Please enter the budget as a number, for example 150000."),
        ("", "Please enter your budget, for example 150000."),
        ("99999999999999", "That budget is larger than any price here."),
    ],
)
def test_bad_budgets_get_a_sentence_not_an_error(client, catalogue, outfit_upload, budget, message):
    response = _post(client, outfit_upload, budget=budget)
    assert response.status_code == 400 and message in response.content.decode()
    assert not Look.objects.exists()


def test_twenty_boxes_are_refused_with_a_message(client, catalogue, outfit_upload):
    # Twenty different boxes (not snapped onto one another).
    boxes = "\n".join(f"{10 * i},{20 * i},{10 * i + 60},{20 * i + 80}" for i in range(20))
    response = _post(client, outfit_upload, budget="150000", boxes=boxes)
    html = response.content.decode()
    assert response.status_code == 400
    assert "A look can have at most 8 garments, and this one has 23." in html
    assert not Look.objects.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"boxes": "1,2,3"}, "Box 1 could not be read."),
        ({"boxes": "5000,5000,6000,6000"}, "Box 1 is too small or outside the photo."),
        ({"parts": []}, "Please choose at least one garment, or draw a box around one."),
        ({"min_similarity": "150"}, "Please enter the minimum similarity as a whole number from 0 to 100."),
        ({"currency": "XXX"}, "Select a valid choice."),
    ],
)
def test_other_bad_input_gets_a_sentence(client, catalogue, outfit_upload, fields, message):
    response = _post(client, outfit_upload, budget="150000", **fields)
    assert response.status_code == 400 and message in response.content.decode()


def test_uploads_not_ready_and_unknown_looks(client, catalogue, outfit_upload):
    QueryImage.objects.filter(pk=outfit_upload.pk).update(status=QueryImage.Status.PENDING)
    response = client.get(_new(outfit_upload))
    assert response.status_code == 302 and response["Location"] == outfit_upload.get_absolute_url()
    QueryImage.objects.filter(pk=outfit_upload.pk).update(
        status=QueryImage.Status.FAILED,
        error_message="Something went wrong while looking for garments on this photo.",
    )
    response = client.get(_new(outfit_upload))
    assert response.status_code == 200 and "Something went wrong" in response.content.decode()
    assert client.get("/looks/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.get("/looks/not-a-uuid/").status_code == 404


def test_the_look_page_is_korean(client, catalogue, outfit_upload):
    from tests.shop.test_i18n import _english_left

    look = _make(client, outfit_upload, budget="150000")
    page = client.get(f"/ko{look.get_absolute_url()}")
    html = page.content.decode()
    assert page.status_code == 200 and "예산" in html
    products = Product.objects.all()
    data = tuple(p.title for p in products) + tuple(p.brand.name for p in products if p.brand)
    assert _english_left(html, data=data) == []
    form = client.get(f"/ko/looks/new/{outfit_upload.pk}/").content.decode()
    assert "예산" in form and _english_left(form, data=data) == []
    refused = client.post(f"/ko/looks/new/{outfit_upload.pk}/", {"budget": "-1", "parts": ["g0"]})
    assert refused.status_code == 400
    assert "0보다 큰" in refused.content.decode()


def test_the_page_waits_for_the_query_worker_then_gives_up_with_a_message(
    client, catalogue, outfit_upload, settings
):
    from datetime import timedelta

    from find_similar.models import QueryRegion
    from recommender.embedders import active_model_key

    look = _make(client, outfit_upload, budget="150000")
    # The query worker has not cut out the trousers yet.
    region = QueryRegion.objects.create(upload=outfit_upload, key="g1", model_key=active_model_key())
    page = client.get(look.get_absolute_url())
    html = page.content.decode()
    assert page.status_code == 200 and '<meta http-equiv="refresh"' in html
    assert "Putting your look together" in html
    look.refresh_from_db()
    assert look.solved_at is None
    # Past the deadline (its task expired): a sentence and "Try again", which queues it afresh.
    QueryRegion.objects.filter(pk=region.pk).update(
        created_at=region.created_at - timedelta(seconds=settings.FIND_SIMILAR_QUERY_DEADLINE + 1)
    )
    page = client.get(look.get_absolute_url())
    assert page.status_code == 503 and "took longer than it should" in page.content.decode()
    assert not QueryRegion.objects.filter(pk=region.pk).exists()
    assert client.get(look.get_absolute_url()).status_code == 200  # computed in-process this time
    look.refresh_from_db()
    assert look.solved_at is not None


def test_a_shared_look_costs_a_fixed_number_of_queries(
    client, catalogue, outfit_upload, django_assert_num_queries
):
    look = _make(client, outfit_upload, budget="150000")
    client.get(look.get_absolute_url())  # chosen once
    # The look, its garments with their products, the exchange rates; per garment its region,
    # one kNN (savepoint, the SET LOCALs, the plan count, the search, release) and the colours:
    # no query per candidate.
    with django_assert_num_queries(3 + 8 * len(outfit_upload.garments)):
        assert client.get(look.get_absolute_url()).status_code == 200


def test_the_admin_shows_looks_and_their_garments(admin_client, outfit_upload):
    look = Look.objects.create(upload=outfit_upload, budget=Decimal(150000), currency="KRW")
    look.slots.create(position=0, region_key="g0", kind="top", product_title="Gone shirt")
    assert admin_client.get(reverse("admin:looks_look_changelist")).status_code == 200
    page = admin_client.get(reverse("admin:looks_look_change", args=[look.pk]))
    assert page.status_code == 200 and "Gone shirt" in page.content.decode()


def test_prices_in_another_currency_count_converted_at_the_stored_rate(client, catalogue, outfit_upload):
    """A pair of shoes priced in dollars is left out without a rate (amounts in two currencies
    cannot be added up), and offered at its won price, with the rate's date, once a rate is known."""
    import datetime as dt

    from shop.models import ExchangeRate

    shoes = Product.objects.filter(category__slug="shoes").order_by("pk").first()
    Product.objects.filter(pk=shoes.pk).update(currency="USD", price=Decimal("30.00"))
    look = _make(client, outfit_upload, budget="500000")
    html = client.get(look.get_absolute_url()).content.decode()
    slots = look_slots(look=look)
    regions = look_regions(look=look, slots=slots).ready
    offered = {
        i.product.pk
        for items in look_candidates(look=look, slots=slots, regions=regions).values()
        for i in items
    }
    assert shoes.pk not in offered and "≈" not in html and "data-lk-rates" not in html

    ExchangeRate.objects.create(base="USD", currency="KRW", rate=Decimal(1400), as_of=dt.date(2026, 11, 30))
    candidates = look_candidates(look=look, slots=slots, regions=regions)
    converted = {i.product.pk: i.look_price for items in candidates.values() for i in items}
    assert converted[shoes.pk] == Decimal(42000)
    html = client.get(look.get_absolute_url()).content.decode()
    assert "$30.00" in html and "≈ ₩42,000" in html and 'data-price="42000"' in html
    assert "converted at the exchange rates of" in html
    # Chosen in a fresh look, the shoes count in won towards the total.
    client.post(look.get_absolute_url(), {"action": "again"})
    data = {f"slot-{s.position}": s.product_id for s in look_slots(look=look)} | {
        "slot-2": shoes.pk,
        "action": "swap",
    }
    assert client.post(look.get_absolute_url(), data).status_code == 302
    slots = look_slots(look=look)
    assert slots[2].product_id == shoes.pk and slots[2].price == Decimal(42000)
    html = client.get(look.get_absolute_url()).content.decode()
    assert _total(html) == f"₩{sum(s.price for s in slots):,.0f}"
