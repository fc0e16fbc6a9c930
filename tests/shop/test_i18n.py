"""Korean and English pages, and prices written the way each currency is written."""

from __future__ import annotations

import gettext as gettext_module
import io
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation
from PIL import Image

from tests.shop.factories import ProductFactory, SourceFactory, category, jpeg_bytes, photo_product

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "amount", "currency", "expected"),
    [
        ("en", "12900.00", "KRW", "₩12,900"),
        ("ko", "12900.00", "KRW", "₩12,900"),
        ("en", "26", "USD", "$26.00"),
        ("ko", "26", "USD", "US$26.00"),
        ("en", "1234.5", "EUR", "€1,234.50"),
        ("en", "1234567", "KRW", "₩1,234,567"),
    ],
)
def test_money_filter(language, amount, currency, expected):
    template = Template("{% load shop_tags %}{{ amount|money:currency }}")
    with translation.override(language):
        assert template.render(Context({"amount": Decimal(amount), "currency": currency})) == expected


def test_korean_pages_render_korean_strings(client):
    product = ProductFactory(title="Linen shirt", category=category("top"), price=Decimal("12900"))
    usd = ProductFactory(
        title="Denim jacket", category=category("outer"), price=Decimal("26"), currency="USD"
    )
    html = client.get("/ko/").content.decode()
    assert '<html lang="ko">' in html
    assert "필터" in html and "전체 상품" in html and "상품 2개" in html and "상의" in html
    assert "₩12,900" in html and "US$26.00" in html
    assert "Filters" not in html
    detail = client.get(f"/ko/products/{product.pk}/").content.decode()
    assert "재고 있음" in detail and "판매처" in detail and "₩12,900" in detail
    english = client.get(f"/products/{usd.pk}/").content.decode()
    assert "In stock" in english and "$26.00" in english and "US$" not in english


def test_language_switcher_posts_with_csrf_and_switches(client):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    page = csrf_client.get(reverse("shop:product_list"))
    token = page.context["csrf_token"]
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    # Without the token the switch is refused; with it, the shopper lands on the Korean page.
    assert csrf_client.post("/i18n/setlang/", {"language": "ko", "next": "/"}).status_code == 403
    response = csrf_client.post(
        "/i18n/setlang/", {"language": "ko", "next": "/", "csrfmiddlewaretoken": str(token)}
    )
    assert response.status_code == 302 and response["Location"] == "/ko/"


# --- The Korean catalogue (locale/ko): complete, compiled, and used by every page ---------

PO_PATH = settings.BASE_DIR / "locale" / "ko" / "LC_MESSAGES" / "django.po"
# Words that stay in Latin letters on a Korean page: the shop's logo, file formats, units,
# the key shortcut, the photos' licence (CC0) and the switcher's English button.
LATIN_ALLOWED = {"Lookalike", "JPEG", "PNG", "WebP", "GIF", "MB", "Ctrl", "CC", "English", "US"}


def _catalog():
    from babel.messages.pofile import read_po

    with PO_PATH.open("rb") as handle:
        return read_po(handle, locale="ko")


def test_korean_po_has_no_untranslated_or_fuzzy_entries_and_keeps_placeholders():
    catalog = _catalog()
    messages = [m for m in catalog if m.id]
    assert len(messages) > 200  # the real file, not an empty one
    untranslated = [
        m.id for m in messages if not all(m.string if isinstance(m.string, tuple) else [m.string])
    ]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert untranslated == [] and fuzzy == [], (untranslated, fuzzy)
    # %(name)s placeholders must survive translation, or formatting breaks at run time.
    for message in messages:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(re.findall(r"%\(\w+\)[sd]", ids[-1]))
        for string in strings:
            assert set(re.findall(r"%\(\w+\)[sd]", string)) == wanted, message.id


def test_committed_mo_matches_the_po():
    """CI has no gettext to compile the catalogue, so the committed .mo must be current."""
    with PO_PATH.with_suffix(".mo").open("rb") as handle:
        compiled = gettext_module.GNUTranslations(handle)
    stale = []
    for message in _catalog():
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            got = compiled.ngettext(message.id[0], message.id[1], 1)
            expected = message.string[0]
        else:
            got = (
                compiled.gettext(message.id)
                if not message.context
                else compiled.pgettext(message.context, message.id)
            )
            expected = message.string
        if got != expected:
            stale.append(message.id)
    assert stale == [], f"Run manage.py compilemessages: {len(stale)} entries differ, e.g. {stale[:3]}"


class _VisibleText(HTMLParser):
    """Text a shopper sees or hears: text nodes and alt/title/placeholder/aria-label."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "style"}:
            self._skip += 1
        for name, value in attrs:
            if name in {"alt", "title", "placeholder", "aria-label"} and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in {"script", "style"}:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def _english_left(html: str, *, data: tuple[str, ...] = ()) -> list[str]:
    """Latin words on a Korean page that are not shop data (titles, brands) or allowed."""
    parser = _VisibleText()
    parser.feed(html)
    text = " ".join(parser.parts)
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, " ")
    return [w for w in re.findall(r"[A-Za-z]{2,}", text) if w not in LATIN_ALLOWED]


def test_find_similar_upload_page_is_korean(client):
    html = client.get("/ko/find-similar/").content.decode()
    assert "비슷한 상품 찾기" in html and "사진 선택" in html and "올리고" in html
    assert _english_left(html) == []
    # The check itself finds English: the same page without the /ko/ prefix.
    assert "Choose" in _english_left(client.get("/find-similar/").content.decode())


def test_product_page_with_alternatives_is_korean(client, settings):
    from recommender.services import embedding_compute_batch

    settings.RECOMMENDER_MAX_DISTANCE = 2.0  # flat-colour photos: keep every neighbour

    products = [
        photo_product("Red top", (200, 30, 30), 20000),
        photo_product("Cheap red top", (190, 40, 35), 15000),
    ]
    products.append(photo_product("Dear top", (30, 160, 30), 40000))
    # The demo's own source: its name is ours, so the page says it in Korean.
    products[0].source = SourceFactory(slug=settings.SHOP_DEMO_SOURCE_SLUG, name="Demo catalogue")
    products[0].save()
    embedding_compute_batch(product_ids=[p.pk for p in products])
    response = client.get(f"/ko/products/{products[0].pk}/")
    html = response.content.decode()
    assert [a["product"].pk for a in response.context["alternatives"]]  # the section has items
    assert "비슷한 상품" in html and "유사도 " in html and "더 저렴한 상품만" in html
    assert "₩5,000 더 저렴" in html  # the cheaper red top, 5,000 won below this one
    assert "판매처</dt><dd>데모 카탈로그</dd>" in html and "Demo catalogue" not in html
    data = tuple(p.title for p in products) + tuple(
        n for p in products for n in (p.brand.name if p.brand else "", p.source.name) if n
    )
    assert _english_left(html, data=data) == []


def test_find_similar_result_and_csrf_pages_are_korean(
    client, settings, tmp_path, django_capture_on_commit_callbacks
):
    from django.core.cache import cache
    from django.test import Client

    from recommender.services import embedding_compute_batch

    cache.clear()  # django-ratelimit counts uploads in the cache
    # No segmenter weights: the page searches the main object and says so (no model needed).
    settings.RECOMMENDER_SEGMENTER = str(tmp_path / "no-weights-here")
    products = [
        ProductFactory(
            title=f"Shirt {i}",
            category=category("top"),
            image=ContentFile(jpeg_bytes(colour, size=(60, 80)), name=f"s{i}.jpg"),
            image_sha256=f"s{i}",
        )
        for i, colour in enumerate([(200, 30, 30), (30, 30, 200)])
    ]
    embedding_compute_batch(product_ids=[p.pk for p in products])
    photo = Image.new("RGB", (160, 200), (235, 235, 235))
    photo.paste((200, 30, 30), (40, 40, 120, 160))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/ko/find-similar/", {"photo": SimpleUploadedFile("p.jpg", buffer.getvalue(), "image/jpeg")}
        )
    assert response.status_code == 302 and response["Location"].startswith("/ko/find-similar/")
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and "fs-card-title" in html
    assert "비슷한 상품: 사진 속 주요 대상" in html and "윤곽선으로 표시했습니다" in html
    assert "의류 감지를 사용할 수 없습니다" in html and "색상 차트" in html
    data = tuple(p.title for p in products) + tuple(
        n for p in products for n in (p.brand.name if p.brand else "", p.source.name) if n
    )
    # R, G and B label the colour charts' rows; the legend above spells them out in Korean.
    assert [w for w in _english_left(html, data=data) if w not in {"R", "G", "B"}] == []

    refused = Client(enforce_csrf_checks=True).post("/ko/find-similar/", {})
    html = refused.content.decode()
    assert refused.status_code == 403 and "다시 시도해 주세요" in html and "쿠키를 차단" in html
    assert _english_left(html) == []


def test_a_failed_detection_is_shown_in_each_readers_language(client, settings, tmp_path):
    """The failure is stored once (by a worker, in no particular language) and read by
    shoppers in either language."""
    from find_similar.models import QueryImage
    from find_similar.uploads import upload_create, upload_segment
    from shop.images import image_decode

    settings.RECOMMENDER_SEGMENTER = str(tmp_path / "no-weights-here")
    photo = Image.new("RGB", (80, 100), (235, 235, 235))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG")
    with translation.override("ko"):  # as if segmented eagerly inside a Korean request
        # Its detection task is queued on commit, which never comes in this test.
        upload, _created = upload_create(
            decoded=image_decode(buffer.getvalue()), size_bytes=len(buffer.getvalue())
        )
        upload.image.storage.delete(upload.image.name)  # the photo vanished from storage
        upload_segment(upload=upload)
    assert upload.status == QueryImage.Status.FAILED
    korean = client.get(f"/ko/find-similar/{upload.pk}/").content.decode()
    english = client.get(f"/find-similar/{upload.pk}/").content.decode()
    assert "이 사진에서 의류를 찾는 중 문제가 생겼습니다" in korean and "Something went wrong" not in korean
    assert "Something went wrong while looking for garments on this photo." in english
