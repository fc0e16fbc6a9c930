"""Whether the product can be bought, from the page a shopper sees.

Read near the product's title and buy button only (a "sold out" badge on another
product's tile says nothing about this one): a "sold out" or "in stock" text in the page's
language (English is checked on every page; when the page does not say its language,
every language is), and the buy button itself, which a shop disables when it cannot sell.
"""

from __future__ import annotations

import re

from crawler.extract.found import Found
from crawler.extract.page import INVISIBLE_TAGS, Page, squash

# Lower-case phrases per language. Matched as whole words, so "disponible" is not found
# in "indisponible".
SOLD_OUT = {
    "en": ("sold out", "out of stock", "currently unavailable", "no longer available",
           "temporarily unavailable", "no longer in stock"),
    "ko": ("품절", "일시품절", "재고 없음", "재고없음", "판매종료", "판매 종료", "구매불가"),
    "de": ("ausverkauft", "nicht vorrätig", "nicht auf lager", "derzeit nicht verfügbar",
           "nicht lieferbar", "vergriffen", "nicht mehr erhältlich"),
    "fr": ("épuisé", "épuisée", "rupture de stock", "en rupture", "actuellement indisponible",
           "produit indisponible", "plus disponible"),
    "es": ("agotado", "agotada", "sin stock", "sin existencias", "fuera de stock", "producto no disponible"),
    "it": ("esaurito", "esaurita", "non più disponibile", "attualmente non disponibile"),
    "pt": ("esgotado", "esgotada", "produto indisponível", "fora de estoque", "sem estoque", "sem stock",
           "fora de stock"),
    "ja": ("在庫切れ", "売り切れ", "品切れ", "完売", "販売終了", "在庫なし"),
    "nl": ("uitverkocht", "niet op voorraad", "niet leverbaar"),
    "pl": ("wyprzedany", "brak w magazynie", "produkt niedostępny"),
    "zh": ("缺貨", "缺货", "售完", "已售完", "已售罄", "补货中"),
    "ru": ("нет в наличии", "распродано"),
}  # fmt: skip
IN_STOCK = {
    "en": ("in stock", "available to buy", "ready to ship"),
    "ko": ("재고 있음", "구매 가능"),
    "de": ("auf lager", "lieferbar", "sofort verfügbar", "vorrätig"),
    "fr": ("en stock", "disponible"),
    "es": ("en stock", "disponible", "en existencia"),
    "it": ("disponibile", "in magazzino", "disponibilità immediata"),
    "pt": ("em estoque", "em stock", "disponível"),
    "ja": ("在庫あり", "在庫有り"),
    "nl": ("op voorraad",),
    "pl": ("dostępny", "w magazynie"),
    "zh": ("有貨", "有货", "現貨", "现货"),
    "ru": ("в наличии",),
}
# Texts this far (tree steps) from the title or buy button count; farther ones are other blocks.
NEAR = 8
MAX_TEXT = 80


def _pattern(phrases) -> re.Pattern:
    alternatives = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def _phrases(table: dict, lang: str) -> re.Pattern:
    if lang in table:
        chosen = set(table[lang]) | set(table["en"])
    else:
        chosen = {p for phrases in table.values() for p in phrases}
    return _pattern(chosen)


def _near_texts(page: Page):
    """Short visible texts near the title or the buy button: (text, element)."""
    if not page.anchors:
        return
    for anchor in page.anchors:
        # The blocks around an anchor: its ancestors' subtrees, a few levels up.
        scope = anchor
        for _ in range(3):
            if scope.getparent() is not None:
                scope = scope.getparent()
        for el in scope.iter():
            if not isinstance(el.tag, str) or el.tag in INVISIBLE_TAGS or el.tag in ("option", "select"):
                continue
            text = squash(el.text) or ""
            if el is anchor or (text and len(text) <= MAX_TEXT):
                distance = page.distance(el, anchor)
                if distance <= NEAR and page.visible(el) and page.other_block_depth(el, levels=8) is None:
                    yield text or squash(el.text_content())[:MAX_TEXT], el


def availability_from_page(page: Page) -> Found | None:
    """In stock or not, from sold-out / in-stock texts and the buy button; None when silent."""
    sold_out = _phrases(SOLD_OUT, page.lang)
    in_stock = _phrases(IN_STOCK, page.lang)
    said_in_stock = None
    for text, el in _near_texts(page):
        lowered = text.lower()
        if sold_out.search(lowered):
            return Found(False, "dom", 0.75, f"sold-out text near the product: {text[:60]!r}")
        if said_in_stock is None and in_stock.search(lowered) and el is not page.buy_button:
            said_in_stock = Found(True, "dom", 0.7, f"in-stock text near the product: {text[:60]!r}")
    button = page.buy_button
    if button is not None:
        if button.get("disabled") is not None or button.get("aria-disabled") == "true":
            return Found(False, "dom", 0.6, "the buy button is disabled")
        return said_in_stock or Found(True, "dom", 0.7, "the buy button can be pressed")
    return said_in_stock
