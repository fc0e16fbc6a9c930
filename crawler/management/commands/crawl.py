"""python manage.py crawl SOURCE [--pages N] - crawl one source now, with a progress bar."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from crawler.models import CrawlProfile
from crawler.services import CrawlAlreadyRunning, crawl_run_execute


class Command(BaseCommand):
    help = "Crawl one source now (by slug or id) and print what the run found."

    def add_arguments(self, parser):
        parser.add_argument("source", help="The source's slug (or numeric id).")
        parser.add_argument(
            "--pages", type=int, default=None, help="Listing pages to fetch (default: the source's)."
        )

    def handle(self, *args, source: str, pages: int | None, **options):
        lookup = {"pk": int(source)} if source.isdigit() else {"slug": source}
        found = CrawlProfile.objects.filter(**lookup).first()
        if found is None:
            known = (
                ", ".join(CrawlProfile.objects.values_list("slug", flat=True))
                or "none yet - add one in the admin"
            )
            raise CommandError(f"There is no source {source!r}. Known sources: {known}.")
        if pages is not None and pages < 1:
            raise CommandError("--pages must be 1 or more.")
        total = min(pages or found.pages_per_run, settings.CRAWLER_MAX_PAGES_PER_RUN)
        bar = tqdm(total=total, unit="page", desc=found.slug, disable=options.get("verbosity", 1) == 0)
        done = 0

        def progress(run):
            nonlocal done
            listing_pages = min(run.listing_pages, total)
            bar.update(max(listing_pages - done, 0))
            done = max(done, listing_pages)
            bar.set_postfix(new=run.products_new, updated=run.products_updated, failed=run.products_failed)

        try:
            run = crawl_run_execute(source_id=found.pk, max_pages=pages, progress=progress)
        except CrawlAlreadyRunning as exc:
            raise CommandError(str(exc)) from exc
        except ValueError as exc:  # a kind that is not crawled (feeds)
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        self.stdout.write(
            f"{found.slug}: {run.get_status_display()} - {run.pages_fetched} pages, "
            f"{run.products_new} new, {run.products_updated} updated, {run.products_unchanged} unchanged, "
            f"{run.products_failed} failed, {run.products_inactivated} inactivated, "
            f"{run.images_stored} images stored ({run.images_failed} failed)."
        )
        for error in run.errors[:20]:
            self.stdout.write(f"  {error['url']}: {error['reason']}")
        if len(run.errors) > 20:
            self.stdout.write(f"  ... and {len(run.errors) - 20} more; see the run in the admin.")
