"""Crawling a Musinsa-shaped JSON listing from the loopback shop, end to end into the catalogue."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from crawler.models import CrawlRun, Listing
from crawler.services import crawl_run_execute
from crawler.sources.musinsa import MusinsaAdapter
from shop.models import PriceHistory, Product
from tests.crawler.conftest import FIXTURES, Reply

pytestmark = pytest.mark.django_db


def page_path(page: int, category: str = "001", size: int = 3) -> str:
    return MusinsaAdapter.page_url(base="", category=category, page=page, size=size)


@pytest.fixture
def musinsa(shop_server, make_source):
    shop_server.fixture(page_path(1), "musinsa_page1.json", content_type="application/json")
    shop_server.fixture(page_path(2), "musinsa_page2.json", content_type="application/json")
    return make_source("musinsa", shop_server.base, start_urls="001", page_size=3)


def catalogue(source):
    return {
        p.external_id: (
            p.title,
            p.price,
            p.currency,
            p.in_stock,
            p.brand.name if p.brand else "",
            p.is_active,
        )
        for p in Product.objects.filter(source=source).select_related("brand")
    }


def test_first_crawl_stores_the_exact_products_prices_and_images(musinsa, shop_server):
    run = crawl_run_execute(source_id=musinsa.pk)

    assert catalogue(musinsa) == {
        "3012345": ("Oversized Cotton T-Shirt", Decimal("27300.00"), "KRW", True, "Covernat", True),
        "3012346": ("Heavy Hoodie", Decimal("89000.00"), "KRW", False, "thisisneverthat", True),
        "3012348": ("Striped Long Sleeve", Decimal("45000.00"), "KRW", True, "Covernat", True),
        "3012349": ("Pocket Tee", Decimal("19900.00"), "KRW", True, "Covernat", True),
    }
    hoodie = Product.objects.get(external_id="3012346")
    # Relative product link and protocol-relative thumbnail resolved against the listing.
    assert hoodie.product_url == shop_server.url("/products/3012346")
    assert hoodie.image_url == shop_server.url("/img/blue.png")
    assert hoodie.category.slug == "top"  # category code 001
    assert all(p.image and p.image_sha256 and p.needs_embedding for p in Product.objects.all())

    assert (run.status, run.complete, run.pages_fetched, run.pages_failed) == ("partial", True, 2, 0)
    assert (run.products_new, run.products_updated, run.products_unchanged, run.products_failed) == (
        4,
        0,
        0,
        1,
    )
    assert run.errors == [
        {"url": "https://www.musinsa.com/products/3012347", "reason": "The price is missing."}
    ]
    assert run.images_stored == 4
    assert run.images_duplicate == 1  # 3012349 uses the same red picture as 3012345
    assert set(run.timings) >= {"politeness_wait_s", "network_s", "parse_s", "write_s", "total_s"}
    # The crawler identifies itself on every request.
    assert all("LookalikeBot" in hit.headers["user-agent"] for hit in shop_server.hits)


def test_recrawl_is_idempotent_and_does_not_download_images_again(musinsa, shop_server):
    crawl_run_execute(source_id=musinsa.pk)
    before = catalogue(musinsa)
    image_hits = len([h for h in shop_server.hits if h.path.startswith("/img/")])

    run = crawl_run_execute(source_id=musinsa.pk)

    assert catalogue(musinsa) == before
    assert Product.objects.count() == 4
    assert PriceHistory.objects.count() == 4
    assert Listing.objects.count() == 4
    assert (run.products_new, run.products_updated, run.products_unchanged) == (0, 0, 4)
    assert len([h for h in shop_server.hits if h.path.startswith("/img/")]) == image_hits
    assert run.images_stored == 0


def test_price_and_availability_changes_are_updated_and_kept_as_history(musinsa, shop_server):
    crawl_run_execute(source_id=musinsa.pk)
    tee = Product.objects.get(external_id="3012345")
    tee_image = tee.image.name
    Product.objects.update(needs_embedding=False)  # as if the recommender had embedded them

    data = json.loads((FIXTURES / "musinsa_page1.json").read_text().replace("{base}", shop_server.base))
    data["data"]["list"][0]["price"] = 23400  # bigger discount
    data["data"]["list"][0]["isSoldOut"] = True
    data["data"]["list"][1]["isSoldOut"] = False  # hoodie restocked
    data["data"]["list"][1]["thumbnail"] = f"{shop_server.base}/img/green.png"  # new picture
    shop_server.route(page_path(1), body=json.dumps(data), content_type="application/json")

    run = crawl_run_execute(source_id=musinsa.pk)

    assert (run.products_new, run.products_updated, run.products_unchanged) == (0, 2, 2)
    tee.refresh_from_db()
    assert (tee.price, tee.in_stock, tee.is_active) == (Decimal("23400.00"), False, True)  # sold out stays
    assert tee.image.name == tee_image and not tee.needs_embedding  # same picture: not re-embedded
    assert list(tee.price_history.order_by("recorded_at").values_list("price", "in_stock")) == [
        (Decimal("27300.00"), True),
        (Decimal("23400.00"), False),
    ]
    hoodie = Product.objects.get(external_id="3012346")
    assert hoodie.in_stock and hoodie.needs_embedding  # new picture -> embed again
    assert hoodie.image_url.endswith("/img/green.png")
    assert run.images_stored == 1


def test_products_missing_for_n_complete_runs_become_inactive_never_deleted(musinsa, shop_server):
    musinsa.inactivate_after_missed_runs = 2
    musinsa.save()
    crawl_run_execute(source_id=musinsa.pk)
    data = json.loads((FIXTURES / "musinsa_page2.json").read_text().replace("{base}", shop_server.base))
    pocket = data["data"]["list"].pop()  # "Pocket Tee" leaves the shop
    shop_server.route(page_path(2), body=json.dumps(data), content_type="application/json")

    crawl_run_execute(source_id=musinsa.pk)
    assert Product.objects.get(external_id="3012349").is_active  # one miss: still shown
    run = crawl_run_execute(source_id=musinsa.pk)
    gone = Product.objects.get(external_id="3012349")
    assert not gone.is_active and run.products_inactivated == 1
    assert Product.objects.filter(is_active=True).count() == 3

    data["data"]["list"].append(pocket)  # back in the shop
    shop_server.route(page_path(2), body=json.dumps(data), content_type="application/json")
    crawl_run_execute(source_id=musinsa.pk)
    gone.refresh_from_db()
    assert gone.is_active and gone.listing.missed_runs == 0


def test_an_incomplete_run_does_not_count_misses(musinsa, shop_server):
    musinsa.inactivate_after_missed_runs = 1
    musinsa.save()
    crawl_run_execute(source_id=musinsa.pk)
    shop_server.route(page_path(2), status=500)
    run = crawl_run_execute(source_id=musinsa.pk)
    assert run.status == "partial" and not run.complete
    assert run.errors[-1]["reason"].startswith("The server answered HTTP 500 after 3 attempt")
    assert Product.objects.filter(is_active=True).count() == 4  # page 2's products were not "missed"


def test_endless_pagination_is_stopped_by_repeat_detection_and_the_page_cap(shop_server, make_source):
    # Page 2 says there is always a next page, and every later page repeats page 2.
    text = (FIXTURES / "musinsa_page2.json").read_text().replace("{base}", shop_server.base)
    endless = text.replace('"hasNext": false', '"hasNext": true')
    shop_server.fixture(page_path(1), "musinsa_page1.json", content_type="application/json")
    for page in range(2, 8):
        shop_server.route(page_path(page), body=endless, content_type="application/json")
    source = make_source("musinsa", shop_server.base, start_urls="001", page_size=3)

    run = crawl_run_execute(source_id=source.pk)
    assert run.pages_fetched == 3
    assert "repeats" in run.errors[-1]["reason"]
    assert Product.objects.count() == 4

    # Different content on every page, forever: the page cap ends it.
    for page in range(2, 8):
        shop_server.route(
            page_path(page), body=endless.replace("3012348", f"99{page}"), content_type="application/json"
        )
    run = crawl_run_execute(source_id=source.pk, max_pages=4)
    assert run.pages_fetched == 4 and not run.complete
    assert "page cap (4 pages)" in run.errors[-1]["reason"]


def test_malformed_json_fails_that_page_and_the_run_goes_on(shop_server, make_source):
    shop_server.fixture(page_path(1, "002"), "musinsa_malformed.json", content_type="application/json")
    shop_server.fixture(page_path(1), "musinsa_page1.json", content_type="application/json")
    shop_server.fixture(page_path(2), "musinsa_page2.json", content_type="application/json")
    source = make_source("musinsa", shop_server.base, start_urls="002\n001", page_size=3)

    run = crawl_run_execute(source_id=source.pk)

    assert run.errors[0]["url"] == shop_server.url(page_path(1, "002"))
    assert run.errors[0]["reason"].startswith("The listing is not valid JSON")
    assert (run.pages_failed, run.products_new) == (1, 4)
    assert run.status == "partial"


def test_429_with_retry_after_then_success(shop_server, make_source):
    shop_server.route(
        page_path(1),
        Reply(status=429, headers={"Retry-After": "1"}, content_type="application/json"),
        Reply(
            body=(FIXTURES / "musinsa_page2.json").read_text().replace("{base}", shop_server.base),
            content_type="application/json",
        ),
    )
    source = make_source("musinsa", shop_server.base, start_urls="001", page_size=3)
    run = crawl_run_execute(source_id=source.pk)
    assert run.status == "succeeded"
    assert (run.products_new, run.timings["retries"]) == (2, 1)


def test_a_killed_run_leaves_consistent_data_and_the_next_run_completes_it(musinsa, shop_server):
    class Killed(BaseException):
        """Stands in for SIGKILL: not an Exception, so nothing in the crawler catches it."""

    def kill_after_first_page(run):
        raise Killed

    with pytest.raises(Killed):
        crawl_run_execute(source_id=musinsa.pk, progress=kill_after_first_page)

    # Page 1 is fully written (products, listings, images); page 2 not at all.
    assert sorted(Product.objects.values_list("external_id", flat=True)) == ["3012345", "3012346"]
    assert Listing.objects.count() == 2 and all(p.image for p in Product.objects.all())
    assert CrawlRun.objects.get().status == "running"

    run = crawl_run_execute(source_id=musinsa.pk)
    assert CrawlRun.objects.order_by("started_at").first().status == "interrupted"
    assert (run.products_new, run.products_unchanged) == (2, 2)
    assert Product.objects.count() == 4 and PriceHistory.objects.count() == 4


def test_robots_txt_disallowing_the_listing_is_recorded(shop_server, make_source):
    shop_server.route("/robots.txt", body="User-agent: *\nDisallow: /api2/\n", content_type="text/plain")
    source = make_source("musinsa", shop_server.base, start_urls="001", page_size=3)
    run = crawl_run_execute(source_id=source.pk)
    assert run.status == "failed"
    assert run.errors == [
        {"url": shop_server.url(page_path(1)), "reason": "robots.txt does not allow crawling this URL."}
    ]
    assert not [h for h in shop_server.hits if h.path.startswith("/api2/")]


def test_an_image_changed_at_the_same_url_is_found_by_a_conditional_request(shop_server, make_source):
    from tests.crawler.conftest import png_bytes

    shop_server.fixture(page_path(1), "musinsa_page2.json", content_type="application/json")
    shop_server.route(
        "/img/green.png", body=png_bytes((30, 160, 60)), content_type="image/png", headers={"ETag": '"g1"'}
    )
    source = make_source("musinsa", shop_server.base, start_urls="001", page_size=3)
    crawl_run_execute(source_id=source.pk)
    shirt = Product.objects.get(external_id="3012348")
    old_sha = shirt.image_sha256
    Product.objects.update(needs_embedding=False)

    run = crawl_run_execute(source_id=source.pk)  # same ETag: 304, nothing stored
    assert shop_server.hits_for("/img/green.png")[-1].headers["if-none-match"] == '"g1"'
    assert run.images_stored == 0 and len(shop_server.hits_for("/img/green.png")) == 2

    shop_server.route(
        "/img/green.png", body=png_bytes((0, 90, 20)), content_type="image/png", headers={"ETag": '"g2"'}
    )
    run = crawl_run_execute(source_id=source.pk)
    shirt.refresh_from_db()
    assert run.images_stored == 1
    assert shirt.image_sha256 != old_sha and shirt.needs_embedding
    # The pocket tee's image has no validators: never fetched again.
    assert len(shop_server.hits_for("/img/red.png")) == 1


def test_an_image_that_is_not_an_image_is_flagged_and_the_product_kept(shop_server, make_source):
    shop_server.fixture(page_path(1), "musinsa_page2.json", content_type="application/json")
    shop_server.route("/img/green.png", body=b"\x89PNG\r\n\x1a\n broken", content_type="image/png")
    source = make_source("musinsa", shop_server.base, start_urls="001", page_size=3)
    run = crawl_run_execute(source_id=source.pk)
    shirt = Product.objects.get(external_id="3012348")
    assert not shirt.image and shirt.image_error
    assert run.images_failed == 1 and run.products_new == 2
    assert run.errors == [{"url": shop_server.url("/img/green.png"), "reason": f"Image: {shirt.image_error}"}]


def test_a_source_on_a_loopback_address_is_refused_outside_tests(musinsa, shop_server, settings):
    settings.CRAWLER_ALLOW_LOOPBACK = False
    run = crawl_run_execute(source_id=musinsa.pk)
    assert run.status == "failed" and Product.objects.count() == 0
    assert "non-public address 127.0.0.1" in run.errors[0]["reason"]
    assert shop_server.hits == []


REFUSED = (
    "Musinsa refuses automated clients ({why}), so this run stopped. Use Musinsa's product feed or "
    "partner API instead, and import the feed with `python manage.py import_catalog FILE --source SLUG`."
)
CHALLENGE_PAGE = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
    "<div id='challenge-running'>Checking if the site connection is secure</div>"
    "<script src='/cdn-cgi/challenge-platform/h/b/orchestrate/jsch/v1'></script></body></html>"
)


def test_a_403_is_one_clear_run_error_not_a_failure_per_page(shop_server, make_source):
    for code in ("001", "002", "003"):
        shop_server.route(page_path(1, code), status=403, body="Forbidden", content_type="text/plain")
    source = make_source("musinsa", shop_server.base, start_urls="001\n002\n003", page_size=3)

    run = crawl_run_execute(source_id=source.pk)

    assert run.status == "failed"
    assert run.errors == [
        {"url": shop_server.base, "reason": REFUSED.format(why="its API answered HTTP 403")}
    ]
    # The run stopped at the first refusal instead of asking for every category.
    assert [h.path for h in shop_server.hits if h.path.startswith("/api2/")] == [page_path(1, "001")]


def test_a_bot_check_page_instead_of_json_is_one_clear_run_error(shop_server, make_source):
    shop_server.route(page_path(1), body=CHALLENGE_PAGE, content_type="text/html; charset=utf-8")
    shop_server.route(page_path(1, "002"), body=CHALLENGE_PAGE, content_type="text/html; charset=utf-8")
    source = make_source("musinsa", shop_server.base, start_urls="001\n002", page_size=3)

    run = crawl_run_execute(source_id=source.pk)

    assert run.status == "failed"
    assert run.errors == [
        {
            "url": shop_server.base,
            "reason": REFUSED.format(why="its API sent a bot-check page instead of data"),
        }
    ]
    assert Product.objects.count() == 0
