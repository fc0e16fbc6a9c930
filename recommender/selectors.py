"""Reads for the recommender: nearest products by embedding."""

from __future__ import annotations


def product_alternatives_context(*, request, product) -> dict:
    """Context for the "Similar alternatives" section of a product page.

    Reads the shopper's filters (cheaper only, price range) from the query string.
    """
    # TODO(recommender issue): nearest in-stock products of the same category.
    return {"alternatives": []}
