from django.shortcuts import get_object_or_404, render

from shop.models import Product


def product_list(request):
    products = Product.objects.browsable()[:48]
    return render(request, "shop/product_list.html", {"products": products})


def product_detail(request, pk: int):
    product = get_object_or_404(Product.objects.browsable(), pk=pk)
    return render(request, "shop/product_detail.html", {"product": product})
