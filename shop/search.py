"""Searching the catalogue by description: a hook whoever understands photos in words fills in.

The shop never imports the recommender (pyproject.toml, import-linter). The recommender
registers a ranker here in its AppConfig.ready (recommender/description.py), the same way it
subscribes to shop.signals. The shop passes the words and the browse filters as plain keyword
arguments and gets back plain data: product ids with their distance to the words, or the reason
there are none. Without a registered ranker, or with one that is unavailable, the search box
matches titles and brands as before and says why in one line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

# Hangul syllables, jamo and compatibility jamo: a Korean query is a description even as one word.
_HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")


@dataclass(frozen=True)
class DescriptionRanking:
    """What a ranker answers: ``matches`` nearest first as (product id, cosine distance in
    [0, 2]), or none and ``reason``, a sentence for the shopper saying why."""

    matches: list[tuple[int, float]] = field(default_factory=list)
    reason: str | None = None


# Called with keyword arguments only: text, category, brand, price_min, price_max, currency,
# in_stock, limit (the same meanings as shop.selectors.product_browse's).
DescriptionRanker = Callable[..., DescriptionRanking]

_ranker: DescriptionRanker | None = None


def description_ranker_register(ranker: DescriptionRanker | None) -> None:
    """Make ``ranker`` the shop's description ranker (None: unregister)."""
    global _ranker
    _ranker = ranker


def description_ranker() -> DescriptionRanker | None:
    return _ranker


def looks_like_description(text: str) -> bool:
    """More than one word, or Korean: words a title match alone may miss, so the page says so
    when they cannot be searched by description."""
    return len(text.split()) > 1 or bool(_HANGUL.search(text))


# The browse filters a description search honours (description_search's keyword arguments).
DESCRIPTION_FILTERS = ("q", "category", "brand", "price_min", "price_max", "currency", "in_stock")


@dataclass(frozen=True)
class DescriptionSearch:
    """The description ranking the browse page blends in, or the line saying why there is none."""

    distances: dict[int, float] | None = None  # product id -> cosine distance, nearest first
    notice: str | None = None


def description_search(
    *,
    q: str | None = None,
    category: str | None = None,
    brand: str | None = None,
    price_min: Decimal | None = None,
    price_max: Decimal | None = None,
    currency: str | None = None,
    in_stock: bool = False,
    limit: int,
) -> DescriptionSearch:
    """The products nearest to the description ``q`` under the browse filters, at most ``limit``.

    No ranking for an empty query. When no ranker is registered or it cannot rank these words,
    no ranking and, for words that look like a description, a notice for the page.
    """
    text = " ".join(str(q or "").split())
    if not text:
        return DescriptionSearch()
    ranker = description_ranker()
    if ranker is None:
        ranking = DescriptionRanking(
            reason=_(
                "Searching by description needs the vision-language model, which this shop does not "
                "have; showing title and brand matches."
            )
        )
    else:
        ranking = ranker(
            text=text,
            category=category or None,
            brand=brand or None,
            price_min=price_min,
            price_max=price_max,
            currency=currency or None,
            in_stock=bool(in_stock),
            limit=limit,
        )
    if ranking.reason is not None:
        return DescriptionSearch(notice=ranking.reason if looks_like_description(text) else None)
    return DescriptionSearch(distances=dict(ranking.matches))
