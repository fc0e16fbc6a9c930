"""Whole pages for visitors with no session (shop/middleware.py): a second visitor gets the
stored page with a CSRF token of their own, every committed change the page shows (a price,
a rate, a vector, a brand) shows at once, and nothing of one visitor reaches another."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.test import Client
from django.utils import timezone

from recommender.models import Embedding
from recommender.services import embedding_compute_batch
from shop.fragments import CATALOGUE_VERSION_KEY, catalogue_version
from shop.middleware import CSRF_PLACEHOLDER, HIT_HEADER, page_entry
from shop.models import Brand, ExchangeRate, Product
from tests.shop.factories import ProductFactory, jpeg_bytes, photo_product

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(autouse=True)
def page_cache(settings):
    settings.SHOP_PAGE_CACHE_SECONDS = 600
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def catalogue(settings):
    settings.RECOMMENDER_MAX_DISTANCE = 2.0
    items = {
        "main": photo_product("Red top", (200, 30, 30), 20000),
        "red": photo_product("Other red top", (190, 40, 35), 15000),
        "blue": photo_product("Blue top", (30, 30, 200), 9000),
    }
    embedding_compute_batch(product_ids=[p.pk for p in items.values()])
    return items


def _without_tokens(html: str) -> str:
    return TOKEN.sub("", html)


def test_a_second_visitor_gets_the_stored_page_with_a_csrf_token_of_their_own(catalogue):
    url = catalogue["main"].get_absolute_url()
    first = Client().get(url)
    assert first[HIT_HEADER] == "miss"
    second_visitor = Client(enforce_csrf_checks=True)
    second = second_visitor.get(url)
    assert second[HIT_HEADER] == "hit"
    html = second.content.decode()
    assert _without_tokens(html) == _without_tokens(first.content.decode())
    assert "Other red top" in html and CSRF_PLACEHOLDER.decode() not in html
    # Both forms (the language switcher, "Find similar to this look") carry the second
    # visitor's token, not the first's, and it goes with the cookie they were given.
    tokens = TOKEN.findall(html)
    assert len(tokens) == 2 and not set(tokens) & set(TOKEN.findall(first.content.decode()))
    assert "csrftoken" in second.cookies
    response = second_visitor.post("/i18n/setlang/", {"language": "ko", "csrfmiddlewaretoken": tokens[0]})
    assert response.status_code == 302


def test_a_stored_page_costs_no_query(client, catalogue, django_assert_num_queries):
    url = catalogue["main"].get_absolute_url()
    client.get(url)
    client.get("/?q=top")
    with django_assert_num_queries(0):
        assert client.get(url)[HIT_HEADER] == "hit"
        assert client.get("/?q=top")[HIT_HEADER] == "hit"


def test_pages_are_stored_per_url_language_and_currency(client, catalogue):
    url = catalogue["main"].get_absolute_url()
    ExchangeRate.objects.create(base="USD", currency="KRW", rate=Decimal(1000), as_of=timezone.localdate())
    english = client.get(url).content.decode()
    korean = client.get("/ko" + url)
    assert korean[HIT_HEADER] == "miss" and "Similar alternatives" not in korean.content.decode()
    dollars = client.get(url + "?currency=USD")
    assert dollars[HIT_HEADER] == "miss" and "$20.00" in dollars.content.decode() and "$20.00" not in english
    # The same query in another order is the same page; any other parameter is another page.
    assert client.get("/?q=top&price_max=30000")[HIT_HEADER] == "miss"
    assert client.get("/?price_max=30000&q=top")[HIT_HEADER] == "hit"
    assert client.get("/?price_max=30000&q=top&page=2")[HIT_HEADER] == "miss"
    assert client.get("/ko" + url)[HIT_HEADER] == "hit"


def test_pages_are_stored_per_host(client, settings, catalogue):
    settings.ALLOWED_HOSTS = ["testserver", "shop.example.com"]
    assert client.get("/")[HIT_HEADER] == "miss"
    assert client.get("/", HTTP_HOST="shop.example.com")[HIT_HEADER] == "miss"
    assert client.get("/", HTTP_HOST="shop.example.com")[HIT_HEADER] == "hit"


# The tests of changes commit them for real (transaction=True): the version changes after a
# commit, and a test's own transaction never commits.
committing = pytest.mark.django_db(transaction=True)


@committing
def test_a_price_change_shows_after_its_commit_not_before(client, catalogue):
    url = catalogue["main"].get_absolute_url()
    assert "₩20,000" in client.get(url).content.decode()
    version = catalogue_version()
    with transaction.atomic():
        # A bulk update sends no signal: the write is seen where it reaches the database.
        Product.objects.filter(pk=catalogue["main"].pk).update(price=Decimal(18000))
        # Not committed yet: a page rendered now, from the old row, must not be stored under
        # a version that only the commit makes current.
        assert cache.get(CATALOGUE_VERSION_KEY) == version
    assert catalogue_version() != version
    response = client.get(url)
    assert response[HIT_HEADER] == "miss" and "₩18,000" in response.content.decode()
    # The browse page too, and a cheaper alternative's price.
    assert "₩18,000" in client.get("/").content.decode()
    Product.objects.filter(pk=catalogue["red"].pk).update(price=Decimal(11000))
    assert "₩11,000" in client.get(url).content.decode()


@committing
def test_a_new_exchange_rate_shows_at_once(client, catalogue):
    url = catalogue["main"].get_absolute_url() + "?currency=USD"
    assert "$20.00" not in client.get(url).content.decode()
    ExchangeRate.objects.create(base="USD", currency="KRW", rate=Decimal(1000), as_of=timezone.localdate())
    assert "$20.00" in client.get(url).content.decode()


@committing
def test_a_changed_vector_shows_at_once(client, catalogue):
    main = catalogue["main"]
    html = client.get(main.get_absolute_url()).content.decode()
    assert html.index("Other red top") < html.index("Blue top")
    # A new photo, embedded as the index task does: the nearest alternative is now the blue one.
    main.image.save("Red top, repainted.jpg", ContentFile(jpeg_bytes((30, 30, 200), size=(60, 80))))
    version = catalogue_version()
    embedding_compute_batch(product_ids=[main.pk])
    assert Embedding.objects.filter(product=main).exists() and catalogue_version() != version
    html = client.get(main.get_absolute_url()).content.decode()
    assert html.index("Blue top") < html.index("Other red top")


@committing
def test_a_renamed_brand_shows_at_once(client):
    product = ProductFactory(title="Oxford shirt", brand__name="Acme")
    assert "Acme" in client.get("/").content.decode()
    Brand.objects.filter(pk=product.brand_id).update(name="Acme Seoul")
    assert "Acme Seoul" in client.get("/").content.decode()


@committing
def test_a_write_rolled_back_to_a_savepoint_still_leaves_the_commit_a_bump():
    product = ProductFactory()
    version = catalogue_version()
    with transaction.atomic():
        try:
            with transaction.atomic():
                Product.objects.filter(pk=product.pk).update(price=Decimal(1))
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        Product.objects.filter(pk=product.pk).update(price=Decimal(2))
    assert catalogue_version() != version
    # A transaction rolled back as a whole changed nothing.
    version = catalogue_version()
    with pytest.raises(RuntimeError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(price=Decimal(3))
        raise RuntimeError("rolled back")
    assert catalogue_version() == version


@committing
def test_writes_to_other_tables_keep_the_pages(client):
    ProductFactory(title="Oxford shirt")
    client.get("/")
    Session.objects.create(session_key="x" * 32, session_data="", expire_date=timezone.now())
    assert client.get("/")[HIT_HEADER] == "hit"


def test_staff_and_visitors_with_messages_get_pages_rendered_for_them(client, catalogue):
    url = catalogue["main"].get_absolute_url()
    staff = get_user_model().objects.create_user("staff", password="x", is_staff=True)
    client.force_login(staff)
    response = client.get(url)
    assert HIT_HEADER not in response and response.status_code == 200
    # What staff were shown was not stored for the next visitor.
    assert Client().get(url)[HIT_HEADER] == "miss"
    assert HIT_HEADER not in client.get(url)
    visitor = Client()
    visitor.cookies["messages"] = "pending"
    assert HIT_HEADER not in visitor.get(url)


def test_only_successful_gets_of_the_listed_views_are_stored(client, catalogue):
    assert HIT_HEADER not in client.get("/products/999999/")
    assert HIT_HEADER not in client.head("/")
    assert HIT_HEADER not in client.get("/find-similar/")


def test_pages_render_when_the_cache_keeps_nothing(client, settings, catalogue):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    from django.core.cache import caches

    caches._settings = caches.settings = settings.CACHES
    try:
        del caches._connections.default
    except AttributeError:
        pass
    response = client.get(catalogue["main"].get_absolute_url())
    assert response.status_code == 200 and HIT_HEADER not in response


def test_a_page_whose_token_cannot_be_found_is_not_shared(rf):
    request = rf.get("/")
    token = get_token(request)
    # Found where a template puts it: kept, with the placeholder.
    headers, content, has_token = page_entry(request, HttpResponse(f'<input value="{token}">'))
    assert has_token and token.encode() not in content and CSRF_PLACEHOLDER in content
    # Written some other way (here in capitals): the page is not kept at all.
    assert page_entry(request, HttpResponse(f"<p>{token.upper()}</p>")) is None
    # No token made: kept as it is.
    headers, content, has_token = page_entry(rf.get("/"), HttpResponse("<p>Shop</p>"))
    assert content == b"<p>Shop</p>" and not has_token
