"""Brand fallback rules: brand properties, script state, breadcrumbs, the title, spec tables."""

from __future__ import annotations

import json

import pytest

from crawler.extract.brand import brand_clean
from tests.crawler.extract_pages import page, product_block, read

PRICE = '<p class="price">€ 59,00</p>'


def brand(html: str) -> tuple[str, str]:
    data = read(html)
    found = data.provenance.get("brand")
    return data.brand, found["source"] if found else ""


def test_itemprop_brand_outside_a_product_item():
    html = page(product_block(PRICE + '<p itemprop="brand"><span itemprop="name">Atelier Nord</span></p>'))
    assert brand(html) == ("Atelier Nord", "microdata")


def test_meta_brand_tag():
    html = page(product_block(PRICE), head='<meta property="product:brand" content="Maison K">')
    assert brand(html) == ("Maison K", "og")


def test_data_brand_attribute():
    html = page(product_block(PRICE + '<div class="brand-link" data-brand-name="Google"></div>'))
    assert brand(html) == ("Google", "dom")


def test_brand_of_the_product_in_script_state():
    state = {"pdp": {"product": {"title": "Relaxed Linen Shirt", "brand": {"name": "Studio Ame"}}}}
    html = page(product_block(PRICE) + f"<script>var state = {json.dumps(state)};</script>")
    assert brand(html) == ("Studio Ame", "state-json")


def test_a_breadcrumb_the_title_starts_with():
    crumbs = (
        "<ol class='breadcrumb'><li><a href='/'>Home</a></li><li><a href='/men'>Men</a></li>"
        "<li><a href='/b/nordgarn'>Nordgarn</a></li><li>Nordgarn Relaxed Linen Shirt</li></ol>"
    )
    html = page(crumbs + product_block(PRICE), title="Nordgarn Relaxed Linen Shirt")
    assert brand(html) == ("Nordgarn", "dom")


def test_a_brand_link_next_to_the_title():
    html = page(
        "<main><div class='product'><a href='/brands/studio-ame'>Studio Ame</a><h1>{title}</h1>"
        f"{PRICE}<button>Add to cart</button></div></main>"
    )
    assert brand(html) == ("Studio Ame", "dom")


@pytest.mark.parametrize(
    "specs",
    [
        "<table><tr><th>Colour</th><td>Blue</td></tr><tr><th>Brand</th><td>Atelier Nord</td></tr></table>",
        "<dl><dt>Material</dt><dd>Linen</dd><dt>Marke</dt><dd>Atelier Nord</dd></dl>",
        "<ul><li><strong>Marque :</strong> <a href='/m/an'>Atelier Nord</a></li></ul>",
        "<p>Fabricante: Atelier Nord</p>",
        "<table><tr><td>브랜드</td><td><span>Atelier Nord</span></td></tr></table>",
    ],
)
def test_the_value_next_to_a_brand_label(specs):
    html = page(product_block(PRICE) + f"<section class='specs'>{specs}</section>")
    assert brand(html) == ("Atelier Nord", "dom")


def test_a_label_word_inside_other_words_is_not_a_label():
    html = page(product_block(PRICE) + "<p>Make-up</p><p>Brand new</p><p>Brand Outlet</p>")
    assert brand(html) == ("", "")


def test_schema_org_brand_comes_first():
    ld = {"@type": "Product", "name": "Relaxed Linen Shirt", "brand": {"name": "Atelier Nord"}, "offers": {}}
    html = page(
        product_block(PRICE + '<div data-brand="Other"></div>'),
        head=f'<script type="application/ld+json">{json.dumps(ld)}</script>',
    )
    assert brand(html) == ("Atelier Nord", "jsonld")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Casio", "Casio"),
        ({"@type": "Brand", "name": "Casio"}, "Casio"),
        (["Casio", "Other"], "Casio"),
        ("Brand: Casio", "Casio"),
        ("More from the brand: Roborock", "Roborock"),
        ("$metabrand", ""),
        ("{{ product.brand }}", ""),
        ("undefined", ""),
        ("Generic", ""),
        ("x" * 61, ""),
        ("12345", ""),
    ],
)
def test_brand_clean(raw, clean):
    assert brand_clean(raw) == clean
