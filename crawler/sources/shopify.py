"""Shopify storefronts through their public catalogue: ``{base}/products.json?limit=N&page=P``.

Response::

    {"products": [{"id": 1, "title": "...", "handle": "linen-shirt", "vendor": "Brand",
                   "product_type": "Shirts", "images": [{"src": "https://cdn.shopify.com/...jpg"}],
                   "variants": [{"price": "59.00", "available": true}, ...]}, ...]}

An empty ``products`` list is the last page. Prices carry no currency in this feed, so
the source's currency field must be set. The price is the lowest price of an available
variant (of any variant when all are sold out); in stock when any variant is available.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

from crawler.sources.base import (
    Adapter,
    ItemError,
    ListingPage,
    ParseError,
    category_guess,
    content_fingerprint,
    currency_normalise,
    json_load,
    price_parse,
    text_clean,
)
from shop.services import ProductData


class ShopifyAdapter(Adapter):
    kind = "shopify"
    accept = "application/json"

    def start_urls(self, source) -> list[str]:
        if not currency_normalise(source.currency):
            raise ParseError("Set the source's currency (for example USD): Shopify's products.json has none.")
        bases = source.start_list or [source.base_url]
        if not any(bases):
            raise ParseError(
                "Set the source's base URL to the storefront (for example https://shop.example)."
            )
        return [self.page_url(base=b, page=1, limit=source.page_size) for b in bases if b]

    @staticmethod
    def page_url(*, base: str, page: int, limit: int) -> str:
        parts = urlsplit(base)
        # Shopify serves at most 250 products per page.
        query = urlencode({"limit": min(limit, 250), "page": page})
        return f"{parts.scheme}://{parts.netloc}/products.json?{query}"

    def parse_listing(self, *, url: str, text: str, source) -> ListingPage:
        payload = json_load(text, what="products.json")
        products = payload.get("products") if isinstance(payload, dict) else None
        if not isinstance(products, list):
            raise ParseError("products.json has no products array; is this a Shopify storefront?")
        currency = currency_normalise(source.currency)
        result = ListingPage()
        for raw in products:
            try:
                result.items.append(self._item(raw, page_url=url, currency=currency))
            except ParseError as exc:
                handle = raw.get("handle") if isinstance(raw, dict) else None
                result.errors.append(
                    ItemError(urljoin(url, f"/products/{handle}") if handle else url, str(exc))
                )
        ids = sorted(str(p.get("id")) for p in products if isinstance(p, dict))
        result.fingerprint = content_fingerprint(ids) if ids else ""
        if products:
            query = parse_qs(urlsplit(url).query)
            page = int((query.get("page") or ["1"])[0])
            limit = int((query.get("limit") or [source.page_size])[0])
            result.next_urls.append(self.page_url(base=url, page=page + 1, limit=limit))
        return result

    def _item(self, raw, *, page_url: str, currency: str) -> ProductData:
        if not isinstance(raw, dict) or raw.get("id") in (None, ""):
            raise ParseError("A product has no id.")
        title = text_clean(raw.get("title"))
        if not title:
            raise ParseError("The product has no title.")
        variants = [v for v in raw.get("variants") or [] if isinstance(v, dict)]
        priced = []
        for variant in variants:
            try:
                amount, _ = price_parse(variant.get("price"))
            except ParseError:
                continue
            priced.append((amount, bool(variant.get("available", True))))
        if not priced:
            raise ParseError("The product has no variant with a price.")
        available = [amount for amount, ok in priced if ok]
        images = [i for i in raw.get("images") or [] if isinstance(i, dict) and i.get("src")]
        handle = raw.get("handle") or ""
        return ProductData(
            external_id=str(raw["id"]),
            title=title,
            price=min(available or [amount for amount, _ in priced]),
            currency=currency,
            product_url=urljoin(page_url, f"/products/{handle}") if handle else "",
            image_url=urljoin(page_url, images[0]["src"]) if images else "",
            brand=text_clean(raw.get("vendor"), limit=200),
            category=category_guess(text_clean(raw.get("product_type")), title),
            in_stock=bool(available),
        )
