"""Generic shops that describe products with schema.org: JSON-LD, microdata, OpenGraph.

Start URLs are sitemaps (``<urlset>`` of product pages, or a ``<sitemapindex>`` of
sitemaps) or HTML listing pages. A listing page's product links come from a JSON-LD
``ItemList`` when it has one, else from links whose path contains ``/product``; the next
page from ``<link rel="next">`` or ``<a rel="next">``.

A product page is read from JSON-LD ``Product`` (with ``Offer``/``AggregateOffer``),
falling back to microdata, then to OpenGraph ``og:*``/``product:price:*`` tags: structured
data alone misses prices on many real pages, so each field falls through the three.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import extruct
import lxml.etree
import lxml.html

from crawler.sources.base import (
    Adapter,
    ListingPage,
    ParseError,
    category_guess,
    content_fingerprint,
    currency_normalise,
    price_parse,
    text_clean,
    url_canonical,
)
from shop.services import ProductData

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
OUT_OF_STOCK = ("outofstock", "soldout", "discontinued")


def _types(item: dict) -> list[str]:
    value = item.get("@type") or []
    values = value if isinstance(value, list) else [value]
    return [str(v).rsplit("/", 1)[-1] for v in values]


def _walk(items):
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
        for key in ("@graph", "itemListElement", "mainEntity", "item"):
            if key in item:
                value = item[key]
                stack.extend(value if isinstance(value, list) else [value])


def _first(value):
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _image_url(value) -> str:
    value = _first(value)
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl") or value.get("@id")
    return str(value or "").strip()


class SchemaOrgAdapter(Adapter):
    kind = "schemaorg"

    def start_urls(self, source) -> list[str]:
        urls = source.start_list or (
            [source.base_url.rstrip("/") + "/sitemap.xml"] if source.base_url else []
        )
        if not urls:
            raise ParseError("Add a sitemap.xml or listing page URL to the source's start URLs.")
        return urls

    # -- listings
    def parse_listing(self, *, url: str, text: str, source) -> ListingPage:
        head = text.lstrip()[:500].lower()
        if head.startswith("<?xml") or "<urlset" in head or "<sitemapindex" in head:
            return self._parse_sitemap(url=url, text=text)
        return self._parse_html_listing(url=url, text=text)

    def _parse_sitemap(self, *, url: str, text: str) -> ListingPage:
        try:
            root = lxml.etree.fromstring(
                text.encode(), parser=lxml.etree.XMLParser(resolve_entities=False, no_network=True)
            )
        except lxml.etree.XMLSyntaxError as exc:
            raise ParseError(f"The sitemap is not well-formed XML ({exc.msg}).") from exc
        locs = [(el.text or "").strip() for el in root.iter(f"{SITEMAP_NS}loc", "loc")]
        locs = [urljoin(url, loc) for loc in locs if loc]
        page = ListingPage(fingerprint=content_fingerprint(locs))
        if root.tag.endswith("sitemapindex"):
            page.next_urls = locs
        else:
            page.detail_urls = _unique_canonical(locs)
        return page

    def _parse_html_listing(self, *, url: str, text: str) -> ListingPage:
        try:
            tree = lxml.html.fromstring(text)
        except (lxml.etree.ParserError, ValueError) as exc:
            raise ParseError(f"The listing page could not be parsed as HTML ({exc}).") from exc
        base = _base_href(tree, url)
        links: list[str] = []
        try:
            data = extruct.extract(tree, base_url=base, syntaxes=["json-ld"], errors="ignore", uniform=True)
        except Exception:  # noqa: BLE001 - a broken JSON-LD block must not hide the page's links
            data = {}
        for item in _walk(data.get("json-ld", [])):
            if "ListItem" in _types(item) and isinstance(item.get("url"), str):
                links.append(urljoin(base, item["url"]))
        if not links:
            for href in tree.xpath("//a[@href]/@href"):
                path = urlsplit(urljoin(base, href)).path.lower()
                if "/product" in path:
                    links.append(urljoin(base, href))
        next_links = tree.xpath('//link[@rel="next"]/@href | //a[@rel="next"]/@href')
        page = ListingPage(detail_urls=_unique_canonical(links))
        page.next_urls = [urljoin(base, next_links[0])] if next_links else []
        page.fingerprint = content_fingerprint(page.detail_urls) if links else ""
        return page

    # -- product pages
    def parse_detail(self, *, url: str, text: str, source) -> ProductData:
        try:
            tree = lxml.html.fromstring(text)
        except (lxml.etree.ParserError, ValueError) as exc:
            raise ParseError(f"The product page could not be parsed as HTML ({exc}).") from exc
        base = _base_href(tree, url)
        try:
            data = extruct.extract(
                tree,
                base_url=base,
                syntaxes=["json-ld", "microdata", "opengraph"],
                errors="ignore",
                uniform=True,
            )
        except Exception as exc:  # noqa: BLE001 - extruct raises many kinds on broken markup
            raise ParseError(
                f"The page's structured data could not be read ({exc.__class__.__name__})."
            ) from exc
        products = [
            item
            for syntax in ("json-ld", "microdata")
            for item in _walk(data.get(syntax, []))
            if "Product" in _types(item) or "ProductGroup" in _types(item)
        ]
        og = {}
        for block in data.get("opengraph", []):
            og.update({k: _first(v) for k, v in block.items() if not k.startswith("@")})
        if not products and not og.get("og:title"):
            raise ParseError(
                "The page has no schema.org Product (JSON-LD or microdata) and no OpenGraph tags."
            )

        def pick(getter):
            for product in products:
                value = getter(product)
                if value not in (None, "", []):
                    return value
            return None

        offers = [o for p in products for o in _offers(p)]
        title = text_clean(pick(lambda p: p.get("name")) or og.get("og:title"))
        if not title:
            raise ParseError("The product has no name.")
        # Each offer: (amount, currency, in stock). Offers without a readable price are skipped;
        # if none is readable, the first unreadable one's problem is reported.
        priced, problem = [], None
        for offer in offers:
            raw = offer.get("price", offer.get("lowPrice"))
            if raw in (None, ""):
                continue
            try:
                amount, currency = price_parse(raw, currency_hint=offer.get("priceCurrency") or "")
            except ParseError as exc:
                problem = problem or exc
                continue
            priced.append((amount, currency, _available(offer.get("availability"))))
        if not priced:
            raw = og.get("product:price:amount") or og.get("og:price:amount")
            if raw is None and problem is not None:
                raise problem
            if raw is None:
                raise ParseError(
                    "The product page has no price (no Offer price and no product:price:amount tag)."
                )
            hint = og.get("product:price:currency") or og.get("og:price:currency") or ""
            amount, currency = price_parse(raw, currency_hint=hint)
            priced = [
                (amount, currency, _available(og.get("product:availability") or og.get("og:availability")))
            ]
        # The cheapest offer that can be bought; the cheapest of all when none can.
        in_stock = any(ok for _, _, ok in priced)
        amount, currency, _ = min((p for p in priced if p[2] or not in_stock), key=lambda p: p[0])
        currency = currency or currency_normalise(source.currency)
        if not currency:
            raise ParseError("The price has no currency; set the source's currency to use this page.")
        canonical = tree.xpath('//link[@rel="canonical"]/@href')
        page_url = url_canonical(urljoin(base, canonical[0])) if canonical else url_canonical(url)
        sku = pick(lambda p: p.get("sku") or p.get("productID") or p.get("mpn"))
        image = _image_url(pick(lambda p: p.get("image")) or og.get("og:image"))
        brand = pick(lambda p: p.get("brand")) or og.get("product:brand") or ""
        category = category_guess(text_clean(pick(lambda p: p.get("category"))), title)
        return ProductData(
            external_id=text_clean(sku, limit=255) or page_url[:255],
            title=title,
            price=amount,
            currency=currency,
            product_url=page_url,
            image_url=urljoin(base, image) if image else "",
            brand=text_clean(brand, limit=200),
            category=category,
            in_stock=in_stock,
        )


def _available(value) -> bool:
    """schema.org availability (a URL or a word); missing means available."""
    text = str(value or "").lower().replace(" ", "").replace("_", "")
    return not any(word in text for word in OUT_OF_STOCK)


def _offers(product: dict) -> list[dict]:
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


def _base_href(tree, url: str) -> str:
    base = tree.xpath("//base/@href")
    return urljoin(url, base[0]) if base else url


def _unique_canonical(urls: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for url in urls:
        seen.setdefault(url_canonical(url), None)
    return list(seen)
