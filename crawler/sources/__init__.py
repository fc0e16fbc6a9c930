"""Source adapters: one module per kind of shop, so a site change is a one-file fix.

Each adapter turns fetched pages into ``shop.services.ProductData``; the crawl service
(crawler.services) does the fetching, pagination limits, writing and bookkeeping.
"""

from __future__ import annotations

from crawler.sources.base import Adapter, ItemError, ListingPage, ParseError, SourceRefused


def adapter_for(kind: str) -> Adapter:
    from crawler.sources import musinsa, schemaorg, shopify

    adapters: dict[str, type[Adapter]] = {
        "musinsa": musinsa.MusinsaAdapter,
        "schemaorg": schemaorg.SchemaOrgAdapter,
        "shopify": shopify.ShopifyAdapter,
    }
    try:
        return adapters[kind]()
    except KeyError:
        raise ValueError(
            f"Sources of kind {kind!r} are not crawled; import them with the feed importer instead."
        ) from None


__all__ = ["Adapter", "ItemError", "ListingPage", "ParseError", "SourceRefused", "adapter_for"]
