from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from shop.models import Category, Product, Source
from shop.services import ProductData, UpsertResult, product_upsert


@pytest.fixture
def source(db):
    return Source.objects.create(name="Test shop", slug="test-shop")


def _data(**overrides) -> ProductData:
    values = dict(
        external_id="A1",
        title="Striped shirt",
        price=Decimal("12900"),
        currency="KRW",
        brand="Acme",
        category="top",
        product_url="https://shop.example/a1",
    )
    values.update(overrides)
    return ProductData(**values)


def test_the_migration_seeds_every_garment_kind():
    # The root conftest re-seeds categories before each test, so check the migration's
    # own list against the code's garment kinds instead of the table.
    import importlib

    from shop.garments import GARMENT_KINDS

    migration = importlib.import_module("shop.migrations.0002_garment_categories")
    assert [slug for slug, _name in migration.CATEGORIES] == list(GARMENT_KINDS)


def test_category_seed_restores_missing_categories(db):
    from shop.garments import GARMENT_KINDS
    from shop.services import category_seed

    Category.objects.filter(slug__in=["top", "scarf"]).delete()
    category_seed()
    category_seed()  # idempotent
    assert sorted(Category.objects.values_list("slug", flat=True)) == sorted(GARMENT_KINDS)


def test_source_and_external_id_are_unique(source):
    product_upsert(source=source, data=_data())
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.create(source=source, external_id="A1", title="dup", price=1)


def test_negative_price_is_refused_by_the_database(source):
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.create(source=source, external_id="N", title="neg", price=Decimal("-1"))


def test_upsert_is_idempotent_and_records_price_changes(source):
    product, result = product_upsert(source=source, data=_data())
    assert result is UpsertResult.CREATED
    assert product_upsert(source=source, data=_data())[1] is UpsertResult.UNCHANGED
    product, result = product_upsert(source=source, data=_data(price=Decimal("9900")))
    assert result is UpsertResult.UPDATED
    assert Product.objects.count() == 1
    assert list(product.price_history.order_by("recorded_at").values_list("price", flat=True)) == [
        Decimal("12900"),
        Decimal("9900"),
    ]
    assert product.brand.name == "Acme" and product.category.slug == "top"


def test_currency_must_be_an_iso_code(source):
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.create(source=source, external_id="C", title="c", price=1, currency="won")


def test_brands_are_matched_case_insensitively_and_slugs_stay_unique(db):
    from shop.services import brand_get_or_create

    first = brand_get_or_create(name="Sora & Co.")
    assert brand_get_or_create(name="  sora   &  co. ") == first
    other = brand_get_or_create(name="Sora Co")  # a different name with the same slug
    assert other != first and other.slug != first.slug and other.slug.startswith(first.slug)
    assert brand_get_or_create(name="   ") is None


def test_category_names_are_translated(db):
    from django.utils import translation

    top = Category.objects.get(slug="top")
    with translation.override("ko"):
        assert str(top) == "상의"
    with translation.override("en"):
        assert str(top) == "Tops"


def test_product_url_and_queryset_vocabulary(source):
    product, _ = product_upsert(source=source, data=_data())
    product_upsert(source=source, data=_data(external_id="B", category="pants", price=Decimal("50000")))
    assert product.get_absolute_url() == f"/products/{product.pk}/"
    assert list(Product.objects.in_category("top")) == [product]
    assert list(Product.objects.price_between(Decimal("10000"), Decimal("20000"))) == [product]
    assert Product.objects.by_brand("acme").count() == 2
    Product.objects.filter(pk=product.pk).update(is_active=False)
    assert list(Product.objects.browsable().values_list("external_id", flat=True)) == ["B"]
