"""The shop's search box, ranked by what the photos show (shop/search.py's hook).

Registered in RecommenderConfig.ready. It adapts selectors.products_matching_text to the plain
data the shop asks for, so the shop never imports the recommender. With no text model
configured it answers the "off" reason without loading any model (the web process keeps torch
out); with one, the first description loads its text tower in this process and each
description's vector is cached (recommender.words.text_embed).
"""

from __future__ import annotations

from decimal import Decimal

from shop.search import DescriptionRanking


def description_rank(
    *,
    text: str,
    category: str | None = None,
    brand: str | None = None,
    price_min: Decimal | None = None,
    price_max: Decimal | None = None,
    currency: str | None = None,
    in_stock: bool = False,
    limit: int,
) -> DescriptionRanking:
    """The ``limit`` products nearest to the words under the browse filters, or the reason not."""
    from recommender.selectors import products_matching_text

    found = products_matching_text(
        text=text,
        categories=[category] if category else None,
        brand=brand,
        price_min=price_min,
        price_max=price_max,
        currency=currency,
        in_stock_only=in_stock,
        k=limit,
    )
    if not found.available:
        return DescriptionRanking(reason=found.reason)
    return DescriptionRanking(matches=[(item.product.pk, item.distance) for item in found.results])
