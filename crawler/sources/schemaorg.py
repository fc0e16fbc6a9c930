"""Generic shops that describe products with schema.org: JSON-LD, microdata, OpenGraph.

Start URLs are sitemaps (``<urlset>`` of product pages, or a ``<sitemapindex>`` of
sitemaps) or HTML listing pages. A listing page's product links come from a JSON-LD
``ItemList`` when it has one, else from links whose path contains ``/product``; the next
page from ``<link rel="next">`` or ``<a rel="next">``.

A product page is read by ``crawler.extract``: JSON-LD ``Product`` (with
``Offer``/``AggregateOffer``), microdata and OpenGraph first, then, field by field, the
page's embedded JSON state and what the page shows (structured data alone misses prices on
many real pages). Each field keeps where it came from and how sure the rule was.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import extruct
import lxml.etree
import lxml.html

from crawler.extract import Page, product_fields_extract
from crawler.extract.structured import types, walk
from crawler.sources.base import (
    Adapter,
    CrawledProduct,
    ListingPage,
    ParseError,
    category_guess,
    content_fingerprint,
    text_clean,
    url_canonical,
)
from shop.services import ProductData

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


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
        for item in walk(data.get("json-ld", [])):
            if "listitem" in types(item) and isinstance(item.get("url"), str):
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
        page = Page(text=text, url=url)
        fields = product_fields_extract(page, currency_hint=source.currency)
        if fields.price is None:
            raise ParseError(fields.price_problem)
        if fields.currency is None:
            raise ParseError("The price has no currency; set the source's currency to use this page.")
        page_url = url_canonical(fields.url) if fields.url else url_canonical(url)
        return CrawledProduct(
            external_id=fields.sku or page_url[:255],
            title=fields.title,
            price=fields.price.value,
            currency=fields.currency.value,
            product_url=page_url,
            image_url=fields.image_url,
            brand=text_clean(fields.brand.value if fields.brand else "", limit=200),
            category=category_guess(fields.category_text, fields.title),
            in_stock=fields.in_stock.value,
            provenance=fields.provenance,
        )


def _base_href(tree, url: str) -> str:
    base = tree.xpath("//base/@href")
    return urljoin(url, base[0]) if base else url


def _unique_canonical(urls: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for url in urls:
        seen.setdefault(url_canonical(url), None)
    return list(seen)
