"""Reads for the shop's pages."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.search import TrigramWordSimilarity
from django.core.cache import cache
from django.db.models import Case, Count, F, FloatField, Q, Value, When
from django.db.models.functions import Greatest

from shop.attributes import ATTRIBUTES, FACETS, attribute_unavailable_counts, attribute_unavailable_reason
from shop.currency import (
    CURRENCY_RE,
    Conversion,
    Rates,
    exchange_rate_is_stale,
    exchange_rates_latest,
    money_round,
)
from shop.fragments import catalogue_version
from shop.models import Brand, Category, PriceHistory, Product, ProductAttribute, ProductQuerySet

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


def filter_choices() -> tuple[list[Category], list[Brand], list[str]]:
    """The filter form's choices: every category, brands_with_products() and
    catalogue_currencies(). Kept in the cache under the catalogue version (shop/fragments.py),
    so any committed write to the catalogue reads them afresh; without a version (no shared
    cache) they are read every time."""
    version = catalogue_version()
    key = f"shop:filter-choices:{version}"
    choices = cache.get(key) if version is not None else None
    if choices is None:
        choices = (list(Category.objects.all()), brands_with_products(), catalogue_currencies())
        if version is not None:
            cache.set(key, choices, timeout=settings.SHOP_FRAGMENT_CACHE_SECONDS)
    return choices


def product_search(
    queryset: ProductQuerySet, text: str, *, description: dict[int, float] | None = None
) -> ProductQuerySet:
    """Title or brand containing the text, or close to it word by word (pg_trgm), so "jaket" finds jackets.

    Annotates ``relevance`` (the better of the title's and the brand's word similarity).

    With ``description`` (product id -> cosine distance of its photo to the words, from
    shop.search.description_search), the products it names are found too, and ``relevance``
    blends both: SHOP_SEARCH_DESCRIPTION_WEIGHT times the description similarity (1 - distance/2,
    so 0..1 like the trigram one) plus the rest times the trigram similarity. A product outside
    the ranking is at least as far as its farthest member, so it gets that member's similarity.
    """
    text = " ".join(text.split())
    if not text:
        return queryset
    trigram = Greatest(
        TrigramWordSimilarity(text, "title"),
        TrigramWordSimilarity(text, "brand__name"),
    )
    matches = Q(title__icontains=text) | Q(brand__name__icontains=text)
    if not description:
        return queryset.annotate(relevance=trigram).filter(
            matches | Q(relevance__gte=settings.SHOP_SEARCH_SIMILARITY)
        )
    similarity = {pk: 1.0 - min(max(float(distance), 0.0), 2.0) / 2.0 for pk, distance in description.items()}
    weight = float(settings.SHOP_SEARCH_DESCRIPTION_WEIGHT)
    described = Case(
        *(When(pk=pk, then=Value(value)) for pk, value in similarity.items()),
        default=Value(min(similarity.values())),
        output_field=FloatField(),
    )
    return (
        queryset.annotate(title_match=trigram, description_match=described)
        .filter(matches | Q(title_match__gte=settings.SHOP_SEARCH_SIMILARITY) | Q(pk__in=list(similarity)))
        .annotate(relevance=weight * F("description_match") + (1.0 - weight) * F("title_match"))
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
    colour: str | None = None,
    pattern: str | None = None,
    description: dict[int, float] | None = None,
) -> ProductQuerySet:
    """The browse page's products: filtered, searched and sorted.

    The default (or an unknown) sort is the best match first when searching, else newest first.
    ``currency`` is the shopper's: a price range keeps only products priced in it, and the
    price sorts list it first, then each other currency on its own (amounts in different
    currencies are never ordered against each other). ``description`` is the ranking of ``q``
    by what the photos show (shop.search.description_search), blended in by product_search.
    """
    qs = (
        Product.objects.browsable()
        .select_related("source")
        .in_category(category or None)
        .by_brand(brand or None)
        .price_between(price_min, price_max, currency=currency)
        .with_attribute("colour", colour)
        .with_attribute("pattern", pattern)
    )
    if in_stock:
        qs = qs.in_stock()
    searching = bool(q and q.strip())
    if searching:
        qs = product_search(qs, q, description=description)
    if sort not in SORT_ORDERS or (sort == "relevance" and not searching):
        sort = "relevance" if searching else "newest"
    if sort in ("price_asc", "price_desc"):
        order = ["currency", *SORT_ORDERS[sort]]
        if currency:
            order.insert(0, Case(When(currency=currency, then=Value(0)), default=Value(1)))
        return qs.order_by(*order)
    return qs.order_by(*SORT_ORDERS[sort])


def attribute_facets(*, filters: dict) -> list[dict]:
    """The browse page's attribute filters (shop.attributes.FACETS), each value with how many
    products it would show: counted under every other active filter but not its own (so
    choosing red still shows how many blue there are). Facets whose other filters are the
    same (none of them chosen, or only one) are counted in one query: one query on a page
    with no facet chosen, one per chosen facet otherwise.

    Each facet: ``name``, ``label``, ``active`` (the chosen value or ""), ``values`` (value,
    words, count; the vocabulary's order, only values with products) and ``unavailable``
    (how many of the products have no value, and why), so a missing attribute is said, never
    silently left out.
    """
    groups: dict[tuple, list[str]] = {}
    for name in FACETS:
        others = {k: v for k, v in filters.items() if k not in (name, "sort") and v not in (None, "", False)}
        groups.setdefault(tuple(sorted(others.items(), key=lambda item: item[0])), []).append(name)
    counts: dict[str, dict[str, int]] = {name: {} for name in FACETS}
    unavailable: dict[str, dict[str, int]] = {name: {} for name in FACETS}
    for others, names in groups.items():
        products = product_browse(**dict(others)).order_by().values("pk")
        rows = (
            ProductAttribute.objects.filter(name__in=names, product__in=products)
            .values_list("name", "value", "method")
            .annotate(n=Count("product_id"))
            .order_by()
        )
        for name, value, method, n in rows:
            if value:
                counts[name][value] = counts[name].get(value, 0) + n
            else:
                unavailable[name][method] = unavailable[name].get(method, 0) + n
    facets = []
    for name in FACETS:
        spec = ATTRIBUTES[name]
        facets.append(
            {
                "name": name,
                "label": str(spec.label),
                "active": filters.get(name) or "",
                "values": [
                    (value, str(words), counts[name][value])
                    for value, words in spec.values.items()
                    if value in counts[name]
                ],
                "unavailable": attribute_unavailable_counts(unavailable[name]),
            }
        )
    return facets


def product_attributes_shown(*, product: Product) -> list[dict]:
    """The product page's attributes, in the vocabulary's order: the value's words, or why
    there is none (an attribute never computed reads as not available yet). One query."""
    stored = {a.name: a for a in ProductAttribute.objects.filter(product=product)}
    shown = []
    for name, spec in ATTRIBUTES.items():
        attribute = stored.get(name)
        if attribute is not None and attribute.value:
            shown.append({"name": name, "label": str(spec.label), "value": attribute.value_label})
        else:
            reason = attribute_unavailable_reason(attribute.method if attribute else "")
            shown.append({"name": name, "label": str(spec.label), "value": "", "reason": reason})
    return shown


# --- The same item at other shops (groups: Product.same_item_group) --------------------------


def display_currency(value, *, default: str) -> str:
    """The shopper's display currency from a query string (``?currency=KRW``), else ``default``."""
    code = str(value or "").strip().upper()
    return code if CURRENCY_RE.match(code) else default


class _LazyRates:
    """Exchange rates read on first use: pages whose prices share one currency never query them."""

    def __init__(self):
        self._rates: Rates | None = None

    def get(self) -> Rates:
        if self._rates is None:
            self._rates = exchange_rates_latest()
        return self._rates

    def convert(self, amount, from_currency: str, to_currency: str) -> Conversion | None:
        if from_currency == to_currency:
            return Conversion(amount=Decimal(amount), currency=to_currency, as_of=None)
        return self.get().convert(amount, from_currency, to_currency)


def _shown(conversion: Conversion | None) -> Decimal | None:
    return None if conversion is None else money_round(conversion.amount, conversion.currency)


def same_item_lowest_ids(*, products, currency: str | None) -> set[int]:
    """Ids among ``products`` that are the cheapest in-stock offer of their same-item group, in
    ``currency`` (the shopper's); one query for the groups' members (and one for the rates when
    a group mixes currencies). Members whose price cannot be converted are left out of the
    comparison (prices compare within one currency only); ties all count as lowest."""
    groups = {p.same_item_group for p in products if p.same_item_group is not None and p.in_stock}
    if not groups:
        return set()
    members = Product.objects.active().in_stock().filter(same_item_group__in=groups)
    rates = _LazyRates()
    by_group: dict[int, list[tuple[int, Decimal]]] = {}
    for pk, group, price, price_currency in members.values_list("pk", "same_item_group", "price", "currency"):
        if currency is None:  # no catalogue currency (cannot happen with products): compare nothing
            continue
        shown = _shown(rates.convert(price, price_currency, currency))
        if shown is not None:
            by_group.setdefault(group, []).append((pk, shown))
    lowest = set()
    for offers in by_group.values():
        if len(offers) < 2:
            continue
        cheapest = min(price for _, price in offers)
        lowest |= {pk for pk, price in offers if price == cheapest}
    return lowest & {p.pk for p in products}


# Colours of the price-history lines: this product first, then the other shops (readable on
# white; the legend names each one, so colour is never the only cue).
SERIES_COLOURS = ("#1f3f80", "#e0474c", "#3fa75a", "#b8860b", "#7b3fa0", "#2a9d9f", "#8c1d21")


def product_same_item_context(*, request, product) -> dict:
    """Context for the product page's "Also sold at" list and price-history chart.

    The other active products of the product's same-item group, in the shopper's display
    currency (``?currency=``, else the product's own), cheapest first, with their difference to
    this product. An offer in a currency with no known rate keeps its own price and is listed
    after the others, and the page says it was not compared. Queries: the group's members with
    their shops, the price history, and the rates only when a price is in another currency.
    """
    currency = display_currency(request.GET.get("currency"), default=product.currency)
    rates = _LazyRates()
    context = {
        "same_item": None,
        "display_currency": currency,
    }
    own = _shown(rates.convert(product.price, product.currency, currency))
    if own is None:
        # No rate from the product's currency: show everything in its own.
        context["display_currency_missing"] = currency
        currency = context["display_currency"] = product.currency
        own = product.price
    members = []
    if product.same_item_group is not None:
        members = list(
            Product.objects.browsable()
            .select_related("source")
            .filter(same_item_group=product.same_item_group)
            .exclude(pk=product.pk)
        )
    offers, unconverted, dates = [], set(), set()
    for other in members:
        conversion = rates.convert(other.price, other.currency, currency)
        shown = _shown(conversion)
        if conversion is not None and conversion.as_of is not None:
            dates.add(conversion.as_of)
        if shown is None:
            unconverted.add(other.currency)
        offers.append(
            {
                "product": other,
                "price": shown,
                "converted": shown is not None and other.currency != currency,
                "difference": None if shown is None else shown - own,
                "difference_abs": None if shown is None else abs(shown - own),
            }
        )
    # Compared offers cheapest first; then each unconverted currency, cheapest first within it.
    offers.sort(
        key=lambda o: (
            (0, "", o["price"], o["product"].pk)
            if o["price"] is not None
            else (1, o["product"].currency, o["product"].price, o["product"].pk)
        )
    )
    if product.currency != currency:
        conversion = rates.convert(product.price, product.currency, currency)
        dates.add(conversion.as_of)
    rates_as_of = min(dates) if dates else None
    context.update(
        {
            "same_item": offers,
            "display_currency": currency,
            "display_price": own,
            "display_price_converted": product.currency != currency,
            "same_item_unconverted": sorted(unconverted),
            "rates_as_of": rates_as_of,
            "rates_old": rates_as_of is not None and exchange_rate_is_stale(as_of=rates_as_of),
            # The currencies the shopper can compare in: those of this item's offers.
            "currency_choices": sorted(
                {product.currency, currency, *(o["product"].currency for o in offers)}
            ),
        }
    )
    context["price_chart"] = _price_chart(product=product, offers=offers, currency=currency, rates=rates)
    return context


def _price_chart(*, product, offers, currency: str, rates: _LazyRates) -> dict | None:
    """The price-history chart's SVG and legend: this product's price over time and the other
    shops' prices for the same item, in the display currency (today's rates)."""
    from shop.charts import price_history_svg

    shops = [product, *(o["product"] for o in offers)]
    rows = (
        PriceHistory.objects.filter(product_id__in=[p.pk for p in shops])
        .order_by("recorded_at", "id")
        .values_list("product_id", "price", "currency", "recorded_at")
    )
    points: dict[int, list] = {p.pk: [] for p in shops}
    for pk, price, price_currency, recorded_at in rows:
        shown = _shown(rates.convert(price, price_currency, currency))
        if shown is not None:
            points[pk].append((recorded_at, shown))
    series = []
    for index, shop_product in enumerate(shops):
        history = points[shop_product.pk]
        if not history:  # no row yet (added by hand): its price since it was first seen
            shown = _shown(rates.convert(shop_product.price, shop_product.currency, currency))
            if shown is None:
                continue
            history = [(shop_product.first_seen_at, shown)]
        series.append(
            {
                "product": shop_product,
                "own": index == 0,
                "colour": SERIES_COLOURS[index % len(SERIES_COLOURS)],
                "points": history,
            }
        )
    if not series or not series[0]["own"]:
        return None
    return {"svg": price_history_svg(series=series, currency=currency), "series": series}
