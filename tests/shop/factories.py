"""factory_boy factories for the shop's models."""

from __future__ import annotations

import io
from decimal import Decimal

import factory
from django.core.files.base import ContentFile
from PIL import Image

from shop.models import Brand, Category, Product, Source


def jpeg_bytes(colour: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (40, 50)) -> bytes:
    """A small real JPEG, so image code paths run on real bytes."""
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "JPEG")
    return buf.getvalue()


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Shop {n}")
    slug = factory.Sequence(lambda n: f"shop-{n}")


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Brand {n}")
    slug = factory.LazyAttribute(lambda o: o.name.lower().replace(" ", "-"))


def category(slug: str = "top") -> Category:
    """Categories are seeded by a migration; factories look them up rather than create them."""
    return Category.objects.get(slug=slug)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    source = factory.SubFactory(SourceFactory)
    external_id = factory.Sequence(lambda n: f"P{n}")
    title = factory.Sequence(lambda n: f"Cotton shirt {n}")
    brand = factory.SubFactory(BrandFactory)
    category = factory.LazyFunction(category)
    price = Decimal("12900")
    currency = "KRW"
    product_url = factory.LazyAttribute(lambda o: f"https://shop.example/p/{o.external_id}")
    image = factory.LazyAttribute(lambda o: ContentFile(jpeg_bytes(), name=f"{o.external_id}.jpg"))


def photo_product(title: str, colour, price, *, kind: str = "top", in_stock: bool = True) -> Product:
    """A product whose photo is a flat ``colour`` (so colour drives its neighbours), with a
    distinct image hash per title (so near-duplicate exclusion leaves it alone)."""
    return ProductFactory(
        title=title,
        category=category(kind),
        price=Decimal(price),
        in_stock=in_stock,
        image=ContentFile(jpeg_bytes(colour, size=(60, 80)), name=f"{title}.jpg"),
        image_sha256=title,
    )
