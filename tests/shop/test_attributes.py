"""The attribute store (shop.ProductAttribute): computed values are recorded, staff corrections
are never overwritten, the vocabulary is enforced by the database; facets on the browse page
count under the other filters; the product page shows each attribute or why it is missing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation

from shop.attributes import ATTRIBUTES, VLM_METHOD
from shop.models import Product, ProductAttribute
from shop.selectors import attribute_facets
from shop.services import AttributeRecord, product_attribute_correct, product_attributes_record
from tests.shop.factories import ProductFactory, category

pytestmark = pytest.mark.django_db


def _record(product, name, value, score=0.9, method="test-method"):
    return AttributeRecord(
        product_id=product.pk,
        name=name,
        value=value,
        score=score if value else None,
        method=method,
        image_sha256=product.image_sha256,
    )


def _attributes(product) -> dict[str, tuple[str, str]]:
    return {a.name: (a.value, a.source) for a in ProductAttribute.objects.filter(product=product)}


def test_computed_attributes_are_recorded_and_a_staff_correction_is_never_overwritten(admin_user):
    product = ProductFactory()
    written, kept = product_attributes_record(
        records=[_record(product, "colour", "red"), _record(product, "hood", "", method=VLM_METHOD)]
    )
    assert (written, kept) == (2, 0)
    assert _attributes(product) == {"colour": ("red", "computed"), "hood": ("", "computed")}

    row = ProductAttribute.objects.get(product=product, name="colour")
    row.value = "pink"
    corrected = product_attribute_correct(attribute=row, user=admin_user)
    assert corrected.source == "staff" and corrected.corrected_by == admin_user and corrected.score is None

    # A re-index computes red again, and a new hood value: the correction stays, the rest updates.
    written, kept = product_attributes_record(
        records=[_record(product, "colour", "red"), _record(product, "hood", "yes", score=0.7)]
    )
    assert (written, kept) == (1, 1)
    assert _attributes(product) == {"colour": ("pink", "staff"), "hood": ("yes", "computed")}
    row = ProductAttribute.objects.get(product=product, name="colour")
    assert row.corrected_by == admin_user and row.method == ""


def test_two_records_for_one_attribute_store_the_last():
    product = ProductFactory()
    written, kept = product_attributes_record(
        records=[_record(product, "colour", "red"), _record(product, "colour", "blue", score=0.4)]
    )
    assert (written, kept) == (1, 0)
    row = ProductAttribute.objects.get(product=product, name="colour")
    assert (row.value, row.score, row.image_sha256) == ("blue", 0.4, product.image_sha256)


def test_a_value_outside_the_vocabulary_is_refused_before_anything_is_written():
    product = ProductFactory()
    with pytest.raises(ValueError, match="vocabulary"):
        product_attributes_record(
            records=[_record(product, "colour", "red"), _record(product, "colour", "teal")]
        )
    with pytest.raises(ValueError, match="vocabulary"):
        product_attributes_record(records=[_record(product, "sparkle", "yes")])
    assert not ProductAttribute.objects.exists()
    with pytest.raises(ValueError, match="vocabulary"):
        product_attribute_correct(attribute=ProductAttribute(product=product, name="hood", value=""))


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "colour", "value": "striped"},  # a pattern is no colour
        {"name": "sparkle", "value": ""},
        {"name": "colour", "value": "red", "score": 1.5},
        {"name": "colour", "value": "", "score": 0.5},  # unavailable has no score
        {"name": "colour", "value": "", "source": "staff"},  # staff always say what it is
    ],
)
def test_the_database_enforces_the_vocabulary_and_scores(fields):
    product = ProductFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductAttribute.objects.create(product=product, **fields)


def test_one_row_per_product_and_attribute():
    product = ProductFactory()
    ProductAttribute.objects.create(product=product, name="colour", value="red")
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductAttribute.objects.create(product=product, name="colour", value="blue")


def _seed() -> dict[str, Product]:
    """Six tops and two skirts: colours and patterns as the methods (or staff) would store them."""
    catalogue = {
        "red striped top": ("top", "red", "striped", 10000),
        "red plain top": ("top", "red", "plain", 20000),
        "red top, pattern unknown": ("top", "red", "", 30000),
        "blue striped top": ("top", "blue", "striped", 40000),
        "blue checked top": ("top", "blue", "checked", 50000),
        "black top": ("top", "black", "", 60000),
        "red skirt": ("skirt", "red", "plain", 70000),
        "navy skirt": ("skirt", "navy", "striped", 80000),
    }
    products = {}
    records = []
    for title, (kind, colour, pattern, price) in catalogue.items():
        product = ProductFactory(title=title, category=category(kind), price=Decimal(price))
        products[title] = product
        records.append(_record(product, "colour", colour))
        records.append(_record(product, "pattern", pattern, method="spectrum-v1" if pattern else VLM_METHOD))
    product_attributes_record(records=records)
    return products


def _facet(facets, name) -> dict:
    return next(f for f in facets if f["name"] == name)


def test_facet_counts_follow_the_other_filters_but_not_their_own():
    _seed()
    facets = attribute_facets(filters={})
    colour = _facet(facets, "colour")
    # The vocabulary's order, only values with products.
    assert [(v, n) for v, _, n in colour["values"]] == [("black", 1), ("red", 4), ("blue", 2), ("navy", 1)]
    pattern = _facet(facets, "pattern")
    assert [(v, n) for v, _, n in pattern["values"]] == [("plain", 2), ("striped", 3), ("checked", 1)]
    assert pattern["unavailable"] == [("Not available yet: this needs the vision-language model.", 2)]

    # Red chosen: the colour facet still counts every colour; the pattern facet counts red ones.
    facets = attribute_facets(filters={"colour": "red"})
    assert [(v, n) for v, _, n in _facet(facets, "colour")["values"]][1] == ("red", 4)
    assert _facet(facets, "colour")["active"] == "red"
    assert [(v, n) for v, _, n in _facet(facets, "pattern")["values"]] == [("plain", 2), ("striped", 1)]

    # Other filters count too: tops only, under 45,000.
    facets = attribute_facets(filters={"category": "top", "price_max": Decimal(45000), "pattern": "striped"})
    assert [(v, n) for v, _, n in _facet(facets, "colour")["values"]] == [("red", 1), ("blue", 1)]
    assert [(v, n) for v, _, n in _facet(facets, "pattern")["values"]] == [("plain", 1), ("striped", 2)]


def test_browse_page_filters_by_colour_and_pattern_with_counts_in_fixed_queries(
    client, django_assert_num_queries
):
    _seed()
    client.get("/")  # warm the per-process caches
    # Currencies, brands, the count and the page, and one count per chosen facet (colour, pattern).
    with django_assert_num_queries(6):
        html = client.get("/?colour=red&pattern=striped").content.decode()
    assert "red striped top" in html
    for title in ("red plain top", "blue striped top", "navy skirt"):
        assert title not in html
    assert (
        'aria-current="true"' in html and 'Red <span class="facet-count">(1)</span>' in html
    )  # red and striped
    # Same queries with twice the products: no query per product or per value.
    _seed()
    with django_assert_num_queries(6):
        client.get("/?colour=red&pattern=striped")
    # A value outside the vocabulary is an ignored filter, not a server error.
    response = client.get("/?colour=teal&pattern=%3Cscript%3E")
    assert response.status_code == 200 and "red plain top" in response.content.decode()


def test_the_filter_fragment_shows_new_counts_at_once(client):
    """The filters are a cached fragment (shop/fragments.py): its key covers the counts."""
    products = _seed()
    html = client.get("/").content.decode()
    assert 'Black <span class="facet-count">(1)</span>' in html
    ProductAttribute.objects.filter(product=products["red plain top"], name="colour").update(value="black")
    html = client.get("/").content.decode()
    assert 'Black <span class="facet-count">(2)</span>' in html


def test_product_page_shows_attributes_and_says_which_need_the_model(client):
    product = ProductFactory(title="Striped tee")
    product_attributes_record(
        records=[
            _record(product, "colour", "navy"),
            *(_record(product, n, "", method=VLM_METHOD) for n in ("hood",)),
        ]
    )
    html = client.get(reverse("shop:product_detail", args=[product.pk])).content.decode()
    assert "<dt>Colour</dt>" in html and "Navy" in html
    assert html.count("Not available yet: this needs the vision-language model.") == 1  # hood
    assert html.count("Not available yet.") == len(ATTRIBUTES) - 2  # never computed
    html = client.get(f"/ko/products/{product.pk}/").content.decode()
    assert "네이비" in html and "비전-언어 모델" in html


def test_admin_correction_is_marked_as_staff_and_survives_a_recompute(admin_client, admin_user):
    product = ProductFactory()
    product_attributes_record(
        records=[_record(product, "colour", "red"), _record(product, "pattern", "", method=VLM_METHOD)]
    )
    with translation.override("en"):  # a Korean page requested earlier leaves "ko" active
        url = reverse("admin:shop_product_change", args=[product.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "image"}
    data.update(
        {
            "brand": product.brand_id,
            "category": product.category_id,
            "source": product.source_id,
            "price": "12900",
            "first_seen_at_0": product.first_seen_at.strftime("%Y-%m-%d"),
            "first_seen_at_1": product.first_seen_at.strftime("%H:%M:%S"),
            "last_seen_at_0": product.last_seen_at.strftime("%Y-%m-%d"),
            "last_seen_at_1": product.last_seen_at.strftime("%H:%M:%S"),
        }
    )
    rows = list(ProductAttribute.objects.filter(product=product).order_by("name"))  # colour, pattern
    data.update(
        {
            "attributes-TOTAL_FORMS": "2",
            "attributes-INITIAL_FORMS": "2",
            "attributes-0-id": rows[0].pk,
            "attributes-0-product": product.pk,
            "attributes-0-name": "colour",
            "attributes-0-value": "pink",  # corrected
            "attributes-1-id": rows[1].pk,
            "attributes-1-product": product.pk,
            "attributes-1-name": "pattern",
            "attributes-1-value": "",  # untouched: stays unavailable
            "price_history-TOTAL_FORMS": "0",
            "price_history-INITIAL_FORMS": "0",
        }
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["errors"] if response.context else response
    assert _attributes(product) == {"colour": ("pink", "staff"), "pattern": ("", "computed")}
    assert ProductAttribute.objects.get(product=product, name="colour").corrected_by == admin_user

    product_attributes_record(records=[_record(product, "colour", "red")])
    assert _attributes(product)["colour"] == ("pink", "staff")

    # A value of another attribute is refused with a sentence, not saved.
    data["attributes-0-value"] = "striped"
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "This is not a value of Colour." in response.content.decode()
    assert _attributes(product)["colour"] == ("pink", "staff")


def test_the_attribute_list_in_the_admin_loads_and_an_edit_there_is_a_correction(admin_client, admin_user):
    product = ProductFactory()
    product_attributes_record(records=[_record(product, "colour", "red")])
    row = ProductAttribute.objects.get(product=product, name="colour")
    with translation.override("en"):
        changelist = reverse("admin:shop_productattribute_changelist")
        change = reverse("admin:shop_productattribute_change", args=[row.pk])
    html = admin_client.get(changelist, {"source__exact": "computed"}).content.decode()
    assert str(product.pk) in html or product.title in html
    response = admin_client.post(change, {"product": product.pk, "name": "colour", "value": "green"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.value, row.source, row.corrected_by, row.score) == ("green", "staff", admin_user, None)
