from django.shortcuts import get_object_or_404, render

from recommender.selectors import product_alternatives_context
from shop.models import Product


def product_list(request):
    products = Product.objects.browsable()[:48]
    return render(request, "shop/product_list.html", {"products": products})


def product_detail(request, pk: int):
    product = get_object_or_404(Product.objects.browsable(), pk=pk)
    context = {"product": product}
    # The recommender owns the "Similar alternatives" section: its context and template.
    context.update(product_alternatives_context(request=request, product=product))
    return render(request, "shop/product_detail.html", context)
