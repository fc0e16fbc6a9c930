"""Celery tasks for crawling: thin, take ids, call one service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from config.deliveries import deliveries_exhausted
from crawler.models import CrawlProfile
from crawler.services import CrawlAlreadyRunning, crawl_run_execute, crawl_run_gave_up

logger = logging.getLogger(__name__)
# A run stopped by a lost database connection is tried again this many times, then left to
# the next scheduled run.
DATABASE_LOST_RETRIES = 3


@shared_task(
    bind=True,
    name="crawler.tasks.crawl_source",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
)
def crawl_source(self, source_id: int, manual: bool = False) -> None:
    """Crawl one source. Scheduled runs skip disabled sources; "Crawl now" (manual) does not.

    A crawl whose worker died CELERY_TASK_MAX_DELIVERIES times is not run again: a failed
    run says so (the next scheduled run tries afresh)."""
    source = CrawlProfile.objects.filter(pk=source_id).first()
    if source is None:
        logger.warning("crawl_source: source %s no longer exists", source_id)
        return
    if not (source.enabled or manual):
        logger.info("crawl_source: %s is disabled; skipped", source.slug)
        return
    if deliveries_exhausted(self):
        crawl_run_gave_up(
            source=source,
            reason=(
                "The crawl stopped its worker several times in a row (out of memory?), so this run "
                "was given up; the next scheduled run starts afresh."
            ),
        )
        return
    try:
        run = crawl_run_execute(source_id=source_id)
    except CrawlAlreadyRunning as exc:
        # Idempotent: the run in progress does the work; a redelivered task is dropped.
        logger.info("crawl_source: %s", exc)
        return
    if run.status == run.Status.INTERRUPTED and self.request.retries < DATABASE_LOST_RETRIES:
        # The database went away mid-run (crawl_run_execute waited for it and recorded the
        # stop): what was saved stays; run again shortly instead of at the next schedule.
        raise self.retry(countdown=settings.CRAWLER_DATABASE_RETRY_SECONDS)
    logger.info(
        "crawl_source: %s %s: %s new, %s updated, %s unchanged, %s failed",
        source.slug,
        run.status,
        run.products_new,
        run.products_updated,
        run.products_unchanged,
        run.products_failed,
    )
