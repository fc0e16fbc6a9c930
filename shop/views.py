from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from shop.forms import ProductFilterForm
from shop.models import Product
from shop.selectors import brands_with_products, catalogue_currencies, product_browse


def product_list(request):
    currencies = catalogue_currencies()
    form = ProductFilterForm(request.GET or None, brands=brands_with_products(), currencies=currencies)
    filters = form.filters() if request.GET else {}
    products = product_browse(**{k: v for k, v in filters.items() if v not in (None, "")})
    # get_page() turns a page number that is not a number, or past the end, into a real page.
    page = Paginator(products, settings.SHOP_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    products = list(page.object_list)
    context = {
        "form": form,
        "page": page,
        "products": products,
        "query_string": query.urlencode(),
        # The currency is a setting of the price filter, not a filter of its own.
        "has_filters": any(
            v not in (None, "", False) for k, v in filters.items() if k not in ("sort", "currency")
        ),
        # Phones show the filters folded unless some are in use (a search alone keeps them folded).
        "filters_open": bool(form.errors)
        or any(v not in (None, "", False) for k, v in filters.items() if k not in ("sort", "q", "currency")),
        "currencies": currencies,
        # Generated demo data must say so wherever it is shown.
        "demo_on_page": any(p.source.slug == settings.SHOP_DEMO_SOURCE_SLUG for p in products),
    }
    return render(request, "shop/product_list.html", context)


def product_detail(request, pk: int):
    product = get_object_or_404(Product.objects.browsable().select_related("source"), pk=pk)
    # The recommender owns the "Similar alternatives" section: the template loads its tag
    # (recommender/templatetags), so this view never imports the recommender.
    context = {"product": product, "demo_slug": settings.SHOP_DEMO_SOURCE_SLUG}
    return render(request, "shop/product_detail.html", context)
