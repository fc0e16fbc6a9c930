"""The same item, cheaper elsewhere (issue 17): "Also sold at" on the product page, the
"Lowest price" badge on browse cards, the price-history chart, and no false "same item".

A seeded catalogue of real CC0 demo photos sold by several shops (byte-identical, re-encoded
and resized, in another currency), embedded and hashed by the real indexing code, grouped by
the real refresh; and painted shirts for the false matches.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from PIL import Image, ImageDraw

from recommender.duplicates import (
    NEAR_DUPLICATE_MAX_BITS,
    image_phash,
    image_phash_fine,
    is_near_duplicate,
    near_duplicate_groups,
    phash_distance,
)
from recommender.models import ProductColour
from recommender.services import embedding_compute_batch, same_item_groups_refresh
from shop.models import ExchangeRate, PriceHistory, Product
from tests.shop.factories import ProductFactory, SourceFactory, category

pytestmark = pytest.mark.django_db

PHOTOS = Path(django_settings.BASE_DIR) / "demo" / "catalogue" / "images"
SHIRTS = sorted((PHOTOS / "shirt").glob("*.jpg"))[:3]


@pytest.fixture(scope="module", autouse=True)
def _vacuum_embeddings_after(django_db_blocker):
    """Rolled-back vectors stay in the HNSW graph as dead tuples (see test_near_duplicates)."""
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("VACUUM recommender_embedding")


def _encode(image: Image.Image, *, scale: float = 1.0, quality: int = 90) -> bytes:
    if scale != 1.0:
        image = image.resize((int(image.width * scale), int(image.height * scale)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _photo(path: Path) -> Image.Image:
    return Image.open(path).convert("RGB")


def _product(title, data: bytes, price, shop: str, *, currency="KRW", in_stock=True, url=None):
    return ProductFactory(
        title=title,
        source=SourceFactory(slug=shop, name=shop.replace("-", " ").title()),
        category=category("top"),
        price=Decimal(price),
        currency=currency,
        in_stock=in_stock,
        product_url=url if url is not None else f"https://{shop}.example/p/{title.replace(' ', '-')}",
        image=ContentFile(data, name=f"{shop}.jpg"),
        image_sha256=hashlib.sha256(data).hexdigest(),
    )


@pytest.fixture
def catalogue(db, settings):
    """One shirt at six shops (two of them in other currencies, one sold out, one with a
    javascript: link) and two different shirts, all embedded and grouped."""
    settings.SHOP_EXCHANGE_RATE_MAX_AGE_DAYS = 7
    return seed_catalogue()


def seed_catalogue() -> dict:
    original = _encode(_photo(SHIRTS[0]))
    resized = _encode(_photo(SHIRTS[0]), scale=0.6, quality=70)
    items = {
        "main": _product("Oxford shirt", original, 45000, "shop-a"),
        "copy": _product("Oxford shirt", original, 39000, "shop-b"),
        "resized": _product("Oxford shirt, resized", resized, 44000, "shop-c"),
        "usd": _product(
            "Oxford shirt", _encode(_photo(SHIRTS[0]), quality=75), "30.00", "shop-d", currency="USD"
        ),
        "sold_out": _product("Oxford shirt", original, 35000, "shop-e", in_stock=False),
        "gbp": _product(
            "Oxford shirt", resized, "20.00", "shop-f", currency="GBP", url="javascript:alert(1)"
        ),
        "other_1": _product("Striped shirt", _encode(_photo(SHIRTS[1])), 30000, "shop-a"),
        "other_2": _product("Linen shirt", _encode(_photo(SHIRTS[2])), 20000, "shop-b"),
    }
    result = embedding_compute_batch(product_ids=[p.pk for p in items.values()])
    assert sorted(result.embedded) == sorted(p.pk for p in items.values())
    # 1 USD = 1400 KRW; no rate for GBP.
    ExchangeRate.objects.create(base="USD", currency="KRW", rate=Decimal(1400), as_of=timezone.localdate())
    same_item_groups_refresh()
    for product in items.values():
        product.refresh_from_db()
    return items


def _offers(response) -> list[tuple[int, Decimal | None]]:
    return [(offer["product"].pk, offer["price"]) for offer in response.context["same_item"]]


def test_refresh_groups_the_copies_and_nothing_else(catalogue):
    group = {k for k, p in catalogue.items() if p.same_item_group is not None}
    assert group == {"main", "copy", "resized", "usd", "sold_out", "gbp"}
    assert len({catalogue[k].same_item_group for k in group}) == 1
    assert catalogue["main"].same_item_group == min(catalogue[k].pk for k in group)
    # Run again: nothing changes. A member taken down leaves its group.
    assert same_item_groups_refresh().changed == 0
    Product.objects.filter(pk=catalogue["copy"].pk).update(is_active=False)
    assert same_item_groups_refresh().changed == 1
    assert Product.objects.get(pk=catalogue["copy"].pk).same_item_group is None


def test_also_sold_at_lists_the_other_shops_cheapest_first_in_won(client, catalogue):
    response = client.get(catalogue["main"].get_absolute_url())
    assert response.status_code == 200
    c = catalogue
    # Won first, cheapest first (the sold-out one too, marked); US$30 = ₩42,000; GBP last, unconverted.
    assert _offers(response) == [
        (c["sold_out"].pk, Decimal(35000)),
        (c["copy"].pk, Decimal(39000)),
        (c["usd"].pk, Decimal(42000)),
        (c["resized"].pk, Decimal(44000)),
        (c["gbp"].pk, None),
    ]
    html = response.content.decode()
    section = html[
        html.index('id="also-sold-at"') : html.index("</section>", html.index('id="also-sold-at"'))
    ]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section))
    assert "Also sold at" in text
    assert "Shop B ₩39,000 (₩6,000 cheaper) In stock" in text
    assert "Shop D ₩42,000 (sold for $30.00) (₩3,000 cheaper) In stock" in text
    assert "Shop C ₩44,000 (₩1,000 cheaper)" in text
    assert "Shop E ₩35,000 (₩10,000 cheaper) Sold out" in text
    assert "Shop F £20.00 In stock" in text
    assert "No exchange rate from British Pound to South Korean Won is known" in text
    date = timezone.localdate().strftime("%m/%d/%Y")
    assert (
        f"converted to South Korean Won at the exchange rates of {date}" in text
        and "rates are old" not in text
    )
    # Linked: our page of each offer, and the shop's page when it is http(s).
    assert f'href="{c["copy"].get_absolute_url()}"' in section
    assert 'href="https://shop-b.example/p/Oxford-shirt"' in section
    assert "javascript:" not in section and f'href="{c["gbp"].get_absolute_url()}"' in section


def test_a_cheaper_copys_page_says_the_others_cost_more(client, catalogue):
    html = client.get(catalogue["copy"].get_absolute_url()).content.decode()
    assert "₩5,000 more" in html and "₩4,000 cheaper" in html  # shop A 45,000; shop E 35,000


def test_prices_in_the_shoppers_currency(client, catalogue):
    response = client.get(catalogue["main"].get_absolute_url() + "?currency=usd")
    assert response.context["display_currency"] == "USD"
    prices = dict(_offers(response))
    assert prices[catalogue["copy"].pk] == Decimal("27.86")  # 39,000 / 1,400
    assert prices[catalogue["usd"].pk] == Decimal("30.00")
    html = response.content.decode()
    assert "This product: $32.14" in html and "$2.14 cheaper" in html
    # A currency with no rate: the product's own currency, and the page says so.
    response = client.get(catalogue["main"].get_absolute_url() + "?currency=JPY")
    assert response.context["display_currency"] == "KRW"
    assert (
        "No exchange rate to Japanese Yen is known, so prices are shown in South Korean Won."
        in response.content.decode()
    )


def test_old_rates_are_flagged_on_the_page(client, catalogue):
    ExchangeRate.objects.update(as_of=timezone.localdate() - dt.timedelta(days=30))
    html = client.get(catalogue["main"].get_absolute_url()).content.decode()
    assert "These rates are old: the real prices may differ." in html


def test_without_rates_prices_compare_within_one_currency_only(client, catalogue):
    ExchangeRate.objects.all().delete()
    response = client.get(catalogue["main"].get_absolute_url())
    offers = response.context["same_item"]
    assert [o["product"].currency for o in offers] == ["KRW", "KRW", "KRW", "GBP", "USD"]
    assert [o["difference"] for o in offers if o["product"].currency != "KRW"] == [None, None]
    html = response.content.decode()
    assert "No exchange rate from US Dollar to South Korean Won is known" in html and "$30.00" in html


def test_lowest_price_badge_on_browse_cards(client, catalogue):
    response = client.get("/")
    lowest = {p.pk for p in response.context["products"] if p.lowest_in_group}
    # The sold-out ₩35,000 copy is not on offer: the in-stock ₩39,000 one is the lowest.
    assert lowest == {catalogue["copy"].pk}
    html = response.content.decode()
    assert html.count("Lowest price") == 1
    # In dollars the same one is cheapest (US$27.86 < US$30.00).
    response = client.get("/?currency=USD")
    assert {p.pk for p in response.context["products"] if p.lowest_in_group} == {catalogue["copy"].pk}
    # Sold out: the next cheapest, the US$30 shirt (₩42,000), takes the badge.
    Product.objects.filter(pk=catalogue["copy"].pk).update(in_stock=False)
    response = client.get("/")
    assert {p.pk for p in response.context["products"] if p.lowest_in_group} == {catalogue["usd"].pk}


def test_price_history_chart_shows_each_shop(client, catalogue):
    now = timezone.now()
    main, copy = catalogue["main"], catalogue["copy"]
    for product, price, days in ((main, 52000, 20), (main, 45000, 5), (copy, 41000, 12), (copy, 39000, 2)):
        PriceHistory.objects.create(
            product=product,
            price=Decimal(price),
            currency="KRW",
            in_stock=True,
            recorded_at=now - dt.timedelta(days=days),
        )
    response = client.get(main.get_absolute_url())
    chart = response.context["price_chart"]
    svg = str(chart["svg"])
    assert svg.startswith('<svg class="price-chart"') and svg.endswith("</svg>")
    # This product and the five other shops, one line each (the GBP one cannot be drawn in won).
    assert svg.count("<polyline") == 5 == len(chart["series"])
    own = chart["series"][0]
    assert own["own"] and [p for _, p in own["points"]] == [Decimal(52000), Decimal(45000)]
    assert "₩52,000" in svg and "₩35,000" in svg  # the axis: highest and lowest price
    # A step line: 2 points each for 2 prices.
    line = re.findall(r'<polyline points="([^"]+)" fill="none" stroke="#1f3f80"', svg)[0]
    assert len(line.split()) == 4
    html = response.content.decode()
    assert "Price history" in html and "This product" in html and "Shop B" in html


def test_a_product_alone_has_no_list_but_its_chart(client, catalogue):
    response = client.get(catalogue["other_1"].get_absolute_url())
    assert response.status_code == 200 and response.context["same_item"] == []
    html = response.content.decode()
    assert "Also sold at" not in html and '<svg class="price-chart"' in html


@pytest.mark.parametrize(
    "query", ["?currency=", "?currency=%3Cscript%3E", "?currency=KRWX", "?currency=xyz", "?currency=GBP"]
)
def test_odd_currencies_never_fail(client, catalogue, query):
    response = client.get(catalogue["main"].get_absolute_url() + query)
    assert response.status_code == 200 and "<script>" not in response.content.decode()


def test_members_gone_or_rates_broken_never_fail(client, catalogue):
    ids = [catalogue[k].pk for k in ("copy", "resized", "usd", "sold_out", "gbp")]
    Product.objects.filter(pk__in=ids).update(is_active=False)  # taken down, group not refreshed
    response = client.get(catalogue["main"].get_absolute_url())
    assert response.status_code == 200 and response.context["same_item"] == []
    assert client.get("/").status_code == 200


def test_korean_page(client, catalogue):
    from tests.shop.test_i18n import _english_left

    ExchangeRate.objects.update(as_of=timezone.localdate() - dt.timedelta(days=30))
    html = client.get("/ko/products/{}/?currency=KRW".format(catalogue["main"].pk)).content.decode()
    assert "다른 판매처" in html and "₩6,000 더 저렴" in html and "가격 변동" in html and "품절" in html
    assert "대한민국 원(으)로 환산했습니다" in html and "오래된 환율" in html and "영국 파운드" in html
    data = tuple(
        n for p in catalogue.values() for n in (p.title, p.brand.name if p.brand else "", p.source.name) if n
    )
    assert _english_left(html, data=data) == []
    assert "최저가" in client.get("/ko/").content.decode()


def test_product_page_query_count(client, catalogue, django_assert_max_num_queries):
    # Alternatives as before (12), plus the group's members, the price history and the rates.
    with django_assert_max_num_queries(15):
        client.get(catalogue["main"].get_absolute_url())


def test_browse_page_query_count_with_groups(client, catalogue, django_assert_num_queries):
    # The pinned 5 (tests/shop/test_pages.py), the groups' members, and the rates (the group
    # mixes won, dollars and pounds); no query per card.
    with django_assert_num_queries(7):
        client.get("/")


def test_the_refresh_command_and_task(catalogue):
    from recommender.tasks import embed_same_item_groups

    Product.objects.update(same_item_group=None)
    out = io.StringIO()
    call_command("refresh_same_items", stdout=out)
    assert "1 groups of the same item (6 products); 6 products regrouped." in out.getvalue()
    assert embed_same_item_groups() == {"groups": 1, "grouped": 6, "changed": 0}


# --- False "same item": two different shirts of one colour -----------------------------------

RED = (190, 30, 40)
BACKGROUND = (240, 240, 240)


def painted_shirt(kind: str, colour=RED, size=(300, 375)) -> Image.Image:
    """A shop-style photo: one garment on a plain background. "buttoned" and "striped" have
    the same colour and cut (long sleeves); "tee" and "pocket" are short-sleeved."""
    image = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.rectangle((w * 0.3, h * 0.2, w * 0.7, h * 0.9), fill=colour)
    long_sleeves = [
        [(w * 0.3, h * 0.2), (w * 0.1, h * 0.75), (w * 0.18, h * 0.78), (w * 0.32, h * 0.4)],
        [(w * 0.7, h * 0.2), (w * 0.9, h * 0.75), (w * 0.82, h * 0.78), (w * 0.68, h * 0.4)],
    ]
    short_sleeves = [
        [(w * 0.3, h * 0.2), (w * 0.15, h * 0.38), (w * 0.25, h * 0.45), (w * 0.32, h * 0.35)],
        [(w * 0.7, h * 0.2), (w * 0.85, h * 0.38), (w * 0.75, h * 0.45), (w * 0.68, h * 0.35)],
    ]
    v_collar = [(w * 0.42, h * 0.2), (w * 0.5, h * 0.3), (w * 0.58, h * 0.2)]
    for sleeve in long_sleeves if kind in ("buttoned", "striped") else short_sleeves:
        draw.polygon(sleeve, fill=colour)
    if kind == "buttoned":
        draw.polygon(v_collar, fill=BACKGROUND)
        for i in range(6):
            draw.ellipse(
                (w * 0.49, h * (0.32 + i * 0.09), w * 0.51, h * (0.34 + i * 0.09)), fill=(250, 250, 250)
            )
    elif kind == "striped":
        for i in range(8):
            draw.line(
                (w * 0.3, h * (0.25 + i * 0.08), w * 0.7, h * (0.25 + i * 0.08)), fill=(150, 20, 30), width=3
            )
    elif kind == "tee":
        draw.ellipse((w * 0.42, h * 0.16, w * 0.58, h * 0.25), fill=BACKGROUND)
    elif kind == "pocket":
        draw.rectangle((w * 0.55, h * 0.32, w * 0.65, h * 0.42), outline=(120, 10, 20), width=3)
        draw.polygon(v_collar, fill=BACKGROUND)
    return image


KINDS = ("buttoned", "striped", "tee", "pocket")


def test_two_different_shirts_of_one_colour_fool_the_64_bit_hash_but_not_the_fine_one():
    """Why the fine hash exists: the striped and the buttoned shirt are within the 64-bit
    threshold and of one colour, yet far apart at 16x16; a re-encoded copy stays close."""
    from recommender.colour import rgb_histogram

    photos = {kind: Image.open(io.BytesIO(_encode(painted_shirt(kind)))).convert("RGB") for kind in KINDS}
    a, b = photos["buttoned"], photos["striped"]
    assert phash_distance(image_phash(a), image_phash(b)) <= NEAR_DUPLICATE_MAX_BITS
    coarse = {"sha256_a": "a", "sha256_b": "b", "phash_a": image_phash(a), "phash_b": image_phash(b)}
    colours = {"colour_a": rgb_histogram(a), "colour_b": rgb_histogram(b)}
    assert is_near_duplicate(**coarse, **colours)  # the alternatives' test alone: "the same photo"
    assert not is_near_duplicate(**coarse, **colours, fine_a=image_phash_fine(a), fine_b=image_phash_fine(b))
    copy = Image.open(io.BytesIO(_encode(painted_shirt("buttoned"), scale=0.6, quality=70))).convert("RGB")
    assert is_near_duplicate(
        sha256_a="a",
        sha256_b="c",
        phash_a=image_phash(a),
        phash_b=image_phash(copy),
        colour_a=rgb_histogram(a),
        colour_b=rgb_histogram(copy),
        fine_a=image_phash_fine(a),
        fine_b=image_phash_fine(copy),
    )
    # Without its fine hash (indexed before it was kept) a pHash pair is not "the same item".
    assert not is_near_duplicate(**coarse, fine_a=image_phash_fine(a), fine_b="")


def test_painted_shirts_of_one_colour_are_not_offered_as_the_same_item(client, db):
    """Through the real indexing and grouping: each painted shirt at two shops (the second
    copy re-encoded and resized) forms its own group; no shirt is offered on another's page."""
    products = {}
    for kind in KINDS:
        products[kind] = _product(f"Red {kind} shirt", _encode(painted_shirt(kind)), 30000, f"{kind}-a")
        products[f"{kind} copy"] = _product(
            f"Red {kind} shirt", _encode(painted_shirt(kind), scale=0.7, quality=70), 28000, f"{kind}-b"
        )
    embedding_compute_batch(product_ids=[p.pk for p in products.values()])
    assert ProductColour.objects.filter(phash_fine="").count() == 0
    same_item_groups_refresh()
    groups = {}
    for name, product in products.items():
        product.refresh_from_db()
        groups.setdefault(product.same_item_group, set()).add(name)
    assert None not in groups
    assert sorted(groups.values(), key=sorted) == sorted(({k, f"{k} copy"} for k in KINDS), key=sorted)
    response = client.get(products["buttoned"].get_absolute_url())
    assert [o["product"].pk for o in response.context["same_item"]] == [products["buttoned copy"].pk]


def test_groups_from_the_multi_index_equal_all_pairs():
    """The bucketed grouping finds exactly the pairs an all-pairs comparison finds."""
    import itertools
    import random

    from recommender.duplicates import phash_informative

    rng = random.Random(17)
    base = [rng.getrandbits(64) for _ in range(40)]
    items = []
    for index in range(400):
        value = base[index % 40]
        for bit in rng.sample(range(64), rng.randint(0, 10)):
            value ^= 1 << bit
        items.append((index, "", f"{value:016x}", None, ""))
    items = [item for item in items if phash_informative(item[2])]
    found = near_duplicate_groups(items, require_fine=False)
    parent = {i: i for i, *_ in items}

    def root(i):
        while parent[i] != i:
            i = parent[i]
        return i

    pairs = 0
    for a, b in itertools.combinations(items, 2):
        if phash_distance(a[2], b[2]) <= NEAR_DUPLICATE_MAX_BITS:
            parent[root(a[0])] = root(b[0])
            pairs += 1
    assert pairs > 100 and len(items) > 350  # the instance has matches to find
    expected = {}
    for i, *_ in items:
        expected.setdefault(root(i), []).append(i)
    assert found == sorted(sorted(g) for g in expected.values() if len(g) > 1)


def test_chart_of_one_price_and_of_a_price_that_never_changed():
    from shop.charts import price_history_svg

    now = timezone.now()
    one = price_history_svg(
        series=[{"points": [(now, Decimal(39000))], "colour": "#1f3f80", "own": True}],
        currency="KRW",
        now=now,
    )
    assert one.startswith("<svg") and "nan" not in one and "₩39,000" in one
    flat = price_history_svg(
        series=[
            {"points": [(now - dt.timedelta(days=9), Decimal(0))], "colour": "#1f3f80", "own": True},
            {"points": [(now - dt.timedelta(days=3), Decimal(0))], "colour": "#e0474c", "own": False},
        ],
        currency="USD",
        now=now,
    )
    assert flat.count("<polyline") == 2 and "nan" not in flat and "$0.00" in flat


def test_the_badge_moves_at_once_when_only_a_rate_changes(client, catalogue):
    """The browse grid is cached by what its cards show (shop/fragments.py): a new exchange
    rate changes which offer is the lowest without changing any card's own fields."""
    from django.core.cache import cache

    cache.clear()

    def badged(html: str) -> list[str]:
        cards = html.split("<li")
        return [card for card in cards if "Lowest price" in card]

    first = client.get("/").content.decode()
    assert len(badged(first)) == 1 and "₩39,000" in badged(first)[0]
    # 1 USD = 1200 KRW: the $30 shirt is now ₩36,000, below the ₩39,000 one.
    ExchangeRate.objects.filter(base="USD", currency="KRW").update(rate=Decimal(1200))
    again = client.get("/").content.decode()
    assert len(badged(again)) == 1 and "$30.00" in badged(again)[0], badged(again)
