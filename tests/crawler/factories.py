"""Factories for the crawler's models (the shop's are in tests/shop/factories.py)."""

from __future__ import annotations

import factory

from crawler.models import CrawlProfile


class CrawlProfileFactory(factory.django.DjangoModelFactory):
    """A crawled source: its shop.Source row and its crawl profile, sharing one id."""

    class Meta:
        model = CrawlProfile
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Crawled shop {n}")
    slug = factory.Sequence(lambda n: f"crawled-shop-{n}")
    kind = CrawlProfile.Kind.SCHEMA_ORG
    base_url = "https://shop.example"
