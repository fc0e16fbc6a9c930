"""Reading product feeds (CSV or JSON Lines) into validated rows.

The documented columns (CSV header names, or JSON object keys):

=============  ========  ==================================================================
column         required  meaning
=============  ========  ==================================================================
external_id    yes       the shop's own id for the product; unique within a source
title          yes       product name as shoppers see it
brand          no        brand name; created on first use
category       yes       a garment kind slug: top, outer, pants, shorts, skirt, dress, shoes,
                         bag, hat, scarf, belt, sunglasses
price          yes       a number >= 0, "." as decimal point ("12900", "12,900", "26.00")
currency       no        ISO 4217 code (KRW, USD, EUR, ...); KRW when empty
product_url    no        the product's page at the shop (http or https)
image          yes       a path relative to the feed file, or an http(s) URL
in_stock       no        true/false (also yes/no, 1/0); true when empty
=============  ========  ==================================================================

Parsing never stops at a bad row: each row becomes a FeedRow (with the line number the
operator sees in an editor) or a FeedRowError that says what to fix.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from babel.numbers import is_currency
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from shop.garments import GARMENT_KINDS
from shop.models import Product
from shop.services import PRICE_MAX, ProductData, ProductRejected, product_data_check

COLUMNS = (
    "external_id",
    "title",
    "brand",
    "category",
    "price",
    "currency",
    "product_url",
    "image",
    "in_stock",
)
REQUIRED = ("external_id", "title", "category", "price", "image")
DEFAULT_CURRENCY = "KRW"
TRUE_WORDS = {"true", "yes", "1", "y", "in stock", "in_stock"}
FALSE_WORDS = {"false", "no", "0", "n", "sold out", "sold_out"}
_url_validator = URLValidator(schemes=["http", "https"])
URL_MAX_LENGTH = Product._meta.get_field("product_url").max_length


class FeedError(ValueError):
    """The whole file cannot be read (unknown format, no header, missing columns)."""


class FeedRowError(ValueError):
    """One row cannot be imported; the message says what to fix."""


@dataclass(frozen=True)
class FeedRow:
    line: int
    data: ProductData
    image: str  # a relative path or an http(s) URL, as written in the feed

    @property
    def image_is_url(self) -> bool:
        return self.image.lower().startswith(("http://", "https://"))


def feed_line_count(path: Path) -> int:
    """Number of data lines, for a progress bar (an estimate when CSV cells span lines)."""
    with open(path, "rb") as fh:
        lines = sum(1 for line in fh if line.strip())
    return max(0, lines - 1) if _is_csv(path) else lines


def _is_csv(path: Path) -> bool:
    return path.suffix.lower() in (".csv", ".tsv", ".txt")


def feed_read(path: Path) -> Iterator[tuple[int, dict[str, str] | FeedRowError]]:
    """Yield (line number, raw values) per row, or (line number, FeedRowError) for unreadable ones."""
    suffix = path.suffix.lower()
    if _is_csv(path):
        reader = _csv_read(path)
    elif suffix in (".jsonl", ".ndjson", ".json"):
        reader = _jsonl_read(path)
    else:
        raise FeedError(
            f"Cannot tell the format of {path.name}: name a CSV feed *.csv and a JSON Lines feed *.jsonl."
        )
    try:
        yield from reader
    except UnicodeDecodeError as exc:
        raise FeedError(
            f"{path.name} is not UTF-8 text (byte {exc.start}); save it as UTF-8 and import it again."
        ) from None
    except csv.Error as exc:
        raise FeedError(f"{path.name} is not a readable CSV file ({exc}); check its quoting.") from None


def _csv_read(path: Path) -> Iterator[tuple[int, dict[str, str] | FeedRowError]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
        header = [name.strip().lower() for name in (reader.fieldnames or [])]
        if not header:
            raise FeedError(f"{path.name} is empty: the first line must name the columns.")
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise FeedError(
                f"{path.name} has no column {', '.join(missing)}. The header must name at least: "
                f"{', '.join(REQUIRED)}."
            )
        reader.fieldnames = header
        start = 2
        for raw in reader:
            line, start = start, reader.line_num + 1
            if None in raw:
                yield line, FeedRowError("The row has more cells than the header has columns.")
                continue
            yield line, {k: (v or "") for k, v in raw.items()}


def _jsonl_read(path: Path) -> Iterator[tuple[int, dict[str, str] | FeedRowError]]:
    with open(path, encoding="utf-8-sig") as fh:
        for line_no, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                yield line_no, FeedRowError(f"The line is not valid JSON ({exc.msg}, column {exc.colno}).")
                continue
            if not isinstance(obj, dict):
                yield line_no, FeedRowError("Each line must be one JSON object with the feed's columns.")
                continue
            yield line_no, {str(k).lower(): "" if v is None else str(v) for k, v in obj.items()}


def feed_row_clean(values: dict[str, str], *, line: int) -> FeedRow:
    """Validate one row's raw values; raises FeedRowError naming the first problem found."""
    v = {k: " ".join(str(values.get(k, "")).split()) for k in COLUMNS}
    for column in REQUIRED:
        if not v[column]:
            raise FeedRowError(f"The {column} is missing; every row needs one.")
    if len(v["title"]) > 500:
        raise FeedRowError("The title is longer than 500 characters; please shorten it.")
    if len(v["external_id"]) > 255:
        raise FeedRowError("The external_id is longer than 255 characters; please use a shorter id.")
    category = v["category"].lower()
    if category not in GARMENT_KINDS:
        raise FeedRowError(f'Unknown category "{v["category"]}". Use one of: {", ".join(GARMENT_KINDS)}.')
    price = _price_parse(v["price"])
    currency = (v["currency"] or DEFAULT_CURRENCY).upper()
    if not is_currency(currency):
        raise FeedRowError(f'Unknown currency "{v["currency"]}". Use an ISO 4217 code such as KRW or USD.')
    for name, value in (("product_url", v["product_url"]), ("image URL", v["image"])):
        # Before the URL check: URLValidator accepts up to 2,048 characters, the columns 2,000.
        if len(value) > URL_MAX_LENGTH:
            raise FeedRowError(
                f"The {name} is longer than {URL_MAX_LENGTH} characters ({len(value)}); please shorten it."
            )
    if v["product_url"]:
        try:
            _url_validator(v["product_url"])
        except ValidationError:
            raise FeedRowError(
                f'The product_url "{v["product_url"][:100]}" is not an http(s) address.'
            ) from None
    in_stock = _bool_parse(v["in_stock"])
    image = v["image"]
    image_url = ""
    if image.lower().startswith(("http://", "https://")):
        try:
            _url_validator(image)
        except ValidationError:
            raise FeedRowError(f'The image URL "{image[:100]}" is not a valid address.') from None
        image_url = image
    data = ProductData(
        external_id=v["external_id"],
        title=v["title"],
        brand=v["brand"],
        category=category,
        price=price,
        currency=currency,
        product_url=v["product_url"],
        image_url=image_url,
        in_stock=in_stock,
    )
    try:
        # Every length the catalogue's columns allow, before an image is read or downloaded.
        product_data_check(data)
    except ProductRejected as exc:
        raise FeedRowError(str(exc)) from None
    return FeedRow(line=line, data=data, image=image)


def _price_parse(text: str) -> Decimal:
    try:
        # "," is only ever a thousands separator in our feeds; "." is the decimal point.
        price = Decimal(text.replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise FeedRowError(f'The price "{text}" is not a number. Write it like 12900 or 26.00.') from None
    if not price.is_finite():
        raise FeedRowError(f'The price "{text}" is not a number. Write it like 12900 or 26.00.')
    if price < 0:
        raise FeedRowError(f"The price {text} is negative; prices must be 0 or more.")
    if price > PRICE_MAX:
        raise FeedRowError(f"The price {text} is too large (at most {PRICE_MAX}).")
    return price.quantize(Decimal("0.01"))


def _bool_parse(text: str) -> bool:
    word = text.lower()
    if not word or word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise FeedRowError(f'in_stock is "{text}"; write true or false (or leave it empty for true).')
