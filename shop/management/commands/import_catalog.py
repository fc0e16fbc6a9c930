"""python manage.py import_catalog FILE [--source SLUG]: load a CSV / JSON Lines product feed.

The columns are documented in shop/feeds.py (and the README).
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from shop.feeds import FeedError
from shop.models import Source
from shop.services import catalog_import

# Reported bad rows beyond this many are counted, not listed, so a broken feed stays readable.
MAX_ERRORS_LISTED = 200


class Command(BaseCommand):
    help = (
        "Import products from a CSV or JSON Lines feed; bad rows are reported with their line number "
        "and skipped. Columns: external_id, title, category, price, image (required); brand, currency "
        "(default KRW), product_url, in_stock (optional). image is a path relative to the feed file or "
        "an http(s) URL. Details in shop/feeds.py."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the feed: *.csv or *.jsonl")
        parser.add_argument(
            "--source",
            help="slug of the source the products belong to (created as a feed source if new); "
            "default: the file name without its extension",
        )
        parser.add_argument("--no-progress", action="store_true", help="do not show a progress bar")

    def handle(self, *args, file: Path, source: str | None, no_progress: bool, **options):
        if not file.is_file():
            raise CommandError(f"There is no file {file}. Give the path of a .csv or .jsonl feed.")
        slug = source or slugify(file.stem) or "feed"
        src, created = Source.objects.get_or_create(
            slug=slug, defaults={"name": source or file.name, "kind": Source.Kind.FEED}
        )
        if created:
            self.stdout.write(f'Created the feed source "{src.name}" ({src.slug}).')
        try:
            report = catalog_import(path=file, source=src, progress=not no_progress)
        except FeedError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{file.name}: {report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.failed} failed; {report.images_stored} images stored."
        )
        for line, reason in report.errors[:MAX_ERRORS_LISTED]:
            self.stderr.write(f"{file.name}, line {line}: {reason}")
        if report.failed > MAX_ERRORS_LISTED:
            self.stderr.write(f"... and {report.failed - MAX_ERRORS_LISTED} more rows failed.")
        if report.failed:
            raise CommandError(
                f"{report.failed} row(s) were not imported; fix them and run the import again "
                "(rows already imported are left as they are)."
            )
