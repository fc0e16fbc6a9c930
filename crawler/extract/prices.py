"""Price candidates a page shows outside schema.org: price carriers and visible amounts.

Carriers are the places shops put a machine-readable price besides JSON-LD: ``itemprop="price"``
outside a Product item, ``<meta>`` tags (``price``, ``product:price:amount``,
``twitter:data1``…) and ``data-*price`` attributes. Visible amounts are short texts
that parse as a price (price-parser), such as ``€ 12,<sup>99</sup>``.

Every candidate in the body is scored by where it sits, the way a shopper finds the price:
near the product's title and buy button, named "price" by the page, with a currency
symbol, in large type, not struck through (an old price is not the price), not in a
"you may also like" carousel, the footer or the delivery table, and not a unit price or
an instalment. ``found.price_vote`` then adds up candidates showing the same amount.
"""

from __future__ import annotations

import re
from decimal import Decimal

from price_parser import Price

from crawler.extract.found import PriceCandidate
from crawler.extract.page import INVISIBLE_TAGS, Page, squash, text_of
from crawler.sources.base import ParseError, currency_normalise, price_parse

PRICE_HINT = re.compile(
    r"price|preis|prix|precio|prezzo|pre[cç]o|cena|cijena|kaina|hinta|pris|fiyat|amount|"
    r"가격|판매가|価格|价格|價格|售價|售价|цена"
)
OLD_HINT = re.compile(
    r"old|was|strike|through|regular|list-?price|before|orig|rrp|uvp|msrp|compare|crossed|previous|"
    r"reference|retail|instead|statt|barr|tachado|ancien|full-?price|non-?sale|saving|save"
)
MAIN_HINT = re.compile(
    r"sale|current|final|now|actual|special|our|offer|selling|main|primary|large|big|xl|promo|deal"
)
STRIKE_TAGS = frozenset({"del", "s", "strike"})
# Context that makes an amount something other than the price: per unit, per month,
# shipping, "from", "save".
UNIT_PRICE = re.compile(
    r"/\s*(?:kg|g|l|ml|cl|m|m2|m²|100\s*g|100\s*ml|pc|st|stk|unit|piece|mo|month|mes|mois|monat)\b|"
    r"\bper\s|\bpro\s|\bpar\s|\bje\s",
    re.I,
)
NOT_PRICE_CONTEXT = re.compile(
    r"shipping|delivery|postage|versand|lieferung|livraison|envío|envio|spedizione|frete|送料|배송|"
    r"save|spare|économ|ahorra|risparmi|economize|sparen|off\b|rabatt|descuento|sconto|desconto|"
    r"instal|monthly|per month|/mo\b|x\s?\d|\d\s?x\b|mensual|mensil|monatlich|par mois|al mes|"
    r"cuotas|parcela|mensualit|\brate\b|raten|分期|每期|回払|할부|개월|"
    r"from\b|ab\b|à partir|desde|a partire|a partir",
    re.I,
)
_DIGIT = re.compile(r"\d")
NUMBER_GROUP = re.compile(r"\d+(?:[.,'\u00a0\u202f ]\d+)*")
_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)
# A price text is short: a currency, a number, maybe a word ("Now", "ab", "UVP").
CENT = Decimal("0.01")
# Currency words price-parser does not know (their ISO code comes from the page's country).
LOCAL_CURRENCY_WORDS = frozenset({"元", "圓", "kn", "Kn", "KN"})
MAX_TEXT = 40
MAX_CURRENCY_LETTERS = 3  # "EUR", "zł", "Lei"
MAX_LETTERS = 12
# Visible amounts are looked for this many levels above the title and the buy button; a
# candidate farther than that gets no closeness score anyway (context_score).
SCOPE_LEVELS = 4
# Plain (case-sensitive, literal-prefixed) patterns: they scan a megabyte page in about a millisecond.
DATA_PRICE_ATTRIBUTE = re.compile(r"(data-[\w-]*[pP]rice)\s*=")
NOT_THE_PRICE_ATTRIBUTE = re.compile(
    r"old|orig|regular|list|was|before|strike|rrp|msrp|compare|ship|deliver|livraison|unit|per|max|min|"
    r"base|tax|from|high|low"
)
DATA_CURRENCY = re.compile(r"data-currency(?:-code)?\s*=")
META_PRICE_KEYS = (
    "product:price:amount",
    "og:price:amount",
    "og:price",
    "product:sale_price:amount",
    "price",
    "product:price",
    "twitter:data1",
)
META_CURRENCY_KEYS = ("product:price:currency", "og:price:currency", "pricecurrency", "currency")


def _amount(raw: str, *, currency: str = "") -> tuple | None:
    """(amount, currency as written: "$", "zł", "EUR") from a carrier's value; None if none."""
    try:
        amount, _code = price_parse(raw, currency_hint=currency)
    except ParseError:
        return None
    # The symbol as written: "$" is told apart by the page's country later (currency_resolve).
    written = Price.fromstring(raw).currency if isinstance(raw, str) else None
    return (amount, written or currency) if amount > 0 else None


def _currency_in(text: str, parsed: Price) -> str:
    """The currency an amount's text shows: price-parser's, or a word it does not know."""
    if parsed.currency:
        return parsed.currency
    return next((word for word in re.findall(r"[^\W\d_]+", text) if word in LOCAL_CURRENCY_WORDS), "")


def page_currency(page: Page) -> str:
    """The currency the page names for its prices (meta tags, itemprop, data attributes)."""
    if "currency" not in page.__dict__:
        value = page.meta(*META_CURRENCY_KEYS)
        if not value:
            for el in page.itemprop("priceCurrency"):
                value = el.get("content") or squash(el.text_content())
                if value:
                    break
        if not value and page.mentions(DATA_CURRENCY):
            found = page.tree.xpath("//@data-currency | //@data-currency-code")
            value = str(found[0]) if found else ""
        page.__dict__["currency"] = currency_normalise(value)
    return page.__dict__["currency"]


# -- scoring by position and looks -----------------------------------------------------------


def context_score(page: Page, el) -> tuple[float, list[str]]:
    """How much an element's position and looks say "this is the product's price" (with why)."""
    score, why = 0.0, []
    near = page.anchor_distance(el)
    if near is not None:
        closeness = max(0.0, 1.0 - near / 12)
        score += 2.5 * closeness
        if closeness:
            why.append(f"{near} steps from the title/buy button")
    chain = [el, *el.iterancestors()]
    hints = " ".join(page.hints_cached(node) for node in chain[:4])
    if PRICE_HINT.search(hints):
        score += 1.0
        why.append("named price")
    if MAIN_HINT.search(hints):
        score += 0.5
    if OLD_HINT.search(hints):
        score -= 2.5
        why.append("named as an old price")
    struck = any(node.tag in STRIKE_TAGS for node in chain[:6]) or any(
        "line-through" in node.get("style", "") for node in chain[:4]
    )
    if struck or any(sub.tag in STRIKE_TAGS for sub in el.iterdescendants()):
        score -= 3.0
        why.append("struck through")
    depth = page.other_block_depth(el)
    if depth is not None:
        # Deep containers (a page wrapper named "content-delivery") say less than near ones.
        score -= 2.0 if depth < 8 else 1.0
        why.append("in another product's or cost's block")
    style = " ".join(node.get("style", "") for node in chain[:3])
    size = re.search(r"font-size\s*:\s*(\d+(?:\.\d+)?)px", style)
    if (size and float(size.group(1)) >= 18) or any(node.tag in ("h1", "h2", "h3") for node in chain[:3]):
        score += 0.5
    return score, why


# -- carriers ------------------------------------------------------------------------------


def carrier_prices(page: Page) -> list[PriceCandidate]:
    """Prices in ``itemprop``, ``<meta>`` and ``data-*price`` attributes."""
    currency = page_currency(page)
    found = []
    for key in META_PRICE_KEYS:
        for meta_key, content in page.metas:
            if meta_key != key or not content:
                continue
            if key == "twitter:data1" and not PRICE_HINT.search(page.meta("twitter:label1").lower()):
                continue
            amount = _amount(content, currency=currency)
            if amount:
                found.append(PriceCandidate(amount[0], amount[1], "og", 3.0, f"meta {key}"))
    for el in page.itemprop("price") + page.itemprop("lowPrice"):
        if el.tag == "meta":
            continue  # read with the other <meta> tags above
        raw = el.get("content") or el.get("value") or squash(el.text_content())
        amount = _amount(raw, currency=currency) if raw else None
        if amount:
            context, why = context_score(page, el)
            found.append(
                PriceCandidate(
                    amount[0], amount[1], "microdata", 2.0 + context, "itemprop=price", ", ".join(why)
                )
            )
    # data-*price attributes: their names are found in the HTML text (a regular expression is
    # far quicker than asking the tree for every attribute name), then their elements by name.
    names = {
        name.lower()
        for name in DATA_PRICE_ATTRIBUTE.findall(page.html)
        if not NOT_THE_PRICE_ATTRIBUTE.search(name[5:].lower().replace("-", "").replace("_", ""))
    }
    if names:
        query = " or ".join(f"@{name}" for name in sorted(names))
        for el in page.tree.xpath(f"//body//*[{query}]"):
            for name in sorted(names):
                amount = _amount(el.get(name) or "", currency=currency)
                if amount:
                    context, why = context_score(page, el)
                    found.append(
                        PriceCandidate(
                            amount[0], amount[1], "dom", 1.0 + context, f"{name} attribute", ", ".join(why)
                        )
                    )
    return found


# -- visible text --------------------------------------------------------------------------


def _text_holders(page: Page):
    """Visible elements near the product whose own text has a digit."""
    seen: dict[int, object] = {}  # id -> element: holding the element keeps its id unique
    for root in page.near_anchors(SCOPE_LEVELS):
        for text in root.xpath(".//text()"):
            if len(text) > MAX_TEXT * 2 or not _DIGIT.search(text):
                continue  # prose, or no number
            el = text.getparent()
            if el is not None and text.is_tail:
                el = el.getparent()  # a tail belongs to the element around its element
            if el is None or id(el) in seen:
                continue
            seen[id(el)] = el
            if _shown(el, root):
                yield el


def _shown(el, root) -> bool:
    for node in (el, *el.iterancestors()):
        if not isinstance(node.tag, str) or node.tag in INVISIBLE_TAGS or node.get("hidden") is not None:
            return False
        if "none" in node.get("style", "") and re.search(r"display\s*:\s*none", node.get("style", ""), re.I):
            return False
        if node is root:
            break
    return True


def _short_text(el) -> str | None:
    """The element's text when it is short enough to be a price alone, else None."""
    parts, size = [], 0
    for piece in el.itertext():
        parts.append(piece)
        size += len(piece.strip())
        if size > MAX_TEXT * 2:
            return None
    # Joined as written: "12,<sup>99</sup>" is "12,99".
    text = squash("".join(parts))
    return text if len(text) <= MAX_TEXT else None


def _price_element(el):
    """Climb from a text holder to the largest short element that shows one amount and at
    most a currency more, so "€ <span>12</span>,<sup>99</sup>" is read whole but neither
    "£60 £49" nor the title above the price is merged in."""
    text = _short_text(el)
    if text is None:
        return None, None
    groups = len(NUMBER_GROUP.findall(text))
    letters = len(_LETTERS.findall(text))
    for parent in el.iterancestors():
        if len(parent) > 6:
            break
        parent_text = _short_text(parent)
        if (
            parent_text is None
            or len(NUMBER_GROUP.findall(parent_text)) != groups
            or len(_LETTERS.findall(parent_text)) > letters + MAX_CURRENCY_LETTERS
        ):
            break
        el, text = parent, parent_text
    return el, text


def _adjacent_currency(el) -> str:
    """A currency written just before or after the amount's element ("<b>2320</b> 元")."""
    texts = [el.tail, text_of(el.getnext()), text_of(el.getprevious())]
    for text in texts:
        text = squash(text)
        if text and len(text) <= 6:
            found = Price.fromstring(f"1 {text}").currency
            if found or text.rstrip(".") in LOCAL_CURRENCY_WORDS:
                return found or text
    return ""


def visible_prices(page: Page) -> list[PriceCandidate]:
    """Short visible texts that read as a price, scored by context_score."""
    currency = page_currency(page)
    seen: dict[int, object] = {}  # id -> element, as in _text_holders
    found = []
    for holder in _text_holders(page):
        el, text = _price_element(holder)
        if el is None or id(el) in seen:
            continue
        seen[id(el)] = el
        if "%" in text or len(NUMBER_GROUP.findall(text)) != 1:
            continue
        parsed = Price.fromstring(text)
        if parsed.amount is None or parsed.amount <= 0:
            continue
        letters = len(_LETTERS.findall(text.replace(parsed.currency or "", "")))
        if letters > MAX_LETTERS:
            continue
        score, why = context_score(page, el)
        symbol = _currency_in(text, parsed) or _adjacent_currency(el)
        if symbol:
            score += 1.0
        elif not PRICE_HINT.search(" ".join(page.hints(n) for n in [el, *el.iterancestors()][:4])):
            continue  # a bare number not named price: a quantity, a rating, a year
        context = squash(text_of(el.getparent()))
        if UNIT_PRICE.search(text) or (len(context) <= 80 and NOT_PRICE_CONTEXT.search(context)):
            score -= 2.0
            why.append("a unit price, instalment, saving or shipping cost")
        amount = parsed.amount.quantize(CENT)
        found.append(PriceCandidate(amount, symbol or currency, "dom", score, "visible text", ", ".join(why)))
    return found
