from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from shop.forms import ProductFilterForm
from shop.fragments import fragment_key, product_card_values
from shop.models import Product
from shop.search import DESCRIPTION_FILTERS, description_search
from shop.selectors import (
    attribute_facets,
    brands_with_products,
    catalogue_currencies,
    product_attributes_shown,
    product_browse,
    product_same_item_context,
    same_item_lowest_ids,
)


def product_list(request):
    currencies = catalogue_currencies()
    brands = brands_with_products()
    form = ProductFilterForm(request.GET or None, brands=brands, currencies=currencies)
    filters = form.filters() if request.GET else {}
    chosen = {k: v for k, v in filters.items() if v not in (None, "")}
    # Searching by description, when the recommender registered a ranker (shop/search.py).
    described = description_search(
        **{k: v for k, v in chosen.items() if k in DESCRIPTION_FILTERS},
        limit=settings.SHOP_SEARCH_DESCRIPTION_POOL,
    )
    products = product_browse(**chosen, description=described.distances)
    # get_page() turns a page number that is not a number, or past the end, into a real page.
    page = Paginator(products, settings.SHOP_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    products = list(page.object_list)
    # "Lowest price": the cheapest in-stock offer of the same item, in the shopper's currency.
    # With no query string the form has not run: the shopper's currency is then its default.
    shopper_currency = filters.get("currency") or (currencies[0] if currencies else None)
    lowest = same_item_lowest_ids(products=products, currency=shopper_currency)
    for product in products:
        product.lowest_in_group = product.pk in lowest
    # Colour and pattern, with counts under the other filters (shown in the filters fragment).
    facets = attribute_facets(filters=filters)
    for facet in facets:
        facet["query"] = _facet_query(request.GET, facet["name"])
    context = {
        "form": form,
        "page": page,
        "products": products,
        "query_string": query.urlencode(),
        "search_notice": described.notice,
        # The currency is a setting of the price filter, not a filter of its own.
        "has_filters": any(
            v not in (None, "", False) for k, v in filters.items() if k not in ("sort", "currency")
        ),
        # Phones show the filters folded unless some are in use (a search alone keeps them folded).
        "filters_open": bool(form.errors)
        or any(v not in (None, "", False) for k, v in filters.items() if k not in ("sort", "q", "currency")),
        "currencies": currencies,
        "facets": facets,
        # The filter form and the product grid are cached as rendered (shop/fragments.py),
        # keyed by all they show: the query string and the choices, the cards' fields.
        "fragment_seconds": settings.SHOP_FRAGMENT_CACHE_SECONDS,
        "filters_key": fragment_key(
            sorted(request.GET.lists()),
            [(b.slug, b.name) for b in brands],
            currencies,
            [(f["name"], f["values"], f["unavailable"]) for f in facets],
        ),
        "grid_key": fragment_key([product_card_values(p) for p in products]),
        # Generated demo data must say so wherever it is shown.
        "demo_on_page": any(p.source.slug == settings.SHOP_DEMO_SOURCE_SLUG for p in products),
    }
    return render(request, "shop/product_list.html", context)


def _facet_query(params, name: str) -> str:
    """The query string a facet's links extend (``...&colour=red``): the current filters less
    the facet itself and the page number (a new filter starts at page 1)."""
    query = params.copy()
    query.pop("page", None)
    query.pop(name, None)
    return query.urlencode()


def product_detail(request, pk: int):
    product = get_object_or_404(Product.objects.browsable().select_related("source"), pk=pk)
    # The recommender owns the "Similar alternatives" section: the template loads its tag
    # (recommender/templatetags), so this view never imports the recommender.
    context = {
        "product": product,
        "demo_slug": settings.SHOP_DEMO_SOURCE_SLUG,
        "attributes": product_attributes_shown(product=product),
    }
    # "Also sold at" and the price history: the same item at other shops.
    context.update(product_same_item_context(request=request, product=product))
    return render(request, "shop/product_detail.html", context)
