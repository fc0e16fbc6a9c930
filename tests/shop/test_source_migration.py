"""shop 0003 / crawler 0005-0006 (issue 12): crawler.Source becomes shop.Source plus a
crawler.CrawlProfile, on a database with data, and back. Every source keeps its id and its
values; products, crawl runs and listings keep pointing at the same ids; the schedule's
periodic task stays attached; the id sequence carries on after the copied ids."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("shop", "0002_garment_categories"), ("crawler", "0004_listing_field_sources")]
AFTER = [("shop", "0003_source"), ("crawler", "0006_delete_source")]
PROFILE_FIELDS = (
    "base_url",
    "enabled",
    "start_urls",
    "pages_per_run",
    "page_size",
    "rate_limit",
    "concurrency",
    "schedule",
    "inactivate_after_missed_runs",
    "periodic_task_id",
)
SOURCE_FIELDS = ("id", "created_at", "updated_at", "name", "slug", "kind", "currency")


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def _seed(apps) -> dict:
    """Sources with ids that have gaps, a schedule, runs, listings and products."""
    Source = apps.get_model("crawler", "Source")
    CrawlRun = apps.get_model("crawler", "CrawlRun")
    Listing = apps.get_model("crawler", "Listing")
    Product = apps.get_model("shop", "Product")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")

    crontab = CrontabSchedule.objects.create(minute="0", hour="3")
    task = PeriodicTask.objects.create(
        name="crawl nightly", task="crawler.tasks.crawl_source", crontab=crontab
    )
    feed = Source.objects.create(id=7, name="Demo feed", slug="demo", kind="feed")
    nightly = Source.objects.create(
        id=11,
        name="Musinsa tops",
        slug="musinsa-tops",
        kind="musinsa",
        start_urls="001\n002",
        pages_per_run=9,
        page_size=30,
        rate_limit=0.5,
        concurrency=3,
        schedule="0 3 * * *",
        inactivate_after_missed_runs=5,
        periodic_task=task,
        enabled=False,
    )
    shopify = Source.objects.create(
        id=12, name="Shopify shop", slug="shopify-shop", kind="shopify", base_url="https://s.example",
        currency="USD",
    )  # fmt: skip
    # A feed that was once crawled by mistake: its run must keep pointing somewhere.
    odd_feed = Source.objects.create(id=20, name="Old feed", slug="old-feed", kind="feed")
    old = timezone.now() - timedelta(days=30)
    Source.objects.filter(pk=12).update(created_at=old, updated_at=old)
    products = {
        source.slug: Product.objects.create(
            source=source, external_id=f"x-{source.pk}", title=f"Item {source.pk}", price=Decimal("10.00")
        )
        for source in (feed, nightly, shopify)
    }
    run = CrawlRun.objects.create(source=shopify, status="succeeded", complete=True, products_new=1)
    CrawlRun.objects.create(source=odd_feed, status="failed")
    Listing.objects.create(product=products["shopify-shop"], source=shopify, last_run=run, missed_runs=2)
    return {
        "sources": {
            row["id"]: row for row in Source.objects.order_by("id").values(*SOURCE_FIELDS, *PROFILE_FIELDS)
        },
        "products": dict(Product.objects.values_list("id", "source_id")),
        "runs": dict(CrawlRun.objects.values_list("id", "source_id")),
        "listings": dict(Listing.objects.values_list("id", "source_id")),
        "task": task.pk,
    }


@pytest.mark.django_db(transaction=True)
def test_sources_move_to_the_shop_with_their_data_and_back():
    try:
        old_apps = _migrate(BEFORE)
        seeded = _seed(old_apps)

        new_apps = _migrate(AFTER)
        Source = new_apps.get_model("shop", "Source")
        CrawlProfile = new_apps.get_model("crawler", "CrawlProfile")
        Product = new_apps.get_model("shop", "Product")
        CrawlRun = new_apps.get_model("crawler", "CrawlRun")
        Listing = new_apps.get_model("crawler", "Listing")

        moved = {row["id"]: row for row in Source.objects.order_by("id").values(*SOURCE_FIELDS)}
        assert moved == {pk: {f: row[f] for f in SOURCE_FIELDS} for pk, row in seeded["sources"].items()}
        # Crawled sources (and a feed with a crawl run) have a profile with every crawl value.
        profiles = {
            row["source_id"]: row for row in CrawlProfile.objects.values("source_id", *PROFILE_FIELDS)
        }
        assert sorted(profiles) == [11, 12, 20]
        for pk, profile in profiles.items():
            assert {f: profile[f] for f in PROFILE_FIELDS} == {
                f: seeded["sources"][pk][f] for f in PROFILE_FIELDS
            }
        assert profiles[11]["periodic_task_id"] == seeded["task"]
        assert dict(Product.objects.values_list("id", "source_id")) == seeded["products"]
        assert dict(CrawlRun.objects.values_list("id", "source_id")) == seeded["runs"]
        assert dict(Listing.objects.values_list("id", "source_id")) == seeded["listings"]
        # The id sequence carries on after the copied ids.
        fresh = Source.objects.create(name="New feed", slug="new-feed")
        assert fresh.pk == 21
        fresh.delete()

        old_apps = _migrate(BEFORE)
        OldSource = old_apps.get_model("crawler", "Source")
        restored = {
            row["id"]: row for row in OldSource.objects.order_by("id").values(*SOURCE_FIELDS, *PROFILE_FIELDS)
        }
        assert restored == seeded["sources"]
        assert (
            dict(old_apps.get_model("shop", "Product").objects.values_list("id", "source_id"))
            == seeded["products"]
        )
        assert (
            dict(old_apps.get_model("crawler", "CrawlRun").objects.values_list("id", "source_id"))
            == seeded["runs"]
        )
        assert OldSource.objects.create(name="Another", slug="another").pk == 21
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
