"""Prices, brands and stock from the JSON state a page embeds for its scripts.

Single-page shops render from a state object (``<script id="__NEXT_DATA__"
type="application/json">``, ``window.__INITIAL_STATE__ = {...}``, ``window.__PRELOADED_STATE__``),
and most shops push the product to their analytics (``dataLayer.push({ecommerce: {detail:
{products: [{price, brand}]}}})``, GA4 ``items``). JSON is read with ``json``; JavaScript
objects with chompjs.

An object counts as the page's product when its name is like the page's title (strong),
or when it sits in an analytics ``ecommerce`` block (good: those describe the viewed
product); a bare ``price`` key anywhere else is weak evidence.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal

import chompjs

from crawler.extract.page import Page, similarity
from crawler.sources.base import ParseError, currency_normalise, price_parse

# Scripts larger than this are skipped: bundles, not state (the largest state object in
# the development pages is under 0.5 MB).
MAX_SCRIPT_CHARS = 3_000_000
# Walking stops after this many objects per page, so a huge state cannot stall a crawl.
MAX_NODES = 100_000
# Scripts are parsed only when they name a field we read (a quick test before chompjs).
_FIELD_WORDS = ("price", "Price", "brand", "Brand", "stock", "Stock", "vailab")
_WORTH_PARSING = re.compile(r"""(?:[pP]rice|[bB]rand|[sS]tock|[aA]vailab)\w*["']?\s*[:=]""")

NAME_KEYS = ("name", "title", "productname", "itemname", "displayname", "productTitle")
# Keys holding the price a shopper pays, compared without case, "_" or "-".
PRICE_KEYS = frozenset(
    {
        "price", "saleprice", "currentprice", "finalprice", "specialprice", "offerprice", "sellingprice",
        "pricevalue", "actualprice", "displayprice", "ourprice", "pricenow", "nowprice", "buyprice",
        "priceamount", "productprice", "itemprice", "discountedprice", "promoprice",
    }
)  # fmt: skip
# Words in a key that mark a price that is not the one paid now.
NOT_THE_PRICE = re.compile(
    r"old|orig|regular|list|was|before|strike|rrp|msrp|compare|ship|deliver|total|max|high|min|low|"
    r"unit|base|per|tax|vat|from|range|instal|month|deposit|recommended|crossed|previous|reference",
)
CURRENCY_KEYS = frozenset({"currency", "currencycode", "pricecurrency", "currencyiso", "currencyisocode"})
BRAND_KEYS = ("brand", "brandname", "itembrand", "manufacturer", "brandtitle")
STOCK_TRUE_KEYS = frozenset({"instock", "isinstock", "available", "isavailable", "purchasable", "buyable"})
STOCK_FALSE_KEYS = frozenset({"soldout", "issoldout", "outofstock", "isoutofstock"})
STOCK_TEXT_KEYS = frozenset({"availability", "stockstatus", "stock", "inventorystatus", "availabilitystatus"})
ANALYTICS_KEYS = frozenset({"ecommerce", "detail", "items", "products", "product", "impressions_detail"})


def _norm(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


@dataclass
class StateProduct:
    """One object in the page's state that describes a product."""

    match: float  # 3: named like the page's title; 2: an analytics product; 1: anything else
    rule: str
    prices: list[tuple[Decimal, str]]
    brand: str
    in_stock: bool | None


def state_objects(page: Page) -> list:
    """Every JSON value the page's inline scripts hold (JSON scripts, JS object literals)."""
    found = []
    for kind, text in page.scripts:
        if "ld+json" in kind or len(text) > MAX_SCRIPT_CHARS:
            continue
        if "json" in kind:
            try:
                found.append(json.loads(text))
                continue
            except ValueError:
                pass
        elif kind and "javascript" not in kind and kind != "module":
            continue  # templates (text/x-template) and the like
        if not any(word in text for word in _FIELD_WORDS) or not _WORTH_PARSING.search(text):
            continue
        try:
            found.extend(chompjs.parse_js_objects(text))
        except (ValueError, TypeError):
            continue
    return found


@dataclass(frozen=True)
class _Context:
    """What an object inherits from the objects around it: ``{"name": ..., "pricing":
    {"salePrice": ...}, "currency": "EUR"}`` prices the named product in euros."""

    in_analytics: bool = False
    named: bool | None = None  # None: no enclosing object has a name
    currency: str = ""


def state_products(page: Page) -> list[StateProduct]:
    """The objects in the page's state that carry a price, a brand or stock, best first."""
    reference = page.title
    products: list[StateProduct] = []
    nodes = 0
    stack: list[tuple[object, _Context]] = [(value, _Context()) for value in reversed(state_objects(page))]
    while stack and nodes < MAX_NODES:
        value, context = stack.pop()
        nodes += 1
        if isinstance(value, list):
            stack.extend((item, context) for item in reversed(value) if isinstance(item, dict | list))
            continue
        if not isinstance(value, dict):
            continue
        keys = {_norm(str(k)): k for k in value}
        name = next((value[keys[k.lower()]] for k in NAME_KEYS if k.lower() in keys), None)
        named = (
            (bool(reference) and similarity(name, reference) >= 0.6)
            if isinstance(name, str)
            else context.named
        )
        currency = next(
            (value[keys[k]] for k in CURRENCY_KEYS if k in keys and isinstance(value[keys[k]], str)), ""
        )
        context = _Context(context.in_analytics, named, currency or context.currency)
        item = _product_of(value, keys, context)
        if item:
            products.append(item)
        for key, child in value.items():
            if isinstance(child, dict | list):
                in_analytics = context.in_analytics or _norm(str(key)) in ANALYTICS_KEYS
                stack.append((child, _Context(in_analytics, context.named, context.currency)))
    products.sort(key=lambda p: -p.match)
    return products


def _product_of(obj: dict, keys: dict[str, str], context: _Context) -> StateProduct | None:
    prices = []
    currency = context.currency
    for norm, key in keys.items():
        if norm in PRICE_KEYS or (norm.endswith("price") and not NOT_THE_PRICE.search(norm)):
            amount = _amount(obj[key], currency=currency)
            if amount:
                prices.append(amount)
    brand = ""
    for name in BRAND_KEYS:
        if name in keys:
            raw = obj[keys[name]]
            brand = (
                str(raw.get("name") or "") if isinstance(raw, dict) else raw if isinstance(raw, str) else ""
            )
            if brand:
                break
    in_stock = _stock(obj, keys)
    if not (prices or brand or in_stock is not None):
        return None
    if context.named:
        match, rule = 3.0, "state object named like the title"
    elif context.in_analytics:
        match, rule = 2.0, "analytics product (ecommerce)"
    else:
        match, rule = 1.0, "state object"
    return StateProduct(match=match, rule=rule, prices=prices, brand=brand.strip(), in_stock=in_stock)


def _amount(raw, *, currency: str) -> tuple[Decimal, str] | None:
    if isinstance(raw, dict):
        keys = {_norm(str(k)): k for k in raw}
        currency = next((str(raw[keys[k]]) for k in CURRENCY_KEYS if k in keys and raw[keys[k]]), currency)
        if "centamount" in keys:
            cents = _amount(raw[keys["centamount"]], currency=currency)
            digits = raw.get(keys.get("fractiondigits", ""), 2)
            return (cents[0] / (10 ** int(digits)), cents[1]) if cents and str(digits).isdigit() else None
        for name in ("value", "amount", "current", "sale", "final", "raw", "selling", "now", "formatted"):
            if name in keys:
                return _amount(raw[keys[name]], currency=currency)
        return None
    if isinstance(raw, bool) or raw in (None, "") or (isinstance(raw, str) and len(raw) > 40):
        return None
    try:
        amount, found_currency = price_parse(raw, currency_hint=currency)
    except ParseError:
        return None
    if amount <= 0:
        return None
    return amount, found_currency or currency_normalise(currency)


def _stock(obj: dict, keys: dict[str, str]) -> bool | None:
    for norm in STOCK_FALSE_KEYS & keys.keys():
        value = obj[keys[norm]]
        if isinstance(value, bool):
            return not value
    for norm in STOCK_TRUE_KEYS & keys.keys():
        value = obj[keys[norm]]
        if isinstance(value, bool):
            return value
    for norm in STOCK_TEXT_KEYS & keys.keys():
        value = obj[keys[norm]]
        if isinstance(value, str):
            text = _norm(value).replace(" ", "")
            if any(word in text for word in ("outofstock", "soldout", "unavailable", "notavailable")):
                return False
            if any(word in text for word in ("instock", "available", "limitedstock", "lowstock")):
                return True
    return None
