"""The admin's catalogue pages load for a superuser, with thumbnails and price history."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from shop.models import Category, Product
from shop.services import ProductData, product_upsert
from tests.shop.factories import BrandFactory, ProductFactory, jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(db):
    p = ProductFactory(title="Admin shirt")
    data = ProductData(external_id=p.external_id, title=p.title, price=Decimal("9900"), currency="KRW")
    product_upsert(source=p.source, data=data)  # one price-history row
    return p


@pytest.mark.parametrize(
    "url_name",
    ["admin:shop_product_changelist", "admin:shop_brand_changelist", "admin:shop_category_changelist"],
)
def test_changelists_load(admin_client, product, url_name):
    response = admin_client.get(reverse(url_name))
    assert response.status_code == 200


def test_product_changelist_shows_thumbnails_and_filters(
    admin_client, product, django_assert_max_num_queries
):
    ProductFactory.create_batch(5)
    url = reverse("admin:shop_product_changelist")
    with django_assert_max_num_queries(15):  # no query per row
        html = admin_client.get(url).content.decode()
    assert product.image.url in html and "Admin shirt" in html
    assert 'name="form-0-price"' in html  # price is editable in the list
    searched = admin_client.get(url, {"q": "admin shirt"})
    assert list(searched.context["cl"].result_list) == [product]
    filtered = admin_client.get(url, {"source__id__exact": product.source_id})
    assert list(filtered.context["cl"].result_list) == [product]


def test_product_change_page_shows_image_and_read_only_price_history(admin_client, product):
    html = admin_client.get(reverse("admin:shop_product_change", args=[product.pk])).content.decode()
    assert product.image.url in html
    assert "Price history" in html
    assert "9900" in html or "9,900" in html
    assert 'name="price_history-0-price"' not in html  # read-only inline


def test_price_edit_in_the_list_saves(admin_client, product):
    url = reverse("admin:shop_product_changelist")
    response = admin_client.post(
        url,
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(product.pk),
            "form-0-price": "7900",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.price == Decimal("7900")


def test_brand_and_category_change_pages_load(admin_client):
    brand = BrandFactory(name="Maru")
    assert admin_client.get(reverse("admin:shop_brand_change", args=[brand.pk])).status_code == 200
    top = Category.objects.get(slug="top")
    assert admin_client.get(reverse("admin:shop_category_change", args=[top.pk])).status_code == 200


def _change_form_data(product) -> dict:
    return {
        "title": product.title,
        "brand": product.brand_id,
        "category": product.category_id,
        "price": "12900",
        "currency": "KRW",
        "in_stock": "on",
        "is_active": "on",
        "source": product.source_id,
        "external_id": product.external_id,
        "product_url": product.product_url,
        "image_url": "",
        "price_history-TOTAL_FORMS": "0",
        "price_history-INITIAL_FORMS": "0",
        "attributes-TOTAL_FORMS": "0",
        "attributes-INITIAL_FORMS": "0",
    }


def test_a_photo_uploaded_in_the_admin_is_stored_like_a_crawled_one(admin_client, product):
    Product.objects.filter(pk=product.pk).update(needs_embedding=False)
    url = reverse("admin:shop_product_change", args=[product.pk])
    new = jpeg_bytes((10, 200, 10))
    data = _change_form_data(product) | {"image": SimpleUploadedFile("new.jpg", new, "image/jpeg")}
    assert admin_client.post(url, data).status_code == 302
    product.refresh_from_db()
    assert product.image_sha256 == hashlib.sha256(new).hexdigest() and product.needs_embedding
    assert product.image.read() == new

    broken = _change_form_data(product) | {"image": SimpleUploadedFile("x.jpg", new[:100], "image/jpeg")}
    response = admin_client.post(url, broken)
    assert response.status_code == 200  # the form again, saying why
    html = response.content.decode()
    assert "damaged or incomplete" in html or "Upload a valid image" in html
    product.refresh_from_db()
    assert product.image.read() == new  # the stored photo is untouched


def test_deleting_products_in_the_admin_deletes_their_image_files(admin_client, settings, tmp_path):
    """Issue 11, item 14's kind elsewhere: a deleted row must not leave its file behind."""
    from pathlib import Path

    settings.MEDIA_ROOT = tmp_path
    one, two, three = ProductFactory.create_batch(3)
    paths = [Path(p.image.path) for p in (one, two, three)]
    assert all(p.is_file() for p in paths)
    response = admin_client.post(reverse("admin:shop_product_delete", args=[one.pk]), {"post": "yes"})
    assert response.status_code == 302 and not paths[0].exists()
    response = admin_client.post(
        reverse("admin:shop_product_changelist"),
        {"action": "delete_selected", "_selected_action": [two.pk, three.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Product.objects.exists() and not paths[1].exists() and not paths[2].exists()


def test_the_reindex_actions_are_the_shops_own_and_only_mark_and_announce(admin_client):
    """Issue 12: no other app patches ProductAdmin.actions. The shop's re-index action marks the
    products and announces it (shop.signals); whoever indexes says whether it queued the work,
    and the page says when it could not (the marks stay for the sweep)."""
    from shop.admin import ProductAdmin, reindex_all, reindex_selected
    from shop.signals import products_marked

    assert ProductAdmin.actions == [reindex_selected, reindex_all]
    product = ProductFactory(needs_embedding=False, image="products/x.jpg")
    heard = []

    def indexer_down(sender, source=None, **kwargs):
        heard.append((sender, Product.objects.filter(pk=product.pk, needs_embedding=True).exists()))
        return False

    # The shop alone: the recommender's own subscriber is set aside for this test.
    from recommender.receivers import embedding_queue_on_mark

    products_marked.disconnect(dispatch_uid="recommender.embedding_queue_on_mark")
    products_marked.connect(indexer_down, dispatch_uid="test-indexer-down")
    try:
        response = admin_client.post(
            reverse("admin:shop_product_changelist"),
            {"action": "reindex_selected", "_selected_action": [product.pk]},
            follow=True,
        )
    finally:
        products_marked.disconnect(dispatch_uid="test-indexer-down")
        products_marked.connect(embedding_queue_on_mark, dispatch_uid="recommender.embedding_queue_on_mark")
    assert response.status_code == 200
    assert Product.objects.get(pk=product.pk).needs_embedding
    assert heard == [("shop.admin", True)]  # announced after the product was marked
    assert "The task queue is unavailable right now" in response.content.decode()
