"""What operators touch: schedules kept in django-celery-beat, the admin, the crawl command."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django_celery_beat.models import PeriodicTask

from crawler.models import CrawlProfile, CrawlRun, cron_validate
from crawler.services import source_schedule_sync
from crawler.sources.musinsa import MusinsaAdapter
from shop.models import Product

pytestmark = pytest.mark.django_db


def test_schedule_creates_updates_and_removes_one_periodic_task(make_source):
    source = make_source("shopify", "https://shop.example", schedule="0 3 * * *", currency="USD")
    source_schedule_sync(source=source)
    task = PeriodicTask.objects.get()
    assert (task.task, json.loads(task.args), task.queue, task.enabled) == (
        "crawler.tasks.crawl_source",
        [source.pk],
        "crawl",
        True,
    )
    assert (task.crontab.minute, task.crontab.hour) == ("0", "3")

    source.schedule = "30 */6 * * 1-5"
    source_schedule_sync(source=source)
    task = PeriodicTask.objects.get()  # still exactly one
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("30", "*/6", "1-5")

    source.enabled = False
    source_schedule_sync(source=source)
    assert not PeriodicTask.objects.exists()
    source.refresh_from_db()
    assert source.periodic_task is None


@pytest.mark.parametrize("value", ["0 3 * *", "61 * * * *", "every night"])
def test_invalid_schedules_are_refused_with_an_example(value):
    with pytest.raises(ValidationError) as info:
        cron_validate(value)
    assert "'" in str(info.value)  # the message shows an example expression


@pytest.fixture
def musinsa(shop_server, make_source):
    for page in (1, 2):
        path = MusinsaAdapter.page_url(base="", category="001", page=page, size=3)
        shop_server.fixture(path, f"musinsa_page{page}.json", content_type="application/json")
    return make_source("musinsa", shop_server.base, start_urls="001", page_size=3)


def test_crawl_command_crawls_and_reports(musinsa, capsys):
    call_command("crawl", "musinsa-test", "--pages", "1")
    out = capsys.readouterr()
    assert "musinsa-test: Finished with errors - 1 pages, 2 new" in out.out
    assert "The price is missing." in out.out
    assert "page" in out.err  # the tqdm bar
    assert Product.objects.count() == 2
    assert CrawlRun.objects.get().complete is False  # stopped by --pages


def test_crawl_command_explains_an_unknown_source(musinsa):
    with pytest.raises(CommandError, match="There is no source 'nope'. Known sources: musinsa-test."):
        call_command("crawl", "nope")


@pytest.fixture
def admin_client_csrf(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    return client


def test_admin_crawl_now_needs_a_csrf_token_and_runs_the_crawl(
    musinsa, admin_client_csrf, django_capture_on_commit_callbacks
):
    url = "/admin/crawler/crawlprofile/"
    post = {"action": "crawl_now", "_selected_action": [musinsa.pk]}
    assert admin_client_csrf.post(url, post).status_code == 403  # no token
    admin_client_csrf.get(url)
    token = admin_client_csrf.cookies["csrftoken"].value
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_csrf.post(url, {**post, "csrfmiddlewaretoken": token}, follow=True)
    assert "A crawl of 1 source was queued" in response.content.decode()
    run = CrawlRun.objects.get()  # eager Celery here: the crawl ran in-process
    assert (run.source, run.products_new) == (musinsa, 4)

    page = admin_client_csrf.get(f"/admin/crawler/crawlrun/{run.pk}/change/").content.decode()
    assert "The price is missing." in page and "https://www.musinsa.com/products/3012347" in page


def test_crawl_now_is_not_available_to_non_staff(musinsa, django_user_model, client):
    user = django_user_model.objects.create_user("shopper", password="pw-123456789")
    client.force_login(user)
    response = client.post(
        "/admin/crawler/crawlprofile/", {"action": "crawl_now", "_selected_action": [musinsa.pk]}
    )
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not CrawlRun.objects.exists()


def test_admin_saving_a_source_syncs_its_schedule(admin_client):
    response = admin_client.post(
        "/admin/crawler/crawlprofile/add/",
        {
            "name": "Nightly shop",
            "slug": "nightly",
            "kind": "shopify",
            "enabled": "on",
            "base_url": "https://shop.example",
            "start_urls": "",
            "currency": "USD",
            "schedule": "15 2 * * *",
            "rate_limit": "1",
            "concurrency": "2",
            "pages_per_run": "5",
            "page_size": "60",
            "inactivate_after_missed_runs": "3",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    source = CrawlProfile.objects.get(slug="nightly")
    assert source.periodic_task.crontab.hour == "2"
    response = admin_client.post(f"/admin/crawler/crawlprofile/{source.pk}/delete/", {"post": "yes"})
    assert not PeriodicTask.objects.exists()


def test_source_changelist_query_count_does_not_grow_with_sources(
    admin_client, make_source, django_assert_max_num_queries
):
    from crawler.models import CrawlRun as Run

    for i in range(5):
        source = CrawlProfile.objects.create(
            name=f"S{i}", slug=f"s{i}", kind="shopify", base_url="https://x.example"
        )
        Run.objects.create(source=source, status="succeeded")
    with django_assert_max_num_queries(8):
        page = admin_client.get("/admin/crawler/crawlprofile/").content.decode()
    assert page.count("Succeeded") >= 5


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"kind": "musinsa", "start_urls": "tops"}, "start_urls", "category codes"),
        ({"kind": "schemaorg", "start_urls": "ftp://x/sitemap.xml"}, "start_urls", "http(s) URL"),
        ({"kind": "shopify", "base_url": "https://x.example"}, "currency", "no currency"),
        ({"kind": "shopify", "base_url": "https://x.example", "currency": "usd"}, "currency", "capitals"),
    ],
)
def test_source_validation_says_what_to_enter(fields, field, message):
    source = CrawlProfile(name="x", slug="x", **fields)
    with pytest.raises(ValidationError) as info:
        source.full_clean()
    assert message in " ".join(info.value.message_dict[field])
