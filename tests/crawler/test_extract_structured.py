"""schema.org first: which Product is the page's, where its price sits, and what is recorded."""

from __future__ import annotations

import json
from decimal import Decimal

from tests.crawler.extract_pages import page, product_block, read


def ld(*items) -> str:
    return "".join(f'<script type="application/ld+json">{json.dumps(item)}</script>' for item in items)


def offer(price, availability="InStock", currency="EUR"):
    return {"@type": "Offer", "price": price, "priceCurrency": currency, "availability": availability}


def test_the_page_product_is_the_one_named_like_the_title_not_a_related_one():
    related = {"@type": "Product", "name": "Canvas Belt", "brand": "Other", "offers": offer("9.00")}
    own = {
        "@type": "Product",
        "name": "Relaxed Linen Shirt",
        "brand": "Atelier Nord",
        "offers": offer("59.00"),
    }
    html = page(product_block(""), head=ld(related, own))
    data = read(html)
    assert (data.title, data.price, data.brand) == ("Relaxed Linen Shirt", Decimal("59.00"), "Atelier Nord")


def test_microdata_related_products_do_not_lower_the_price():
    item = (
        '<div itemscope itemtype="http://schema.org/Product"><span itemprop="name">{name}</span>'
        '<div itemprop="offers" itemscope itemtype="http://schema.org/Offer">'
        '<meta itemprop="price" content="{price}"><meta itemprop="priceCurrency" content="EUR"></div></div>'
    )
    body = item.format(name="Relaxed Linen Shirt", price="259.00") + "".join(
        item.format(name=f"Strap {n}", price="44,99") for n in range(3)
    )
    data = read(page(product_block(body)))
    assert (data.price, data.provenance["price"]["source"]) == (Decimal("259.00"), "microdata")


def test_a_price_in_the_offers_price_specification():
    product = {
        "@type": "Product",
        "name": "Relaxed Linen Shirt",
        "offers": {
            "@type": "Offer",
            "availability": "http://schema.org/InStock",
            "priceSpecification": {"@type": "PriceSpecification", "price": 19.5, "priceCurrency": "CHF"},
        },
    }
    data = read(page(product_block(""), head=ld(product)))
    assert (data.price, data.currency) == (Decimal("19.50"), "CHF")


def test_types_are_matched_without_case():
    product = {"@type": "product", "name": "Relaxed Linen Shirt", "offers": offer("49.00", currency="GBP")}
    data = read(page(product_block(""), head=ld(product)))
    assert (data.price, data.currency, data.provenance["price"]["source"]) == (
        Decimal("49.00"),
        "GBP",
        "jsonld",
    )


def test_one_product_per_size_in_stock_if_any_size_is():
    sizes = [
        {"@type": "Product", "name": "Relaxed Linen Shirt", "offers": offer("69.95", availability=stock)}
        for stock in ("OutOfStock", "InStock", "OutOfStock")
    ]
    data = read(page(product_block(""), head=ld(*sizes)))
    assert (data.price, data.in_stock) == (Decimal("69.95"), True)


def test_structured_fields_record_their_source_and_are_trusted():
    product = {
        "@type": "Product",
        "name": "Relaxed Linen Shirt",
        "brand": {"@type": "Brand", "name": "Atelier Nord"},
        "offers": offer("59.00"),
    }
    data = read(page(product_block(""), head=ld(product)))
    assert {name: (found["source"], found["confidence"]) for name, found in data.provenance.items()} == {
        "price": ("jsonld", 0.95),
        "currency": ("jsonld", 0.9),
        "availability": ("jsonld", 0.95),
        "brand": ("jsonld", 0.95),
    }


def test_opengraph_price_tags():
    head = (
        '<meta property="og:title" content="Relaxed Linen Shirt">'
        '<meta property="product:price:amount" content="24.50">'
        '<meta property="product:price:currency" content="GBP">'
        '<meta property="product:availability" content="out of stock">'
    )
    data = read(page(product_block(""), head=head))
    assert (data.price, data.currency, data.in_stock) == (Decimal("24.50"), "GBP", False)
    assert data.provenance["price"]["source"] == data.provenance["availability"]["source"] == "og"
