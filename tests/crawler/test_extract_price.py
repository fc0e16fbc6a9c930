"""Price fallback rules, one page each: script state, price carriers, visible amounts."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from crawler.extract import Page
from crawler.extract.found import PriceCandidate, price_vote
from crawler.extract.prices import visible_prices
from crawler.sources import ParseError
from tests.crawler.extract_pages import RELATED, page, product_block, read


def price_of(html: str, **kwargs):
    data = read(html, **kwargs)
    return data.price, data.currency, data.provenance["price"]["source"]


# -- embedded JSON state --------------------------------------------------------------------------


def test_next_data_state_named_like_the_title():
    state = {
        "props": {"pageProps": {"product": {"name": "Relaxed Linen Shirt", "price": 59.9, "currency": "EUR"}}}
    }
    html = page(
        product_block("", button="")
        + f'<script id="__NEXT_DATA__" type="application/json">{json.dumps(state)}</script>'
        + RELATED
    )
    assert price_of(html) == (Decimal("59.90"), "EUR", "state-json")


def test_javascript_state_object_with_unquoted_keys():
    script = (
        "window.__INITIAL_STATE__ = {product: {title: 'Relaxed Linen Shirt', "
        "pricing: {salePrice: '49,95', listPrice: '69,95'}, currencyCode: 'EUR'}};"
    )
    html = page(product_block("", button="") + f"<script>{script}</script>")
    # salePrice is the price; listPrice (the price before the sale) is not.
    assert price_of(html)[0] == Decimal("49.95")


def test_analytics_ecommerce_push_gives_price_and_brand():
    push = {"ecommerce": {"detail": {"products": [{"id": "LS1", "price": "39.00", "brand": "Atelier Nord"}]}}}
    html = page(
        product_block("<p>A shirt for summer.</p>") + f"<script>dataLayer.push({json.dumps(push)});</script>",
        head='<meta property="og:locale" content="de_DE">',
    )
    data = read(html)
    assert (data.price, data.currency, data.brand) == (Decimal("39.00"), "EUR", "Atelier Nord")
    assert data.provenance["brand"]["source"] == "state-json"


# -- price carriers -----------------------------------------------------------------------------------


def test_meta_price_tag_outside_opengraph():
    html = page(
        product_block("<p>In stock</p>"),
        head='<meta name="price" content="24.50"><meta name="currency" content="GBP">',
    )
    assert price_of(html) == (Decimal("24.50"), "GBP", "og")


def test_itemprop_price_without_a_product_item():
    html = page(
        product_block(
            '<div class="buy-box"><span itemprop="price" content="129.00">129,00 €</span>'
            '<meta itemprop="priceCurrency" content="EUR"></div>'
        )
    )
    assert price_of(html)[:2] == (Decimal("129.00"), "EUR")


def test_data_price_attribute_near_the_buy_button():
    html = page(
        product_block(
            "",
            button='<button class="btn" data-product-price="89.00" data-currency="USD">Add to bag</button>',
        )
        + RELATED
    )
    assert price_of(html) == (Decimal("89.00"), "USD", "dom")


# -- visible amounts --------------------------------------------------------------------------------


def test_the_price_next_to_the_title_beats_related_products():
    html = page(product_block('<p class="product-price">€ 59,00</p>') + RELATED)
    price, currency, source = price_of(html)
    assert (price, currency, source) == (Decimal("59.00"), "EUR", "dom")


def test_a_struck_through_old_price_is_not_the_price():
    html = page(
        product_block('<div class="prices"><del>€ 89,00</del> <span class="sale">€ 59,00</span></div>')
        + RELATED
    )
    assert price_of(html)[0] == Decimal("59.00")


def test_an_old_price_named_so_is_not_the_price():
    html = page(
        product_block(
            '<div class="prices"><span class="price--was">£120.00</span>'
            '<span class="price--now">£84.00</span></div>'
        )
    )
    assert price_of(html)[0] == Decimal("84.00")


def test_a_price_split_over_elements_is_read_whole():
    html = page(product_block('<div class="price"><span>€</span><span>12</span>,<sup>99</sup></div>'))
    assert price_of(html)[0] == Decimal("12.99")


def test_unit_prices_and_instalments_lose_to_the_price():
    html = page(
        product_block(
            '<p class="price">€ 3,49</p><p class="unit">€ 6,98 / kg</p>'
            '<p class="finance">or 3 x € 1,16 per month</p>'
        )
    )
    assert price_of(html)[0] == Decimal("3.49")


def test_a_currency_word_beside_the_amount():
    html = page(
        product_block('<div><b style="font-size:27px">2320</b><span>元</span></div>'),
        head='<link rel="canonical" href="https://www.shop.example.com.tw/p/1">',
        lang="zh-TW",
    )
    assert price_of(html)[:2] == (Decimal("2320.00"), "TWD")


def test_bare_numbers_are_not_prices():
    html = page(product_block("<p>Size 42</p><p>4.8 out of 5 (1,203 reviews)</p><p>Since 1998</p>"))
    with pytest.raises(ParseError, match="No price was found on this product page"):
        read(html)


def test_visible_candidates_say_why_they_scored_low():
    html = page(product_block("<p class='price'>€ 59,00</p>") + RELATED)
    candidates = {c.amount: c for c in visible_prices(Page(text=html, url="https://shop.example/p/1"))}
    assert candidates[Decimal("59.00")].score > candidates[Decimal("79.00")].score
    assert "another product's" in candidates[Decimal("79.00")].why


# -- currencies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "host", "currency"),
    [
        ("$", "https://shop.example.com/p/1", "USD"),
        ("$", "https://shop.example.ca/p/1", "CAD"),
        ("$", "https://shop.example.tw/p/1", "TWD"),
        ("₩", "https://shop.example.kr/p/1", "KRW"),
    ],
)
def test_a_dollar_sign_is_the_currency_of_the_page_country(symbol, host, currency):
    html = page(
        product_block(f'<p class="price">{symbol}1,290</p>'), head=f'<link rel="canonical" href="{host}">'
    )
    assert price_of(html)[:2] == (Decimal("1290.00"), currency)


def test_an_amount_without_currency_takes_the_source_setting_then_the_country():
    html = page(product_block('<p class="price">2,900</p>'), lang="ko-KR")
    assert read(html).currency == "KRW"  # the page's country
    assert read(html, currency="USD").currency == "USD"  # the operator's setting wins


# -- the vote --------------------------------------------------------------------------------------


def test_agreeing_rules_are_more_certain_than_one():
    other = PriceCandidate(Decimal("12"), "EUR", "dom", 2.5, "visible text")
    alone = price_vote([PriceCandidate(Decimal("10"), "EUR", "dom", 3.0, "visible text"), other])
    agreed = price_vote(
        [
            PriceCandidate(Decimal("10"), "EUR", "dom", 3.0, "visible text"),
            PriceCandidate(Decimal("10"), "EUR", "state-json", 3.0, "analytics product (ecommerce)"),
            other,
        ]
    )
    assert agreed[0].amount == Decimal("10")
    assert agreed[1] > alone[1]
    assert price_vote([PriceCandidate(Decimal("10"), "EUR", "dom", -1.0, "visible text")]) is None
