"""Currencies from symbols, with the page's country to tell one "$" (or "kr") from another.

Babel's CLDR data says which currency a country uses today and how it writes its symbol
there: "$" on a Taiwanese page is TWD, on a Canadian page CAD, elsewhere USD.
"""

from __future__ import annotations

import datetime
import functools

from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_symbol, get_territory_currencies

from crawler.sources.base import currency_normalise


@functools.cache
def country_currency(country: str) -> tuple[str, str]:
    """(ISO code, local symbol) of the currency ``country`` uses today; ("", "") if unknown."""
    if not country:
        return "", ""
    try:
        codes = get_territory_currencies(
            country, start_date=datetime.date.today(), tender=True, non_tender=False
        )
        locale = Locale.parse(f"und_{country}")
    except (UnknownLocaleError, ValueError, KeyError):
        return "", ""
    if not codes:
        return "", ""
    return codes[0], get_currency_symbol(codes[0], locale=locale)


def currency_resolve(value: str | None, *, country: str = "") -> str:
    """ISO code for a code or symbol as a page writes it; "" when it cannot tell."""
    value = (value or "").strip()
    code, local_symbol = country_currency(country)
    if value and code and value in (local_symbol, local_symbol.rstrip("."), code):
        return code
    return currency_normalise(value)
