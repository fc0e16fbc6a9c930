"""Reads for the shop's pages."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.search import TrigramWordSimilarity
from django.db.models import Case, Count, Q, Value, When
from django.db.models.functions import Greatest

from shop.models import Brand, Product, ProductQuerySet

SORT_ORDERS = {
    "newest": ("-created_at", "-id"),
    "price_asc": ("price", "id"),
    "price_desc": ("-price", "-id"),
    "relevance": ("-relevance", "-created_at", "-id"),
}


def catalogue_currencies() -> list[str]:
    """The currencies of the active catalogue, the most common first: the choices of the
    price filters, whose default is the first (prices compare only within one currency)."""
    rows = (
        Product.objects.active()
        .values("currency")
        .annotate(n=Count("id"))
        .order_by("-n", "currency")
        .values_list("currency", flat=True)
    )
    return list(rows)


def brands_with_products() -> list[Brand]:
    """Brands that have something to show, for the browse page's brand filter."""
    return list(Brand.objects.filter(products__is_active=True).distinct().order_by("name"))


def product_search(queryset: ProductQuerySet, text: str) -> ProductQuerySet:
    """Title or brand containing the text, or close to it word by word (pg_trgm), so "jaket" finds jackets.

    Annotates ``relevance`` (the better of the title's and the brand's word similarity).
    """
    text = " ".join(text.split())
    if not text:
        return queryset
    relevance = Greatest(
        TrigramWordSimilarity(text, "title"),
        TrigramWordSimilarity(text, "brand__name"),
    )
    return queryset.annotate(relevance=relevance).filter(
        Q(title__icontains=text)
        | Q(brand__name__icontains=text)
        | Q(relevance__gte=settings.SHOP_SEARCH_SIMILARITY)
    )


def product_browse(
    *,
    q: str = "",
    category: str | None = None,
    brand: str | None = None,
    price_min: Decimal | None = None,
    price_max: Decimal | None = None,
    in_stock: bool = False,
    sort: str | None = "",
    currency: str | None = None,
) -> ProductQuerySet:
    """The browse page's products: filtered, searched and sorted.

    The default (or an unknown) sort is the best match first when searching, else newest first.
    ``currency`` is the shopper's: a price range keeps only products priced in it, and the
    price sorts list it first, then each other currency on its own (amounts in different
    currencies are never ordered against each other).
    """
    qs = (
        Product.objects.browsable()
        .select_related("source")
        .in_category(category or None)
        .by_brand(brand or None)
        .price_between(price_min, price_max, currency=currency)
    )
    if in_stock:
        qs = qs.in_stock()
    searching = bool(q and q.strip())
    if searching:
        qs = product_search(qs, q)
    if sort not in SORT_ORDERS or (sort == "relevance" and not searching):
        sort = "relevance" if searching else "newest"
    if sort in ("price_asc", "price_desc"):
        order = ["currency", *SORT_ORDERS[sort]]
        if currency:
            order.insert(0, Case(When(currency=currency, then=Value(0)), default=Value(1)))
        return qs.order_by(*order)
    return qs.order_by(*SORT_ORDERS[sort])
