"""The small interface every adapter implements, and helpers they share."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from price_parser import Price
from w3lib.url import canonicalize_url, url_query_cleaner

from shop.services import ProductData


class ParseError(ValueError):
    """A page or an item could not be understood; the message says what was wrong."""


class SourceRefused(Exception):
    """The source refuses automated clients (HTTP 403, a bot-check page): the run stops with
    this one message instead of failing page after page."""


def content_fingerprint(keys: list[str]) -> str:
    """A stable digest of what a listing page lists (ids or URLs), for ListingPage.fingerprint."""
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()


def json_load(text: str, *, what: str):
    """Parse a JSON response; a broken one fails the page with a reason naming ``what``."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"{what} is not valid JSON ({exc.msg} at line {exc.lineno}).") from exc


@dataclass(frozen=True)
class CrawledProduct(ProductData):
    """A product read from a page, with where each field came from.

    ``provenance`` maps a field (price, currency, availability, brand) to its source
    (crawler.extract.found.SOURCES), a confidence in 0..1 and the rule that found it; the
    crawl stores it on the product's Listing and flags prices it is unsure of.
    """

    provenance: dict = field(default_factory=dict, compare=False)

    @property
    def price_confidence(self) -> float | None:
        price = self.provenance.get("price")
        return price["confidence"] if price else None


@dataclass(frozen=True)
class ItemError:
    url: str
    reason: str


@dataclass
class ListingPage:
    """What one listing page gave: products, product pages still to fetch, and where to go next."""

    items: list[ProductData] = field(default_factory=list)
    # Product pages still to fetch and read with parse_detail (schema.org sources).
    detail_urls: list[str] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)
    next_urls: list[str] = field(default_factory=list)
    # A stable fingerprint of the page's content, to notice pagination that repeats itself.
    fingerprint: str = ""


class Adapter:
    """Turn a source's pages into ProductData.

    ``start_urls`` lists the first listing pages; ``parse_listing`` reads one listing
    page; ``parse_detail`` reads one product page (only adapters that return
    ``detail_urls`` need it).
    """

    kind = ""
    # Accept header for listing pages.
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

    def start_urls(self, source) -> list[str]:
        raise NotImplementedError

    def parse_listing(self, *, url: str, text: str, source) -> ListingPage:
        raise NotImplementedError

    def parse_detail(self, *, url: str, text: str, source) -> ProductData:
        raise ParseError("This source has no product pages to read.")

    def refusal(self, *, status: int | None) -> str:
        """Why the run stops when a listing page answers ``status``; "" to go on page by page.

        Adapters of sources known to block automated clients say so here (and raise
        SourceRefused from parse_listing when a bot-check page comes instead of data).
        """
        return ""


# ISO 4217 codes for the symbols price-parser reports.
CURRENCY_SYMBOLS = {
    "₩": "KRW",
    "원": "KRW",
    "€": "EUR",
    "£": "GBP",
    "$": "USD",
    "US$": "USD",
    "¥": "JPY",
    "円": "JPY",
    "C$": "CAD",
    "CA$": "CAD",
    "A$": "AUD",
    "NT$": "TWD",
    "HK$": "HKD",
    "S$": "SGD",
    "R$": "BRL",
    "zł": "PLN",
    "Kč": "CZK",
    "Ft": "HUF",
    "Lei": "RON",
    "lei": "RON",
    "₹": "INR",
    "₽": "RUB",
    "₺": "TRY",
    "₪": "ILS",
    "₫": "VND",
    "฿": "THB",
}


def currency_normalise(value: str | None) -> str:
    value = (value or "").strip()
    if re.fullmatch(r"[A-Za-z]{3}", value):
        return value.upper()
    return CURRENCY_SYMBOLS.get(value, "")


def price_parse(value, *, currency_hint: str = "") -> tuple[Decimal, str]:
    """(amount, ISO currency) from a number or text like "₩12,900" or "12.900,50 €".

    Raises ParseError for missing, unreadable or negative prices.
    """
    if value is None or value == "":
        raise ParseError("The price is missing.")
    if isinstance(value, bool):
        raise ParseError(f"The price {value!r} is not a number.")
    if isinstance(value, int | float | Decimal):
        try:
            amount = Decimal(str(value))
        except InvalidOperation as exc:
            raise ParseError(f"The price {value!r} is not a number.") from exc
        currency = currency_normalise(currency_hint)
    else:
        parsed = Price.fromstring(str(value))
        if parsed.amount is None:
            raise ParseError(f"The price {str(value)[:50]!r} is not a number.")
        amount = parsed.amount
        currency = currency_normalise(parsed.currency) or currency_normalise(currency_hint)
    if amount < 0 or not amount.is_finite():
        raise ParseError(f"The price {value!r} is negative or not finite.")
    return amount.quantize(Decimal("0.01")), currency


# Query parameters that only track where a click came from; the same product page without them.
TRACKING_PARAMS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "gclid", "fbclid")


def url_canonical(url: str) -> str:
    """One spelling per page: tracking parameters dropped, query sorted, fragment removed (w3lib)."""
    return canonicalize_url(url_query_cleaner(url, TRACKING_PARAMS, remove=True, keep_fragments=False))


def text_clean(value, *, limit: int = 500) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value") or ""
    return " ".join(str(value).split())[:limit]


# Words in titles or product types -> shop category slug (shop.garments). Checked in order,
# so "dress shirt" is a top and "shirt dress" a dress: the first match in the list wins.
_CATEGORY_WORDS: list[tuple[str, str]] = [
    ("sunglasses", r"sunglass|선글라스"),
    ("shoes", r"sneaker|shoe|boot|loafer|sandal|slipper|heel|신발|스니커즈|구두|부츠"),
    ("bag", r"\bbag|tote|backpack|clutch|purse|가방|백팩"),
    ("hat", r"\bhat\b|\bcap\b|beanie|bucket hat|모자|비니"),
    ("scarf", r"scarf|shawl|muffler|스카프|머플러"),
    ("belt", r"\bbelt|벨트"),
    ("dress", r"\bdress(?!\s*shirt)|gown|jumpsuit|원피스"),
    ("skirt", r"skirt|스커트|치마"),
    ("shorts", r"shorts|반바지"),
    ("outer", r"jacket|coat|parka|blazer|cardigan|anorak|padding|puffer|vest|아우터|자켓|재킷|코트|패딩"),
    ("pants", r"pants|trousers|jeans|denim|chino|jogger|legging|slacks|바지|팬츠|청바지|슬랙스"),
    (
        "top",
        r"shirt|tee\b|t-shirt|top\b|blouse|sweater|hoodie|sweatshirt|knit|polo|tank|상의|티셔츠|셔츠|니트|후드",
    ),
]


def category_guess(*texts: str) -> str:
    """The shop category a product's title/type suggests, or "" when nothing matches."""
    text = " ".join(t for t in texts if t).lower()
    for slug, pattern in _CATEGORY_WORDS:
        if re.search(pattern, text):
            return slug
    return ""
