"""Celery tasks for crawling: thin, take ids, call one service."""

from __future__ import annotations

import logging

from celery import shared_task

from crawler.models import Source
from crawler.services import CrawlAlreadyRunning, crawl_run_execute

logger = logging.getLogger(__name__)


@shared_task(name="crawler.tasks.crawl_source", ignore_result=True)
def crawl_source(source_id: int, manual: bool = False) -> None:
    """Crawl one source. Scheduled runs skip disabled sources; "Crawl now" (manual) does not."""
    source = Source.objects.filter(pk=source_id).first()
    if source is None:
        logger.warning("crawl_source: source %s no longer exists", source_id)
        return
    if not (source.enabled or manual):
        logger.info("crawl_source: %s is disabled; skipped", source.slug)
        return
    try:
        run = crawl_run_execute(source_id=source_id)
    except CrawlAlreadyRunning as exc:
        # Idempotent: the run in progress does the work; a redelivered task is dropped.
        logger.info("crawl_source: %s", exc)
        return
    logger.info(
        "crawl_source: %s %s: %s new, %s updated, %s unchanged, %s failed",
        source.slug,
        run.status,
        run.products_new,
        run.products_updated,
        run.products_unchanged,
        run.products_failed,
    )
