"""Prices in the shopper's currency: exchange rates the operator imported, read once per page.

A rate row says how many units of ``currency`` one ``base`` bought on ``as_of``
(shop.models.ExchangeRate). An amount in A is converted to B through a base that has rates
for both (or is one of them): ``amount * rate(base→B) / rate(base→A)``, at full Decimal
precision, so A→B→A gives the amount back; only what is shown is rounded to the currency's
minor unit. A conversion carries the date of the older rate it used, and the page shows it.
With no path between two currencies there is no conversion: the pages then compare prices
within one currency only, and say so.

The file format of ``manage.py import_exchange_rates`` is read here too (exchange_rate_file_rows).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from babel.numbers import get_currency_precision, list_currencies
from django.conf import settings
from django.utils import timezone

CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
# The largest rate the column holds (max_digits 24, 12 decimals).
RATE_MAX = Decimal("1e12")


class RatesFileError(ValueError):
    """The whole file cannot be read (not CSV/JSON, missing columns)."""


@dataclass(frozen=True)
class Conversion:
    """An amount converted, with the date of the (older) rate used; ``as_of`` is None for an
    amount already in the wanted currency."""

    amount: Decimal
    currency: str
    as_of: dt.date | None

    @property
    def stale(self) -> bool:
        return self.as_of is not None and exchange_rate_is_stale(as_of=self.as_of)


def exchange_rate_is_stale(*, as_of: dt.date, today: dt.date | None = None) -> bool:
    """Older than SHOP_EXCHANGE_RATE_MAX_AGE_DAYS: still used, but flagged in the admin and on pages."""
    today = today or timezone.localdate()
    return (today - as_of).days > settings.SHOP_EXCHANGE_RATE_MAX_AGE_DAYS


def money_round(amount: Decimal, currency: str) -> Decimal:
    """The amount in the currency's minor unit (KRW: whole won; USD: cents), half up."""
    try:
        places = get_currency_precision(currency)
    except (ValueError, KeyError):  # pragma: no cover - babel knows every ISO code
        places = 2
    return Decimal(amount).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


class Rates:
    """The latest rate of each (base, currency) pair, as one page reads them."""

    def __init__(self, rows=()):
        self._legs: dict[str, dict[str, tuple[Decimal, dt.date]]] = {}
        for base, currency, rate, as_of in rows:
            self._legs.setdefault(base, {})[currency] = (Decimal(rate), as_of)

    def __bool__(self) -> bool:
        return bool(self._legs)

    def _leg(self, base: str, currency: str) -> tuple[Decimal, dt.date | None] | None:
        if currency == base:
            return Decimal(1), None
        return self._legs.get(base, {}).get(currency)

    def _path(self, from_currency: str, to_currency: str) -> tuple[Decimal, Decimal, dt.date | None] | None:
        """(base→from leg, base→to leg, date of the older leg) through the base with the most
        recent rates that links the two, or None when none does."""
        if from_currency == to_currency:
            return Decimal(1), Decimal(1), None
        best = None
        for base in sorted(set(self._legs) | {from_currency, to_currency}):
            leg_from, leg_to = self._leg(base, from_currency), self._leg(base, to_currency)
            if leg_from is None or leg_to is None:
                continue
            as_of = min(d for d in (leg_from[1], leg_to[1]) if d is not None)
            if best is None or as_of > best[2]:
                best = (leg_from[0], leg_to[0], as_of)
        return best

    def rate(self, from_currency: str, to_currency: str) -> tuple[Decimal, dt.date | None] | None:
        """(units of ``to_currency`` per unit of ``from_currency``, the rate's date), or None."""
        path = self._path(from_currency, to_currency)
        return None if path is None else (path[1] / path[0], path[2])

    def convert(self, amount, from_currency: str, to_currency: str) -> Conversion | None:
        """``amount`` in ``to_currency`` (not rounded), or None without a rate."""
        path = self._path(from_currency, to_currency)
        if path is None:
            return None
        leg_from, leg_to, as_of = path
        # Multiply first, then divide once: A→B→A gives the amount back to ~28 digits.
        return Conversion(amount=Decimal(amount) * leg_to / leg_from, currency=to_currency, as_of=as_of)


def exchange_rates_latest(*, on: dt.date | None = None) -> Rates:
    """The latest rate of each pair dated ``on`` or before (default today): one query."""
    from shop.models import ExchangeRate

    on = on or timezone.localdate()
    rows = (
        ExchangeRate.objects.filter(as_of__lte=on)
        .order_by("base", "currency", "-as_of")
        .distinct("base", "currency")
        .values_list("base", "currency", "rate", "as_of")
    )
    return Rates(rows)


def currency_convert(
    *, amount, from_currency: str, to_currency: str, rates: Rates | None = None
) -> Conversion | None:
    """``amount`` in ``to_currency`` at the latest known rate, or None when none links them."""
    rates = exchange_rates_latest() if rates is None else rates
    return rates.convert(amount, from_currency, to_currency)


# --- The operator's file ---------------------------------------------------------------------


@dataclass
class RateRow:
    base: str
    currency: str
    rate: Decimal
    as_of: dt.date
    source: str


def _currency(value, name: str) -> str:
    code = str(value or "").strip().upper()
    if not CURRENCY_RE.match(code) or code not in list_currencies():
        raise ValueError(f"{name} must be a three-letter ISO 4217 code such as KRW, not {value!r}")
    return code


def rate_row_parse(raw: dict, *, default_source: str) -> RateRow:
    """One rate from a file's row: base, currency, rate (> 0), date (YYYY-MM-DD), source."""
    base = _currency(raw.get("base"), "base")
    currency = _currency(raw.get("currency"), "currency")
    if base == currency:
        raise ValueError(f"base and currency are both {base}; a rate needs two currencies")
    try:
        rate = Decimal(str(raw.get("rate", "")).replace(",", "").strip())
    except InvalidOperation:
        raise ValueError(f"rate must be a number, not {raw.get('rate')!r}") from None
    if not rate.is_finite() or rate <= 0 or rate >= RATE_MAX:
        raise ValueError(f"rate must be a number above 0 and below {RATE_MAX:,.0f}, not {raw.get('rate')!r}")
    text = str(raw.get("date") or raw.get("as_of") or "").strip()
    try:
        as_of = dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"date must be written YYYY-MM-DD, not {text!r}") from None
    source = str(raw.get("source") or default_source).strip()[:200]
    return RateRow(base=base, currency=currency, rate=rate, as_of=as_of, source=source)


def exchange_rate_file_rows(path: Path) -> Iterator[tuple[int, dict]]:
    """(line or item number, raw row) for each rate in a CSV or JSON file.

    CSV: a header with base, currency, rate and date (or as_of), optionally source.
    JSON: a list of such objects, or ``{"base": "USD", "date": "2026-11-30", "rates": {"KRW": 1391.5}}``
    (the shape most rate services publish), or a list of those.
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = {c.strip().lower() for c in reader.fieldnames or ()}
            missing = {"base", "currency", "rate"} - columns
            if missing or not columns & {"date", "as_of"}:
                raise RatesFileError(
                    f"{path.name} needs the columns base, currency, rate and date; "
                    f"it has {', '.join(sorted(columns)) or 'none'}."
                )
            for row in reader:
                yield reader.line_num, {k.strip().lower(): v for k, v in row.items() if k}
        return
    if suffix != ".json":
        raise RatesFileError(f"{path.name}: give a .csv or .json file.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RatesFileError(f"{path.name} is not valid JSON: {exc}") from None
    items = data if isinstance(data, list) else [data]
    number = 0
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("rates"), dict):
            for currency, rate in item["rates"].items():
                number += 1
                yield number, {**item, "currency": currency, "rate": rate}
        else:
            number += 1
            yield number, item if isinstance(item, dict) else {}
