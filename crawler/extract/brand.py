"""The product's brand when schema.org does not name it.

In order: brand properties (``itemprop="brand"``, ``<meta property="product:brand">``,
``data-brand`` attributes), the page's JSON state, a breadcrumb that starts the title
("Home › Google › Nest Mini" for "Google Nest Mini …"), a brand link or a block named
"brand" next to the title, then the value of a "Brand" label in a specifications table.
A brand the title also starts with is more certain.
"""

from __future__ import annotations

import re

from crawler.extract.found import Found
from crawler.extract.page import Page, squash, text_of
from crawler.extract.state import StateProduct

META_BRAND_KEYS = ("product:brand", "og:brand", "brand", "product:brand:name")
BRAND_ATTRIBUTES = ("data-brand", "data-brand-name", "data-product-brand", "data-item-brand")
BRAND_ATTRIBUTE = re.compile(r"data-(?:product-|item-)?brand(?:-name)?\s*=")
BREADCRUMB = re.compile(r"read[cC]rumb")
BRAND_PATH = re.compile(r"/(?:brands?|marques?|marcas?|marken?|designers?|merk|marki)/", re.I)
# Values that are not a brand: placeholders a template left unfilled, and filler words.
PLACEHOLDER = re.compile(r"[${}<>%]|\bnull\b|\bundefined\b")
NOT_A_BRAND = frozenset(
    {"brand", "brands", "home", "unknown", "n/a", "na", "none", "generic", "no brand", "other", "others",
     "marque", "marca", "marke", "-", "sale", "new"}
)  # fmt: skip
MAX_LENGTH = 60
# Labels of a brand in specification tables, lower case (en, ko, de, fr, es, it, pt, ja and
# other shop languages).
BRAND_LABELS = (
    "brand", "brand name", "make", "manufacturer", "make/manufacturer", "브랜드", "제조사", "marke",
    "hersteller", "marque", "fabricant", "marca", "fabricante", "produttore", "ブランド", "メーカー", "merk",
    "fabrikant", "marka",
    "producent", "výrobce", "výrobca", "proizvajalec", "proizvođač", "gyártó", "valmistaja", "tillverkare",
    "производитель", "бренд", "品牌", "製造商", "מותג", "العلامة التجارية", "tootja", "kaubamärk", "ražotājs",
    "zīmols", "gamintojas", "producător", "marcă", "производител", "марка", "üretici", "μάρκα",
    "κατασκευαστής", "merkki", "mærke", "produsent",
)  # fmt: skip
LABELS = frozenset(BRAND_LABELS)
# A label and its value on one line ("Brand: Casio") is short: a text between two tags.
SHORT_TEXT = re.compile(r">([^<>]{2,80})<")
MAX_LABELLED_WORDS = 5
NEAR_TITLE = 6


def brand_clean(value) -> str:
    """A brand name from a raw value, or "" when it is not one.

    "Brand: Casio" and "More from the brand: Roborock" give the name after the colon.
    """
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value") or ""
    text = squash(str(value or ""))
    if ":" in text and not re.search(r"https?:", text):
        text = text.rsplit(":", 1)[1].strip()
    if (
        len(text) < 2
        or len(text) > MAX_LENGTH
        or PLACEHOLDER.search(text)
        or text.lower() in NOT_A_BRAND
        or text.replace(" ", "").isdigit()
    ):
        return ""
    return text


def _in_title(page: Page, brand: str) -> bool:
    return any(t.lower().startswith(brand.lower()) for t in page.title_texts if t)


def _found(page: Page, value: str, source: str, confidence: float, rule: str) -> Found:
    if _in_title(page, value):
        confidence, rule = min(confidence + 0.1, 0.9), rule + ", the title starts with it"
    return Found(value, source, confidence, rule)


def brand_properties(page: Page) -> Found | None:
    if brand := brand_clean(page.meta(*META_BRAND_KEYS)):
        return _found(page, brand, "og", 0.8, "meta brand tag")
    for el in page.itemprop("brand"):
        names = el.xpath(".//*[@itemprop='name']")
        raw = el.get("content") or (
            (names[0].get("content") or names[0].text_content()) if names else el.text_content()
        )
        if brand := brand_clean(raw):
            return _found(page, brand, "microdata", 0.8, "itemprop=brand")
    if page.mentions(BRAND_ATTRIBUTE):
        attributes = " or ".join(f"@{name}" for name in BRAND_ATTRIBUTES)
        for el in page.tree.xpath(f"//body//*[{attributes}]"):
            name = next(n for n in BRAND_ATTRIBUTES if el.get(n) is not None)
            if brand := brand_clean(el.get(name)):
                return _found(page, brand, "dom", 0.65, f"{name} attribute")
    return None


def brand_from_state(page: Page, products: list[StateProduct]) -> Found | None:
    for product in products:
        if product.match >= 2 and (brand := brand_clean(product.brand)):
            confidence = 0.75 if product.match >= 3 else 0.65
            return _found(page, brand, "state-json", confidence, f"brand of the {product.rule}")
    return None


def brand_from_breadcrumbs(page: Page, crumbs: list[str]) -> Found | None:
    """A breadcrumb (after the first, "Home") that the title starts with, shorter than it."""
    if not crumbs and page.mentions(BREADCRUMB):
        # "readcrumb" matches "breadcrumb", "Breadcrumb" and "BreadCrumb" alike.
        for trail in page.tree.xpath(
            "//body//*[contains(@class, 'readcrumb') or contains(@id, 'readcrumb') "
            "or contains(@aria-label, 'readcrumb') or contains(@class, 'readCrumb')]"
        ):
            items = list(trail.iter("li")) or list(trail.iter("a"))
            crumbs = [squash(item.text_content()) for item in items]
            if crumbs:
                break
    title = page.title.lower()
    for crumb in crumbs[1:]:
        brand = brand_clean(crumb)
        if brand and title.startswith(brand.lower()) and len(brand) < len(title):
            return Found(brand, "dom", 0.6, "a breadcrumb the title starts with")
    return None


def brand_near_title(page: Page) -> Found | None:
    """A link to the brand's page, or a short block named "brand", next to the title."""
    title = page.title_element
    if title is None:
        return None
    scope = title
    for _ in range(3):
        if scope.getparent() is not None:
            scope = scope.getparent()
    for el in scope.xpath(".//a[@href] | .//*[contains(@class, 'brand') or contains(@id, 'brand')]"):
        is_link = el.tag == "a" and BRAND_PATH.search(el.get("href", ""))
        named = "brand" in page.hints(el) and "logo" not in page.hints(el)
        if (is_link or named) and el is not title and page.distance(el, title) <= NEAR_TITLE:
            brand = brand_clean(el.text_content() or el.get("title") or el.get("alt"))
            if brand:
                return _found(
                    page, brand, "dom", 0.55, "brand link next to the title" if is_link else "brand block"
                )
    return None


def brand_labelled(page: Page) -> Found | None:
    """The value next to a "Brand" label: a specifications table (``<th>Brand</th><td>X</td>``,
    ``<dt>Marke</dt><dd>X</dd>``) or a line ("Manufacturer: X", "<b>Marque :</b> X")."""
    # Texts between tags are found in the HTML text first (a regular expression is quick);
    # only the label texts are then looked up in the tree.
    labels = {text for text in SHORT_TEXT.findall(page.html) if _label_split(text)}
    if not labels:
        return None
    query = " or ".join(f"normalize-space(.)={_xpath_string(squash(text))}" for text in sorted(labels))
    for text in page.tree.xpath(f"//body//text()[{query}]"):
        label, value = _label_split(text) or ("", "")
        owner = text.getparent()
        if owner is None or not page.visible(owner):
            continue
        value = value.strip()
        if not value and text.is_tail:
            value = text_of(owner.getnext())  # "Brand:" after an element, the value in the next one
        elif not value:
            value = _value_after(owner)
        brand = brand_clean(value)
        if brand and len(brand.split()) <= MAX_LABELLED_WORDS:
            return _found(page, brand, "dom", 0.6, "the value next to a brand label")
    return None


def _label_split(text: str) -> tuple[str, str] | None:
    """(label, value) when the text is a brand label, alone or with its value after a colon."""
    label, _colon, value = text.partition(":")
    if label.strip().lower() not in LABELS:
        label, _colon, value = text.partition("：")
        if label.strip().lower() not in LABELS:
            return None
    return (label, value) if ":" not in value else None


def _xpath_string(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    return "concat('" + text.replace("'", "', \"'\", '") + "')"


def _value_after(label) -> str:
    """The text that follows a label element: its first child, its tail, its next sibling,
    or (for a label wrapped in a cell) the next cell."""
    if len(label) and squash(text_of(label[0])):
        return text_of(label[0])
    if squash(label.tail):
        return label.tail
    for node in (label, label.getparent()):
        if node is None:
            break
        if squash(text_of(node.getnext())):
            return text_of(node.getnext())
    return ""
