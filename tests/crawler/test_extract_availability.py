"""Availability fallback rules: sold-out texts in the page's language, the buy button, script state."""

from __future__ import annotations

import json

import pytest

from tests.crawler.extract_pages import page, product_block, read

PRICE = '<p class="price">€ 59,00</p>'
SOLD_OUT_BUTTON = "<button class='btn' disabled>{text}</button>"


def availability(html: str):
    data = read(html)
    return data.in_stock, data.provenance["availability"]["source"]


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "Sold out"),
        ("en", "Currently unavailable."),
        ("ko", "품절"),
        ("de", "Ausverkauft"),
        ("fr", "Épuisé"),
        ("es", "Agotado"),
        ("it", "Esaurito"),
        ("pt", "Esgotado"),
        ("ja", "在庫切れ"),
        ("ja", "売り切れ"),
    ],
)
def test_sold_out_text_next_to_the_product_in_the_page_language(lang, text):
    html = page(product_block(f"{PRICE}<p class='stock'>{text}</p>", button=""), lang=lang)
    assert availability(html) == (False, "dom")


def test_the_buy_button_that_can_be_pressed_means_in_stock():
    html = page(product_block(PRICE, button="<button>In den Warenkorb</button>"), lang="de")
    assert availability(html) == (True, "dom")


def test_a_disabled_buy_button_means_sold_out():
    html = page(product_block(PRICE, button="<button disabled>Add to cart</button>"))
    assert availability(html) == (False, "dom")


def test_a_sold_out_badge_on_another_product_says_nothing():
    related = (
        "<section class='recommendations'><div class='tile'><a href='/p/9'>Linen Trousers</a>"
        "<span class='badge'>Sold out</span></div></section>"
    )
    html = page(product_block(PRICE, button="<button>Add to bag</button>") + related)
    assert availability(html) == (True, "dom")


def test_indisponible_is_not_disponible_and_disponible_is_not_sold_out():
    in_stock = page(product_block(f"{PRICE}<p>Disponible en 48h</p>", button=""), lang="fr")
    assert availability(in_stock) == (True, "dom")
    sold_out = page(product_block(f"{PRICE}<p>Rupture de stock</p>", button=""), lang="fr")
    assert availability(sold_out) == (False, "dom")


def test_a_size_list_saying_unavailable_is_not_the_product():
    sizes = "<select><option>S</option><option>M - sold out</option></select>"
    html = page(product_block(PRICE + sizes, button="<button>Add to cart</button>"))
    assert availability(html) == (True, "dom")


def test_script_state_stock_of_the_product():
    state = {"product": {"name": "Relaxed Linen Shirt", "price": 59, "isSoldOut": True}}
    html = page(
        product_block(PRICE, button="<button>Add to cart</button>")
        + f"<script>window.__PRELOADED_STATE__ = {json.dumps(state)};</script>"
    )
    assert availability(html) == (False, "state-json")


def test_nothing_said_means_in_stock_by_default():
    html = page(product_block(PRICE, button=""))
    data = read(html)
    assert data.in_stock is True
    assert data.provenance["availability"] == {
        "source": "default",
        "confidence": 0.3,
        "rule": "nothing on the page says it is sold out",
    }
