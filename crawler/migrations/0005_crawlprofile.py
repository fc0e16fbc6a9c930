"""A source's crawl settings become its crawler.CrawlProfile (issue 12): one row per crawled
source, with the source's id as its primary key (multi-table inheritance from shop.Source,
made in shop 0003). Crawl runs and listings point at the profile, with the same ids.

Sources of kind "feed" get no profile (they are imported, not crawled) unless they have crawl
runs, listings or a schedule, so nothing that points at them is lost. Reversible: crawler
0006's reverse rebuilds crawler_source from shop_source and these rows.
"""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models

import crawler.models

COPY_PROFILES = """
INSERT INTO crawler_crawlprofile (
    source_id, base_url, enabled, start_urls, pages_per_run, page_size, rate_limit, concurrency,
    schedule, inactivate_after_missed_runs, periodic_task_id
)
SELECT id, base_url, enabled, start_urls, pages_per_run, page_size, rate_limit, concurrency,
    schedule, inactivate_after_missed_runs, periodic_task_id
FROM crawler_source s
WHERE s.kind <> 'feed'
    OR s.periodic_task_id IS NOT NULL
    OR EXISTS (SELECT 1 FROM crawler_crawlrun r WHERE r.source_id = s.id)
    OR EXISTS (SELECT 1 FROM crawler_listing l WHERE l.source_id = s.id);
-- Check the new rows' foreign keys now, so the ALTER TABLEs below find no pending trigger events.
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("crawler", "0004_listing_field_sources"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("shop", "0003_source"),
    ]

    operations = [
        migrations.CreateModel(
            name="CrawlProfile",
            fields=[
                (
                    "source",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        parent_link=True,
                        primary_key=True,
                        related_name="crawl_profile",
                        serialize=False,
                        to="shop.source",
                        verbose_name="source",
                    ),
                ),
                ("base_url", models.URLField(blank=True, max_length=2000, verbose_name="base URL")),
                ("enabled", models.BooleanField(default=True, verbose_name="enabled")),
                (
                    "start_urls",
                    models.TextField(
                        blank=True,
                        help_text=(
                            "One per line. Musinsa: category codes such as 001 (tops) or 002 (outerwear). "
                            "schema.org: sitemap.xml or listing page URLs. Shopify: leave empty to use the "
                            "base URL."
                        ),
                        verbose_name="start URLs or category codes",
                    ),
                ),
                (
                    "pages_per_run",
                    models.PositiveIntegerField(
                        default=5,
                        help_text=(
                            "Listing pages fetched per start URL in one run (also capped by "
                            "CRAWLER_MAX_PAGES_PER_RUN)."
                        ),
                        validators=[django.core.validators.MinValueValidator(1)],
                        verbose_name="pages per run",
                    ),
                ),
                (
                    "page_size",
                    models.PositiveSmallIntegerField(
                        default=60,
                        help_text="Products per listing page for sources that accept a size (Musinsa, Shopify).",
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(250),
                        ],
                        verbose_name="page size",
                    ),
                ),
                (
                    "rate_limit",
                    models.FloatField(
                        default=1.0,
                        help_text="Requests per second per host. robots.txt Crawl-delay wins when it is slower.",
                        validators=[
                            django.core.validators.MinValueValidator(0.01),
                            django.core.validators.MaxValueValidator(50),
                        ],
                        verbose_name="rate limit",
                    ),
                ),
                (
                    "concurrency",
                    models.PositiveSmallIntegerField(
                        default=2,
                        help_text="Requests in flight per host (product pages and images).",
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(16),
                        ],
                        verbose_name="concurrency",
                    ),
                ),
                (
                    "schedule",
                    models.CharField(
                        blank=True,
                        help_text=(
                            "A cron expression (minute hour day-of-month month day-of-week), e.g. "
                            "'0 3 * * *' for every night at 03:00. Leave empty to crawl only on demand."
                        ),
                        max_length=100,
                        validators=[crawler.models.cron_validate],
                        verbose_name="schedule",
                    ),
                ),
                (
                    "inactivate_after_missed_runs",
                    models.PositiveSmallIntegerField(
                        default=3,
                        help_text=(
                            "A product missing from this many complete runs in a row is hidden from the "
                            "shop (never deleted)."
                        ),
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(32767),
                        ],
                        verbose_name="inactivate after missed runs",
                    ),
                ),
                (
                    "periodic_task",
                    models.OneToOneField(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="crawler_source",
                        to="django_celery_beat.periodictask",
                        verbose_name="periodic task",
                    ),
                ),
            ],
            options={
                "verbose_name": "source",
                "verbose_name_plural": "sources",
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("rate_limit__gt", 0)), name="source_rate_limit_positive")
                ],
            },
            bases=("shop.source",),
        ),
        # Reverse: nothing to copy back here; crawler 0006's reverse refills crawler_source.
        migrations.RunSQL(COPY_PROFILES, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="crawlrun",
            name="source",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="runs",
                to="crawler.crawlprofile",
                verbose_name="source",
            ),
        ),
        migrations.AlterField(
            model_name="listing",
            name="source",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="listings",
                to="crawler.crawlprofile",
                verbose_name="source",
            ),
        ),
    ]
