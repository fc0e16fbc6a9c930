"""schema.org structured data: JSON-LD, microdata and OpenGraph tags (read with extruct).

A page often describes more than one Product (its own and "you may also like"): the
page's product is the one whose name is most like the page's title, and only its offers
count. Types are matched without regard to case or vocabulary URL ("product",
"http://schema.org/Product"), and an offer's price may sit in its ``priceSpecification``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import extruct

from crawler.extract.page import Page, similarity
from crawler.sources.base import ParseError, text_clean

OUT_OF_STOCK = ("outofstock", "soldout", "discontinued")
PRODUCT_TYPES = {"product", "productgroup", "individualproduct", "productmodel", "vehicle", "car", "book"}


def types(item: dict) -> set[str]:
    value = item.get("@type") or []
    values = value if isinstance(value, list) else [value]
    return {str(v).rstrip("/").rsplit("/", 1)[-1].lower() for v in values}


def walk(items):
    """Every dict in JSON-LD/microdata results, including @graph members and nested values."""
    stack = list(items)
    while stack:
        item = stack.pop(0)
        if isinstance(item, list):
            stack[0:0] = item
            continue
        if not isinstance(item, dict):
            continue
        yield item
        for key in ("@graph", "itemListElement", "mainEntity", "item", "breadcrumb"):
            if key in item:
                value = item[key]
                stack.extend(value if isinstance(value, list) else [value])


def first(value):
    if isinstance(value, list):
        return value[0] if value else None
    return value


def available(value) -> bool | None:
    """schema.org availability (a URL or a word); None when it says nothing."""
    text = str(value or "").lower().replace(" ", "").replace("_", "")
    if not text:
        return None
    return not any(word in text for word in OUT_OF_STOCK)


@dataclass
class Structured:
    """The page's schema.org Product (from JSON-LD, else microdata) and its OpenGraph tags."""

    product: dict | None = None
    syntax: str = ""  # "jsonld" or "microdata"
    others: list[tuple[str, dict]] = field(default_factory=list)  # other Products, for fields the first lacks
    og: dict = field(default_factory=dict)
    breadcrumbs: list[str] = field(default_factory=list)

    def pick(self, getter):
        """The first non-empty value from the page's product, then from the other Products."""
        for _syntax, product in ([(self.syntax, self.product)] if self.product else []) + self.others:
            value = getter(product)
            if value not in (None, "", []):
                return value
        return None

    def offers(self) -> list[dict]:
        """The page's product's offers: its own, its variants' (a ProductGroup's hasVariant),
        and those of other Products of the same name (pages that list each size as a Product)."""
        if not self.product:
            return []
        name = text_clean(self.product.get("name"))
        same = [p for _syntax, p in self.others if name and text_clean(p.get("name")) == name]
        return [offer for product in [self.product, *same] for offer in product_offers(product)]


def structured_read(page: Page) -> Structured:
    try:
        data = extruct.extract(
            page.tree,
            base_url=page.base,
            syntaxes=["json-ld", "microdata", "opengraph"],
            errors="ignore",
            uniform=True,
        )
    except Exception as exc:  # noqa: BLE001 - extruct raises many kinds on broken markup
        raise ParseError(f"The page's structured data could not be read ({exc.__class__.__name__}).") from exc
    found = Structured()
    for block in data.get("opengraph", []):
        found.og.update({k: first(v) for k, v in block.items() if not k.startswith("@")})
    products: list[tuple[str, dict]] = []
    for syntax, key in (("jsonld", "json-ld"), ("microdata", "microdata")):
        for item in walk(data.get(key, [])):
            kinds = types(item)
            if kinds & PRODUCT_TYPES:
                products.append((syntax, item))
            elif "breadcrumblist" in kinds and not found.breadcrumbs:
                found.breadcrumbs = _crumbs(item)
    if products:
        reference = " ".join(page.title_texts[:3])

        def likeness(entry):
            name = text_clean(entry[1].get("name"))
            return similarity(name, reference) if name and reference else 0.0

        best = max(products, key=likeness)
        # Ties (no title, or equally like it): the first Product, JSON-LD before microdata.
        best = best if likeness(best) > likeness(products[0]) else products[0]
        found.syntax, found.product = best
        # Other Products fill fields the page's one lacks only when they are the same
        # product (same name, or none): never a related product's brand or picture.
        name = text_clean(best[1].get("name"))
        found.others = [
            entry
            for entry in products
            if entry[1] is not best[1]
            and (
                not entry[1].get("name")
                or not name
                or similarity(text_clean(entry[1].get("name")), name) >= 0.6
            )
        ]
    return found


def _crumbs(item: dict) -> list[str]:
    names = []
    elements = item.get("itemListElement") or []
    for element in elements if isinstance(elements, list) else [elements]:
        if not isinstance(element, dict):
            continue
        inner = element.get("item")
        name = element.get("name") or (inner.get("name") if isinstance(inner, dict) else None)
        if name:
            names.append(text_clean(name))
    return names


def product_offers(product: dict) -> list[dict]:
    offers = product.get("offers") or []
    offers = list(offers) if isinstance(offers, list) else [offers]
    # A ProductGroup keeps its offers on its variants (hasVariant: [Product, ...]).
    variants = product.get("hasVariant") or []
    for variant in variants if isinstance(variants, list) else [variants]:
        if isinstance(variant, dict):
            nested = variant.get("offers") or []
            offers.extend(nested if isinstance(nested, list) else [nested])
    found = []
    for offer in offers:
        if not isinstance(offer, dict):
            continue
        found.append(offer)
        nested = offer.get("offers")  # AggregateOffer listing its offers
        if nested:
            found.extend(o for o in (nested if isinstance(nested, list) else [nested]) if isinstance(o, dict))
    return found


def offer_price(offer: dict) -> tuple[object, str]:
    """(raw price, currency) of an offer: price, lowPrice, or its priceSpecification's."""
    raw = offer.get("price", offer.get("lowPrice"))
    currency = offer.get("priceCurrency") or ""
    if raw in (None, ""):
        spec = offer.get("priceSpecification")
        for item in spec if isinstance(spec, list) else [spec]:
            if isinstance(item, dict) and item.get("price") not in (None, ""):
                return item.get("price"), item.get("priceCurrency") or currency
    return raw, str(first(currency) or "")
