"""Musinsa category listings through the JSON endpoint its web app uses.

Request: ``GET {base}/api2/dp/v1/plp/goods?gf=A&category=001&page=1&size=60&sortCode=NEW&caller=CATEGORY``
(base defaults to https://api.musinsa.com). Response (the shape public clients read)::

    {"data": {"list": [{"goodsNo": 123, "goodsName": "...", "goodsLinkUrl": "https://www.musinsa.com/products/123",
                        "thumbnail": "//image.msscdn.net/...jpg", "brand": "slug", "brandName": "Brand",
                        "normalPrice": 59000, "price": 41300, "saleRate": 30, "isSoldOut": false}, ...],
              "pagination": {"page": 1, "size": 60, "totalCount": 1234, "totalPages": 21, "hasNext": true}}}

``price`` is the final price after the discount (``normalPrice`` before it). The old HTML
selectors (``#searchList > li div.li_inner``) belong to a site that no longer exists.

Musinsa's API sits behind bot protection that refuses plain HTTP clients (public reports:
HTTP 403, or a bot-check HTML page instead of JSON). Either stops the run with one error
that says to use Musinsa's feed or partner API, instead of one failure per page.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

from crawler.sources.base import (
    Adapter,
    ItemError,
    ListingPage,
    ParseError,
    SourceRefused,
    category_guess,
    content_fingerprint,
    json_load,
    price_parse,
    text_clean,
)
from shop.services import ProductData

DEFAULT_BASE = "https://api.musinsa.com"
LISTING_PATH = "/api2/dp/v1/plp/goods"
PRODUCT_URL = "https://www.musinsa.com/products/{goods_no}"

# Musinsa's top-level category codes -> shop category slugs. 100 (dresses and skirts
# together) and 101 (accessories) are left to the title-based guess.
REFUSED = (
    "Musinsa refuses automated clients ({why}), so this run stopped. Use Musinsa's product feed or "
    "partner API instead, and import the feed with `python manage.py import_catalog FILE --source SLUG`."
)
# Marks of the bot-check pages bot-protection services send instead of the data (Cloudflare,
# Akamai, PerimeterX, DataDome, hCaptcha/reCAPTCHA), in a page's first few kilobytes.
CHALLENGE = re.compile(
    r"just a moment|attention required|challenge-platform|cf-chl|cf_chl|captcha|access denied|"
    r"pardon our interruption|px-captcha|datadome|are you a robot|bot detection",
    re.I,
)
CATEGORY_CODES = {
    "001": "top",
    "002": "outer",
    "003": "pants",
    "004": "bag",
    "103": "shoes",
}


class MusinsaAdapter(Adapter):
    kind = "musinsa"
    accept = "application/json"

    def start_urls(self, source) -> list[str]:
        base = (source.base_url or DEFAULT_BASE).rstrip("/")
        codes = source.start_list
        if not codes:
            raise ParseError(
                "Add at least one Musinsa category code (for example 001 for tops) to the source."
            )
        return [self.page_url(base=base, category=code, page=1, size=source.page_size) for code in codes]

    @staticmethod
    def page_url(*, base: str, category: str, page: int, size: int) -> str:
        query = {
            "gf": "A",
            "category": category,
            "page": page,
            "size": size,
            "sortCode": "NEW",
            "caller": "CATEGORY",
        }
        return f"{base}{LISTING_PATH}?{urlencode(query)}"

    def refusal(self, *, status: int | None) -> str:
        if status in (401, 403):
            return REFUSED.format(why=f"its API answered HTTP {status}")
        return ""

    def parse_listing(self, *, url: str, text: str, source) -> ListingPage:
        head = text.lstrip()[:4000]
        if head.startswith("<") and CHALLENGE.search(head):
            raise SourceRefused(REFUSED.format(why="its API sent a bot-check page instead of data"))
        payload = json_load(text, what="The listing")
        data = payload.get("data") if isinstance(payload, dict) else None
        goods = data.get("list") if isinstance(data, dict) else None
        if not isinstance(goods, list):
            raise ParseError("The listing JSON has no data.list array; the endpoint may have changed.")
        query = parse_qs(urlsplit(url).query)
        code = (query.get("category") or [""])[0]
        page = int((query.get("page") or ["1"])[0])
        category = next((slug for prefix, slug in CATEGORY_CODES.items() if code.startswith(prefix)), "")

        result = ListingPage()
        for raw in goods:
            try:
                result.items.append(self._item(raw, listing_url=url, category=category))
            except ParseError as exc:
                ident = raw.get("goodsNo") if isinstance(raw, dict) else None
                item_url = PRODUCT_URL.format(goods_no=ident) if ident else url
                result.errors.append(ItemError(item_url, str(exc)))
        ids = sorted(str(g.get("goodsNo")) for g in goods if isinstance(g, dict))
        result.fingerprint = content_fingerprint(ids) if ids else ""

        pagination = data.get("pagination") if isinstance(data.get("pagination"), dict) else {}
        has_next = pagination.get("hasNext")
        if has_next is None and pagination.get("totalPages") is not None:
            has_next = page < int(pagination["totalPages"])
        if has_next is None:
            has_next = len(goods) >= int((query.get("size") or ["60"])[0])
        if has_next and goods:
            base = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
            size = int((query.get("size") or [source.page_size])[0])
            result.next_urls.append(self.page_url(base=base, category=code, page=page + 1, size=size))
        return result

    def _item(self, raw, *, listing_url: str, category: str) -> ProductData:
        if not isinstance(raw, dict):
            raise ParseError("A listing entry is not an object.")
        goods_no = raw.get("goodsNo")
        if goods_no in (None, ""):
            raise ParseError("A listing entry has no goodsNo.")
        title = text_clean(raw.get("goodsName"))
        if not title:
            raise ParseError("The product has no name (goodsName).")
        # price is after the discount; fall back to normalPrice only when price is absent.
        amount, _currency = price_parse(raw.get("price", raw.get("normalPrice")))
        link = raw.get("goodsLinkUrl") or PRODUCT_URL.format(goods_no=goods_no)
        thumbnail = raw.get("thumbnail") or ""
        return ProductData(
            external_id=str(goods_no),
            title=title,
            price=amount,
            currency="KRW",
            # Relative and protocol-relative ("//image.msscdn.net/...") URLs resolve against the listing.
            product_url=urljoin(listing_url, link),
            image_url=urljoin(listing_url, thumbnail) if thumbnail else "",
            brand=text_clean(raw.get("brandName") or raw.get("brand"), limit=200),
            category=category or category_guess(title),
            in_stock=not bool(raw.get("isSoldOut")),
        )
