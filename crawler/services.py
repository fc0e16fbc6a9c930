"""Crawling a source: fetch listing pages, upsert products, store images, keep score.

One product = one transaction (product_upsert and its Listing row together), so a run
killed at any point leaves every product either fully written or untouched; the next
run picks up whatever is missing (new products, images not yet stored). Two runs of one
source never overlap: each holds a PostgreSQL advisory lock that dies with its
connection, so a killed worker cannot leave the source locked.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.db.models.functions import Least
from django.utils import timezone
from w3lib.url import canonicalize_url

from config.fetching import BlockedURL, Fetcher, FetchError, FetchResult, HostSkipped
from crawler.models import MISSED_RUNS_MAX, CrawlProfile, CrawlRun, Listing
from crawler.sources import Adapter, ParseError, SourceRefused, adapter_for
from crawler.sources.base import CrawledProduct
from shop.images import ImageRejected
from shop.models import Product
from shop.services import (
    ProductData,
    ProductRejected,
    UpsertResult,
    product_image_flag,
    product_image_store,
    product_upsert,
)
from shop.signals import products_marked_announce

logger = logging.getLogger(__name__)

# The run's error log keeps this many entries; a shop that breaks every page should not
# grow one JSON row without bound. The counters still count every failure.
MAX_ERRORS_KEPT = 500
# Advisory-lock namespace ("LK") so our keys cannot clash with other users of the database.
LOCK_NAMESPACE = 0x4C4B
PERIODIC_TASK_NAME = "crawler.tasks.crawl_source"

Progress = Callable[[CrawlRun], None]


class CrawlAlreadyRunning(RuntimeError):
    pass


@dataclass
class _Timer:
    parse_s: float = 0.0
    write_s: float = 0.0

    @contextmanager
    def measure(self, name: str):
        started = time.monotonic()
        try:
            yield
        finally:
            setattr(self, name, getattr(self, name) + time.monotonic() - started)


@dataclass
class _Saved:
    product: Product
    data: ProductData
    listing: Listing


@dataclass
class _Crawl:
    run: CrawlRun
    source: CrawlProfile
    adapter: Adapter
    fetcher: Fetcher
    timer: _Timer = field(default_factory=_Timer)
    seen_at: object = None
    # Product pages already read this run: listings that overlap do not fetch them twice.
    details_done: set[str] = field(default_factory=set)
    said_once: set[str] = field(default_factory=set)

    # -- bookkeeping
    def error(self, url: str, reason: str, *, once: bool = False) -> None:
        """Record a failure; ``once``: the same reason again adds nothing (a skipped host)."""
        if once:
            if reason in self.said_once:
                return
            self.said_once.add(reason)
        logger.info("crawl %s: %s: %s", self.source.slug, url, reason)
        if len(self.run.errors) < MAX_ERRORS_KEPT:
            self.run.errors.append({"url": url[:2000], "reason": reason[:1000]})

    def save_run(self) -> None:
        stats = self.fetcher.stats
        self.run.timings = {
            "politeness_wait_s": round(stats.politeness_wait_s, 4),
            "network_s": round(stats.network_s, 4),
            "parse_s": round(self.timer.parse_s, 4),
            "write_s": round(self.timer.write_s, 4),
            "requests": stats.requests,
            "retries": stats.retries,
        }
        self.run.save()


@contextmanager
def _source_lock(source_id: int):
    acquired = _source_lock_take(source_id)
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, source_id])


def _source_lock_take(source_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, source_id])
        return cursor.fetchone()[0]


def _connection_alive() -> bool:
    """False once the database went away (Django drops a connection whose rollback failed)."""
    return connection.connection is not None and connection.is_usable()


def _database_reconnect() -> None:
    """Drop the broken connection and wait until the database answers again, for at most
    CRAWLER_DATABASE_WAIT_SECONDS (then the error propagates: the task fails and is logged)."""
    deadline = time.monotonic() + settings.CRAWLER_DATABASE_WAIT_SECONDS
    while True:
        connection.close()
        try:
            connection.ensure_connection()
            if connection.is_usable():
                return
        except (OperationalError, InterfaceError):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.5)


def crawl_run_execute(
    *, source_id: int, max_pages: int | None = None, progress: Progress | None = None
) -> CrawlRun:
    """Crawl one source now and return its finished CrawlRun.

    Raises CrawlAlreadyRunning when another run of the source holds its lock. Failures of
    single pages, products and images are recorded on the run and the run goes on.
    """
    source = CrawlProfile.objects.get(pk=source_id)
    adapter = adapter_for(source.kind)
    with _source_lock(source.pk) as acquired:
        if not acquired:
            raise CrawlAlreadyRunning(f"Source {source.slug!r} is being crawled already; try again later.")
        # We hold the lock, so any run still marked running died with its process.
        CrawlRun.objects.for_source(source).running().update(
            status=CrawlRun.Status.INTERRUPTED, finished_at=timezone.now()
        )
        run = CrawlRun.objects.create(source=source)
        crawl = _Crawl(
            run=run,
            source=source,
            adapter=adapter,
            fetcher=Fetcher(rate_limit=source.rate_limit, concurrency=source.concurrency),
            seen_at=timezone.now(),
        )
        started = time.monotonic()
        try:
            _crawl_pages(crawl, max_pages=max_pages, progress=progress)
            _missed_runs_count(crawl)
        except SoftTimeLimitExceeded:
            # The crawl task's soft time limit (CELERY_TIME_LIMITS): what was saved stays, the
            # run is incomplete (no product counts as missed), the next run carries on.
            run.status = CrawlRun.Status.PARTIAL
            run.complete = False
            minutes = settings.CELERY_TIME_LIMITS["crawl"][0] / 60
            crawl.error(
                source.base_url or source.slug,
                f"The run reached its time limit of {minutes:g} minutes and stopped; later runs carry on.",
            )
        except SourceRefused as exc:
            # Expected, and the same for every page: one error, no traceback.
            logger.warning("crawl %s refused: %s", source.slug, exc)
            run.status = CrawlRun.Status.FAILED
            crawl.error(source.base_url or source.slug, str(exc))
        except Exception as exc:
            if isinstance(exc, (OperationalError, InterfaceError)) and not _connection_alive():
                # The database restarted or the connection broke mid-run. Every product is its
                # own transaction, so each is saved or untouched; the lock went with the old
                # session. Wait for the database, take the lock again and record the stop: the
                # run is INTERRUPTED (the crawl task runs it again) and incomplete (no product
                # counts as missed).
                logger.warning("crawl %s: the database connection was lost: %s", source.slug, exc)
                _database_reconnect()
                _source_lock_take(source.pk)
                run.status = CrawlRun.Status.INTERRUPTED
                run.complete = False
                crawl.error(
                    source.base_url or source.slug,
                    "The database connection was lost during the run (a database restart?). Every "
                    "product saved before stays saved; the run stopped there and the next run carries on.",
                )
            else:
                logger.exception("crawl %s failed", source.slug)
                run.status = CrawlRun.Status.FAILED
                crawl.error(source.base_url or source.slug, f"The run stopped: {exc}")
        else:
            failures = run.pages_failed + run.products_failed + run.images_failed
            seen = run.products_new + run.products_updated + run.products_unchanged
            if run.pages_failed and not seen:
                run.status = CrawlRun.Status.FAILED
            else:
                run.status = CrawlRun.Status.PARTIAL if failures else CrawlRun.Status.SUCCEEDED
        run.finished_at = timezone.now()
        crawl.save_run()
        run.timings["total_s"] = round(time.monotonic() - started, 4)
        run.save(update_fields=["timings"])
    _products_marked_announce(source)
    return run


def crawl_run_gave_up(*, source: CrawlProfile, reason: str) -> CrawlRun:
    """Record a run that was not attempted (its task was given up), with the reason."""
    return CrawlRun.objects.create(
        source=source,
        status=CrawlRun.Status.FAILED,
        finished_at=timezone.now(),
        errors=[{"url": source.base_url or source.slug, "reason": reason}],
    )


def _crawl_pages(crawl: _Crawl, *, max_pages: int | None, progress: Progress | None) -> None:
    run, adapter = crawl.run, crawl.adapter
    cap = min(max_pages or crawl.source.pages_per_run, settings.CRAWLER_MAX_PAGES_PER_RUN)
    try:
        queue = deque(adapter.start_urls(crawl.source))
    except ParseError as exc:
        crawl.error(crawl.source.base_url or crawl.source.slug, str(exc))
        run.pages_failed += 1
        return
    visited: set[str] = set()
    fingerprints: dict[str, str] = {}
    complete = True
    listing_pages = 0  # the cap counts listing pages; product pages are bounded by the listings
    while queue:
        url = queue.popleft()
        key = canonicalize_url(url)
        if key in visited:
            crawl.error(
                url, "Pagination loop: this page was already crawled in this run; stopped following it."
            )
            continue
        if listing_pages >= cap:
            complete = False
            crawl.error(url, f"Stopped at the page cap ({cap} pages); the rest is crawled by later runs.")
            break
        visited.add(key)
        listing_pages += 1
        try:
            result = crawl.fetcher.get(url, accept=adapter.accept)
        except FetchError as exc:
            run.pages_failed += 1
            if refusal := adapter.refusal(status=exc.status):
                raise SourceRefused(refusal) from exc
            complete = False
            crawl.error(exc.url or url, exc.reason, once=isinstance(exc, HostSkipped))
            crawl.save_run()
            continue
        run.pages_fetched += 1
        try:
            with crawl.timer.measure("parse_s"):
                page = adapter.parse_listing(url=result.url, text=result.text(), source=crawl.source)
        except (ParseError, FetchError) as exc:
            run.pages_failed += 1
            complete = False
            crawl.error(url, str(exc))
            crawl.save_run()
            continue
        if page.fingerprint and page.fingerprint in fingerprints:
            crawl.error(
                url,
                f"Pagination loop: this page repeats {fingerprints[page.fingerprint]}; stopped following it.",
            )
            crawl.save_run()
            continue
        if page.fingerprint:
            fingerprints[page.fingerprint] = url
        known = _listings_by_external_id(crawl, page.items) if page.items else {}
        saved = [_product_save(crawl, data, listing=known.get(data.external_id)) for data in page.items]
        saved = [item for item in saved if item]
        for item_error in page.errors:
            run.products_failed += 1
            crawl.error(item_error.url, item_error.reason)
        saved += _details_crawl(crawl, page.detail_urls)
        _images_store(crawl, saved)
        for next_url in page.next_urls:
            if canonicalize_url(next_url) in visited:
                crawl.error(
                    next_url,
                    "Pagination loop: this page was already crawled in this run; stopped following it.",
                )
            else:
                queue.append(next_url)
        crawl.save_run()
        if progress:
            run.listing_pages = listing_pages  # for progress bars: product pages are not counted
            progress(run)
    run.complete = complete and run.pages_failed == 0


def _listings_by_external_id(crawl: _Crawl, items: list[ProductData]) -> dict[str, Listing]:
    """The page's known listings in one query, so each product costs one listing UPDATE."""
    ids = [item.external_id for item in items]
    listings = Listing.objects.filter(source=crawl.source, product__external_id__in=ids).select_related(
        "product"
    )
    return {listing.product.external_id: listing for listing in listings}


def _product_save(
    crawl: _Crawl,
    data: ProductData,
    *,
    listing: Listing | None = None,
    page_url: str = "",
    result: FetchResult | None = None,
) -> _Saved | None:
    """Upsert one product and its Listing in one transaction; count and log the outcome.

    ``listing`` is the product's Listing when the caller already loaded it.
    """
    run = crawl.run
    try:
        with crawl.timer.measure("write_s"), transaction.atomic():
            product, outcome = product_upsert(source=crawl.source, data=data, seen_at=crawl.seen_at)
            defaults = {"source": crawl.source, "last_run": run, "missed_runs": 0}
            if page_url:
                defaults["page_url"] = page_url[:2000]
            if result is not None:
                defaults["page_etag"] = result.etag[:500]
                defaults["page_last_modified"] = result.last_modified[:100]
            defaults.update(_provenance_fields(data))
            if listing is not None and listing.product_id == product.pk:
                for name, value in defaults.items():
                    setattr(listing, name, value)
                listing.save(update_fields=list(defaults))
            else:
                listing, _ = Listing.objects.update_or_create(product=product, defaults=defaults)
    except ProductRejected as exc:
        run.products_failed += 1
        crawl.error(data.product_url or page_url or data.external_id, str(exc))
        return None
    except DatabaseError as exc:
        if not _connection_alive():
            raise  # the database went away: the run stops there (crawl_run_execute)
        run.products_failed += 1
        crawl.error(data.product_url or page_url or data.external_id, f"Could not save the product: {exc}")
        return None
    if outcome is UpsertResult.CREATED:
        run.products_new += 1
    elif outcome is UpsertResult.UPDATED:
        run.products_updated += 1
    else:
        run.products_unchanged += 1
    return _Saved(product, data, listing)


def _provenance_fields(data: ProductData) -> dict:
    """Listing fields recording where a product page's fields were read, and whether its
    price is unsure enough for a person to check (CRAWLER_PRICE_CONFIDENCE_MIN)."""
    if not isinstance(data, CrawledProduct) or "price" not in data.provenance:
        return {}
    price = data.provenance["price"]
    known = price["source"] in Listing.FieldSource.values
    return {
        "field_sources": data.provenance,
        "price_source": price["source"] if known else "",
        "price_confidence": price["confidence"],
        "price_unsure": price["confidence"] < settings.CRAWLER_PRICE_CONFIDENCE_MIN,
    }


def _details_crawl(crawl: _Crawl, urls: list[str]) -> list[_Saved]:
    """Fetch product pages (concurrently, politely), then parse and save them in order."""
    urls = [url for url in dict.fromkeys(urls) if url not in crawl.details_done]
    crawl.details_done.update(urls)
    if not urls:
        return []
    known = {
        listing.page_url: listing
        for listing in Listing.objects.filter(source=crawl.source, page_url__in=urls).select_related(
            "product"
        )
    }

    def fetch(url: str):
        listing = known.get(url)
        try:
            return crawl.fetcher.get(
                url,
                etag=listing.page_etag if listing else "",
                last_modified=listing.page_last_modified if listing else "",
            )
        except FetchError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=crawl.source.concurrency) as pool:
        fetched = list(pool.map(fetch, urls))
    saved = []
    for url, result in zip(urls, fetched, strict=True):
        listing = known.get(url)
        if isinstance(result, FetchError):
            crawl.run.products_failed += 1
            crawl.error(result.url or url, result.reason, once=isinstance(result, HostSkipped))
            # A page that is temporarily broken is not a product that is gone: only 404/410
            # and refusals count towards inactivation.
            gone = result.status in (404, 410) or isinstance(result, BlockedURL)
            if listing and not gone:
                Listing.objects.filter(pk=listing.pk).update(last_run=crawl.run)
            continue
        crawl.run.pages_fetched += 1
        if result.not_modified and listing:
            with crawl.timer.measure("write_s"):
                Listing.objects.filter(pk=listing.pk).update(last_run=crawl.run, missed_runs=0)
                Product.objects.filter(pk=listing.product_id, is_active=False).update(is_active=True)
                Product.objects.filter(pk=listing.product_id).update(last_seen_at=crawl.seen_at)
            crawl.run.products_unchanged += 1
            continue
        try:
            with crawl.timer.measure("parse_s"):
                data = crawl.adapter.parse_detail(url=result.url, text=result.text(), source=crawl.source)
        except (ParseError, FetchError) as exc:
            crawl.run.products_failed += 1
            crawl.error(url, str(exc))
            continue
        same = listing if listing and listing.product.external_id == data.external_id else None
        item = _product_save(crawl, data, listing=same, page_url=url, result=result)
        if item:
            saved.append(item)
    return saved


def _images_store(crawl: _Crawl, saved: list[_Saved]) -> None:
    """Download images that are new or whose URL changed; re-check unchanged URLs only
    with a conditional request (when the server gave validators)."""
    todo: list[_Saved] = []
    for item in saved:
        url = item.data.image_url
        if not url:
            continue
        same_url = bool(item.product.image) and item.listing.image_url == url
        if same_url and not (item.listing.image_etag or item.listing.image_last_modified):
            continue
        todo.append(item)
    if not todo:
        return

    def fetch(item: _Saved):
        same_url = bool(item.product.image) and item.listing.image_url == item.data.image_url
        try:
            return crawl.fetcher.get_image(
                item.data.image_url,
                etag=item.listing.image_etag if same_url else "",
                last_modified=item.listing.image_last_modified if same_url else "",
            )
        except FetchError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=crawl.source.concurrency) as pool:
        results = list(pool.map(fetch, todo))
    for item, result in zip(todo, results, strict=True):
        product, url = item.product, item.data.image_url
        if isinstance(result, HostSkipped):  # the host's robots.txt, not this image's fault
            crawl.run.images_failed += 1
            crawl.error(url, result.reason, once=True)
            continue
        if isinstance(result, FetchError):
            crawl.run.images_failed += 1
            crawl.error(url, f"Image: {result.reason}")
            product_image_flag(product=product, reason=result.reason)
            continue
        if result.not_modified:
            continue
        try:
            with crawl.timer.measure("write_s"), transaction.atomic():
                changed = product_image_store(
                    product=product, data=result.content, max_bytes=settings.CRAWLER_MAX_IMAGE_BYTES
                )
                Listing.objects.filter(pk=item.listing.pk).update(
                    image_url=url[:2000],
                    image_etag=result.etag[:500],
                    image_last_modified=result.last_modified[:100],
                )
        except ImageRejected as exc:
            crawl.run.images_failed += 1
            crawl.error(url, f"Image: {exc}")
            product_image_flag(product=product, reason=str(exc))
            continue
        if changed:
            crawl.run.images_stored += 1
            twin = (
                Product.objects.filter(image_sha256=product.image_sha256)
                .exclude(pk=product.pk)
                .values_list("pk", flat=True)
                .first()
            )
            if twin:
                # Same bytes as another product: often a placeholder ("no image") or a
                # re-listed item. Counted so the operator can look; both keep their image.
                crawl.run.images_duplicate += 1
                logger.info(
                    "crawl %s: product %s has the same image as %s", crawl.source.slug, product.pk, twin
                )


def _missed_runs_count(crawl: _Crawl) -> None:
    """After a complete run: products not seen get a miss; enough misses in a row hide them."""
    run, source = crawl.run, crawl.source
    if not run.complete:
        return
    with transaction.atomic():
        missed = Listing.objects.filter(source=source).exclude(last_run=run)
        # Saturating: a listing gone for months must not overflow the column and fail every run.
        missed.update(missed_runs=Least(F("missed_runs") + 1, MISSED_RUNS_MAX))
        run.products_inactivated = Product.objects.filter(
            listing__source=source,
            listing__missed_runs__gte=source.inactivate_after_missed_runs,
            is_active=True,
        ).update(is_active=False)


def _products_marked_announce(source: CrawlProfile) -> None:
    """Tell whoever indexes the catalogue (shop.signals) that this run marked products for
    embedding, once the run's writes are committed; the crawler does not queue indexing itself."""
    if not settings.CRAWLER_EMBED_AFTER_RUN:
        return
    if not Product.objects.filter(source=source).needing_embedding().exists():
        return
    products_marked_announce(sender="crawler.run", source=source)


# --- Schedules ------------------------------------------------------------------------


def source_schedule_sync(*, source: CrawlProfile) -> None:
    """Keep the source's django-celery-beat PeriodicTask in step with its schedule.

    A source with a schedule and enabled gets exactly one crontab task on the crawl queue;
    otherwise its task is removed. The beat process (run exactly one) reads these rows.
    """
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    with transaction.atomic():
        task = source.periodic_task
        if not (source.schedule.strip() and source.enabled):
            if task is not None:
                CrawlProfile.objects.filter(pk=source.pk).update(periodic_task=None)
                source.periodic_task = None
                task.delete()
            return
        minute, hour, day_of_month, month_of_year, day_of_week = source.schedule.split()
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
            timezone=settings.TIME_ZONE,
        )
        if task is None:
            task = PeriodicTask(name=f"Crawl source {source.pk} ({source.slug})")
        task.crontab = crontab
        task.interval = None
        task.task = PERIODIC_TASK_NAME
        task.args = json.dumps([source.pk])
        task.kwargs = "{}"
        task.queue = "crawl"
        task.enabled = True
        task.description = f"Crawls {source.name} on the schedule set on the source."
        task.save()
        if source.periodic_task_id != task.pk:
            source.periodic_task = task
            CrawlProfile.objects.filter(pk=source.pk).update(periodic_task=task)
