"""python manage.py import_exchange_rates FILE [--source NAME]: load exchange rates from a file.

The shop fetches nothing from the internet: the operator exports rates (from their bank, a
central bank's reference rates, …) and imports them here. Formats in shop/currency.py.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from shop.currency import RatesFileError
from shop.services import exchange_rates_import


class Command(BaseCommand):
    help = (
        "Import exchange rates from a CSV (columns base, currency, rate, date, optional source: "
        '"1 base = rate currency" on that date) or JSON file (a list of such objects, or '
        '{"base": "USD", "date": "2026-11-30", "rates": {"KRW": 1391.5}}). Bad rows are reported and skipped.'
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the rates: *.csv or *.json")
        parser.add_argument("--source", default="", help="where the rates come from (default: the file name)")

    def handle(self, *args, file: Path, source: str, **options):
        if not file.is_file():
            raise CommandError(f"There is no file {file}. Give the path of a .csv or .json file of rates.")
        try:
            report = exchange_rates_import(path=file, source=source)
        except RatesFileError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{file.name}: {report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged, {len(report.errors)} failed."
        )
        for number, reason in report.errors:
            self.stderr.write(f"{file.name}, row {number}: {reason}")
        if report.errors:
            raise CommandError(
                f"{len(report.errors)} rate(s) were not imported; fix them and run the import again "
                "(rates already imported are kept)."
            )
