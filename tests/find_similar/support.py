"""Fixtures and helpers shared by the Find similar tests: a small real catalogue of CC0
photos embedded with the offline EfficientNet-Lite0 weights, and upload files."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.cache import cache
from PIL import Image

from shop.models import Brand, Category, Product, Source
from shop.services import category_seed, product_image_store
from tests.recommender.scenes import cc0_photos, garment_scene

# (CC0 folder, shop category, how many): tops, trousers and shoes at spread prices.
CATALOGUE = [("t-shirt", "top", 3), ("outwear", "outer", 2), ("pants", "pants", 3), ("shoes", "shoes", 2)]


def jpeg(image: Image.Image, **save) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88, **save)
    return buffer.getvalue()


def scene_jpeg(seed: int = 0) -> bytes:
    """A T-shirt pasted on a busy mosaic: a street-photo stand-in with a known garment."""
    image, _mask, _box = garment_scene(cc0_photos("t-shirt", 3)[seed % 3], seed=seed)
    return jpeg(image)


def catalogue_create() -> list[Product]:
    """Ten products from the CC0 photos, embedded and with colour statistics, for real."""
    from recommender.services import embedding_compute_batch

    # Seeded by a migration, but a transactional test (live server) flushes them.
    category_seed()
    source, _ = Source.objects.get_or_create(slug="cc0", defaults={"name": "CC0 test shop"})
    brands = [Brand.objects.get_or_create(name=n, slug=n.lower())[0] for n in ("Alpha", "Beta")]
    products = []
    for folder, slug, count in CATALOGUE:
        for i, photo in enumerate(cc0_photos(folder, count)):
            n = len(products)
            product = Product.objects.create(
                source=source,
                external_id=f"{folder}-{i}",
                title=f"{folder.title()} {i + 1}",
                brand=brands[n % 2],
                category=Category.objects.get(slug=slug),
                price=Decimal(10000 + 5000 * n),
                product_url=f"https://shop.example/{folder}/{i}",
            )
            with Image.open(photo) as im:
                im = im.convert("RGB")
                im.thumbnail((256, 256))
                product_image_store(product=product, data=jpeg(im))
            products.append(product)
    result = embedding_compute_batch(product_ids=[p.pk for p in products])
    assert len(result.embedded) == len(products), result.failed
    return products


@pytest.fixture(scope="module")
def _module_catalogue(django_db_setup, django_db_blocker):
    """The catalogue, created once per test module (embedding it is the slow part) and
    committed, so every test of the module sees it; removed again at the end of the module."""
    with django_db_blocker.unblock():
        products = catalogue_create()
    yield products
    with django_db_blocker.unblock():
        Product.objects.filter(pk__in=[p.pk for p in products]).delete()
        Source.objects.filter(slug="cc0").delete()
        Brand.objects.filter(slug__in=["alpha", "beta"]).delete()


@pytest.fixture(name="catalogue")
def catalogue_fixture(_module_catalogue, db, settings):
    # Every product is "similar" enough to be listed: the tests check the flow and filters.
    settings.RECOMMENDER_MAX_DISTANCE = 2.0
    return _module_catalogue


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """django-ratelimit counts in the cache; each test starts from zero."""
    cache.clear()
    yield
    cache.clear()
