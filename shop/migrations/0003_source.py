"""The catalogue owns its sources (issue 12): shop.Source takes over crawler.Source's rows,
ids, names, kinds and currencies; Product.source points at it (same ids, so no product row
changes). The crawl-specific fields move to crawler.CrawlProfile (crawler 0005), and the old
table goes in crawler 0006, whose reverse fills it again from these rows.

Tested on a database with data, both ways: tests/shop/test_source_migration.py.
"""

import django.db.models.deletion
from django.db import migrations, models

COPY_SOURCES = """
INSERT INTO shop_source (id, created_at, updated_at, name, slug, kind, currency)
SELECT id, created_at, updated_at, name, slug, kind, currency FROM crawler_source;
SELECT setval(pg_get_serial_sequence('shop_source', 'id'), coalesce(max(id), 1), max(id) IS NOT NULL)
FROM shop_source;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0002_garment_categories"),
        ("crawler", "0004_listing_field_sources"),
    ]

    operations = [
        migrations.CreateModel(
            name="Source",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated")),
                ("name", models.CharField(max_length=200, verbose_name="name")),
                ("slug", models.SlugField(max_length=100, unique=True, verbose_name="slug")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("feed", "Product feed (CSV / JSON Lines)"),
                            ("musinsa", "Musinsa category listing"),
                            ("schemaorg", "schema.org product pages"),
                            ("shopify", "Shopify storefront"),
                        ],
                        default="feed",
                        max_length=20,
                        verbose_name="kind",
                    ),
                ),
                (
                    "currency",
                    models.CharField(
                        blank=True,
                        help_text="ISO 4217 code of the shop's prices when its data does not say (Shopify), e.g. USD.",
                        max_length=3,
                        verbose_name="currency",
                    ),
                ),
            ],
            options={"verbose_name": "source", "verbose_name_plural": "sources", "ordering": ["name"]},
        ),
        # Reverse: nothing to copy back here; crawler 0006's reverse refills crawler_source.
        migrations.RunSQL(COPY_SOURCES, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="product",
            name="source",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="products",
                to="shop.source",
                verbose_name="source",
            ),
        ),
    ]
