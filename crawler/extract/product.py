"""A product page's fields, each from the first source that has it, with its provenance.

Field by field: schema.org JSON-LD, microdata and OpenGraph first (what the shop
declares), then the fallback rules: embedded JSON state, price carriers (meta,
``itemprop``, ``data-*``) and the visible page. Every field records where it came from and
how sure the rule is, so a shaky price is stored flagged for a person to check, not
silently trusted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin

from crawler.extract.availability import availability_from_page
from crawler.extract.brand import (
    brand_clean,
    brand_from_breadcrumbs,
    brand_from_state,
    brand_labelled,
    brand_near_title,
    brand_properties,
)
from crawler.extract.currency import country_currency, currency_resolve
from crawler.extract.found import Found, PriceCandidate, price_vote
from crawler.extract.page import Page
from crawler.extract.prices import carrier_prices, page_currency, visible_prices
from crawler.extract.state import StateProduct, state_products
from crawler.extract.structured import Structured, available, first, offer_price, structured_read
from crawler.sources.base import ParseError, price_parse, text_clean

# How far each structured source is trusted: what a shop declares for machines is right
# far more often than anything read around it.
STRUCTURED_CONFIDENCE = {"jsonld": 0.95, "microdata": 0.9, "og": 0.85}
# State objects, by how sure it is that they describe this page's product (state.StateProduct.match).
STATE_SCORE = {3.0: 4.0, 2.0: 3.0, 1.0: 0.5}
# A state object named like the page's title, or a price meta tag, with nothing disagreeing.
CONCLUSIVE_SCORE = 3.0


@dataclass
class ProductFields:
    title: str
    price: Found | None  # value: Decimal
    currency: Found | None  # value: ISO 4217 code
    in_stock: Found  # value: bool
    brand: Found | None  # value: str
    sku: str = ""
    image_url: str = ""
    category_text: str = ""
    url: str = ""  # the page's canonical URL
    # Why no price was found (only when ``price`` is None), in words for the run log.
    price_problem: str = ""
    candidates: list[PriceCandidate] = field(default_factory=list, repr=False)

    @property
    def provenance(self) -> dict:
        found = {
            "price": self.price,
            "currency": self.currency,
            "availability": self.in_stock,
            "brand": self.brand,
        }
        return {name: value.as_dict() for name, value in found.items() if value is not None}


def product_fields_extract(page: Page, *, currency_hint: str = "") -> ProductFields:
    """Read a product page. Raises ParseError when it is not a product page or has no name."""
    structured = structured_read(page)
    og = structured.og
    title = text_clean(structured.pick(lambda p: p.get("name")) or og.get("og:title") or page.title)
    if not title:
        raise ParseError("The product has no name: no schema.org name, no og:title and no heading.")
    fields = ProductFields(
        title=title,
        price=None,
        currency=None,
        in_stock=Found(True, "default", 0.3, "nothing on the page says it is sold out"),
        brand=None,
    )
    states: list[StateProduct] | None = None

    def state() -> list[StateProduct]:
        nonlocal states
        if states is None:
            states = state_products(page)
        return states

    _price(fields, page, structured, state, currency_hint=currency_hint)
    _availability(fields, page, structured, state)
    _brand(fields, page, structured, state)
    fields.sku = text_clean(
        structured.pick(lambda p: p.get("sku") or p.get("productID") or p.get("mpn")), limit=255
    )
    image = structured.pick(lambda p: p.get("image")) or og.get("og:image")
    image = first(image)
    if isinstance(image, dict):
        image = image.get("url") or image.get("contentUrl") or image.get("@id")
    fields.image_url = urljoin(page.base, str(image).strip()) if image else ""
    fields.category_text = text_clean(structured.pick(lambda p: p.get("category")))
    fields.url = page.canonical_url
    return fields


# -- price -----------------------------------------------------------------------------------


def _price(fields: ProductFields, page: Page, structured: Structured, state, *, currency_hint: str) -> None:
    # Structured: each offer's (amount, currency, in stock); the cheapest one that can be
    # bought, the cheapest of all when none can. Unreadable offers are skipped; if none is
    # readable the first one's problem is reported.
    priced, problem = [], None
    for offer in structured.offers():
        raw, currency = offer_price(offer)
        raw = first(raw)
        if raw in (None, ""):
            continue
        try:
            amount, currency = price_parse(raw, currency_hint=currency)
        except ParseError as exc:
            problem = problem or exc
            continue
        priced.append((amount, currency, available(first(offer.get("availability")))))
    if priced:
        can_buy = [p for p in priced if p[2] is not False]
        amount, currency, _ = min(can_buy or priced, key=lambda p: p[0])
        source = structured.syntax
        fields.price = Found(amount, source, STRUCTURED_CONFIDENCE[source], "schema.org Offer price")
    elif raw := structured.og.get("product:price:amount") or structured.og.get("og:price:amount"):
        hint = structured.og.get("product:price:currency") or structured.og.get("og:price:currency") or ""
        amount, currency = price_parse(raw, currency_hint=hint)
        fields.price = Found(amount, "og", STRUCTURED_CONFIDENCE["og"], "product:price:amount tag")
    elif problem is not None:
        raise problem
    else:
        candidates = [
            PriceCandidate(amount, cur, "state-json", STATE_SCORE[item.match], item.rule)
            for item in state()
            for amount, cur in item.prices
        ]
        candidates += carrier_prices(page)
        # Reading the visible page is the slowest rule: skip it when the page's state or its
        # price tags already agree on one amount, named for this product.
        amounts = {c.amount for c in candidates if c.score > 0}
        conclusive = max((c.score for c in candidates), default=0) >= CONCLUSIVE_SCORE
        if len(amounts) != 1 or not conclusive or not any(c.currency for c in candidates):
            candidates += visible_prices(page)
        fields.candidates = candidates
        voted = price_vote(candidates)
        if voted is None:
            fields.price_problem = _no_price_reason(page, structured)
            return
        best, confidence = voted
        amount, currency = best.amount, best.currency
        fields.price = Found(
            amount, best.source, confidence, f"{best.rule} ({best.why})" if best.why else best.rule
        )
    _currency(fields, page, currency, currency_hint=currency_hint)


def _currency(fields: ProductFields, page: Page, found: str, *, currency_hint: str) -> None:
    if code := currency_resolve(found, country=page.country):
        fields.currency = Found(code, fields.price.source, 0.9, "the price's own currency")
    elif code := page_currency(page):
        fields.currency = Found(code, "og", 0.85, "the page's price currency tag")
    elif code := currency_resolve(currency_hint):
        fields.currency = Found(code, "default", 0.7, "the source's currency setting")
    elif code := country_currency(page.country)[0]:
        # A lone amount on a page of a one-currency country: that country's currency.
        fields.currency = Found(code, "default", 0.5, f"the currency of the page's country ({page.country})")


def _no_price_reason(page: Page, structured: Structured) -> str:
    """Why a page gave no price, in words for the run's error log."""
    sold_out = availability_from_page(page)
    if sold_out is not None and sold_out.value is False:
        return "No price was found: the page shows the product as sold out without a price."
    if structured.product is None and not structured.og.get("og:title") and page.buy_button is None:
        return (
            "This does not look like a product page: it has no schema.org Product, no OpenGraph tags, "
            "no buy button and no price. Check that the source's start URLs lead to product pages."
        )
    return (
        "No price was found on this product page: not in its schema.org data or meta tags, not in its "
        "script data, and no amount next to its title or buy button. If shoppers see a price there, "
        "report the page as an extraction problem."
    )


# -- availability and brand ------------------------------------------------------------------


def _availability(fields: ProductFields, page: Page, structured: Structured, state) -> None:
    stated = [available(first(o.get("availability"))) for o in structured.offers()]
    stated = [s for s in stated if s is not None]
    if stated:
        fields.in_stock = Found(
            any(stated), structured.syntax, STRUCTURED_CONFIDENCE[structured.syntax], "Offer availability"
        )
        return
    og_value = available(structured.og.get("product:availability") or structured.og.get("og:availability"))
    if og_value is not None:
        fields.in_stock = Found(og_value, "og", STRUCTURED_CONFIDENCE["og"], "product:availability tag")
        return
    for el in page.itemprop("availability"):
        value = available(el.get("href") or el.get("content") or el.text_content())
        if value is not None:
            fields.in_stock = Found(value, "microdata", 0.8, "itemprop=availability")
            return
    for item in state():
        if item.match >= 2 and item.in_stock is not None:
            fields.in_stock = Found(item.in_stock, "state-json", 0.7, f"stock of the {item.rule}")
            return
    if found := availability_from_page(page):
        fields.in_stock = found


def _brand(fields: ProductFields, page: Page, structured: Structured, state) -> None:
    brand = brand_clean(structured.pick(lambda p: p.get("brand")))
    if brand:
        fields.brand = Found(
            brand, structured.syntax, STRUCTURED_CONFIDENCE[structured.syntax], "schema.org brand"
        )
        return
    fields.brand = (
        brand_properties(page)
        or brand_from_state(page, state())
        or brand_from_breadcrumbs(page, structured.breadcrumbs)
        or brand_near_title(page)
        or brand_labelled(page)
    )
