"""The old crawler.Source table goes (its rows live on as shop.Source and crawler.CrawlProfile,
shop 0003 and crawler 0005). Reverse: the table comes back and is filled from those rows, with
every id; a source without a profile (a feed) gets the fields' defaults."""

from django.db import migrations

RESTORE_SOURCES = """
INSERT INTO crawler_source (
    id, created_at, updated_at, name, slug, kind, currency, base_url, enabled, start_urls,
    pages_per_run, page_size, rate_limit, concurrency, schedule, inactivate_after_missed_runs,
    periodic_task_id
)
SELECT s.id, s.created_at, s.updated_at, s.name, s.slug, s.kind, s.currency,
    coalesce(p.base_url, ''), coalesce(p.enabled, true), coalesce(p.start_urls, ''),
    coalesce(p.pages_per_run, 5), coalesce(p.page_size, 60), coalesce(p.rate_limit, 1.0),
    coalesce(p.concurrency, 2), coalesce(p.schedule, ''), coalesce(p.inactivate_after_missed_runs, 3),
    p.periodic_task_id
FROM shop_source s LEFT JOIN crawler_crawlprofile p ON p.source_id = s.id;
SELECT setval(pg_get_serial_sequence('crawler_source', 'id'), coalesce(max(id), 1), max(id) IS NOT NULL)
FROM crawler_source;
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("crawler", "0005_crawlprofile"),
        ("shop", "0003_source"),
    ]

    operations = [
        migrations.RunSQL(migrations.RunSQL.noop, RESTORE_SOURCES),
        migrations.DeleteModel(name="Source"),
    ]
