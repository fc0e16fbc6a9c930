"""import_catalog: good rows land, bad rows are reported by line, re-imports are idempotent."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from shop.feeds import COLUMNS
from shop.models import PriceHistory, Product, Source
from shop.services import catalog_import
from tests.shop.factories import SourceFactory, jpeg_bytes

GOOD = [
    dict(external_id="A1", title="Oxford shirt", brand="Hanul", category="top", price="39,000",
         image="img/a1.jpg"),
    dict(external_id="A2", title="Wide jeans", brand="Maru", category="pants", price="59000",
         image="img/a2.jpg", in_stock="false"),
    dict(external_id="A3", title="Rain jacket", brand="Maru", category="outer", price="26.00",
         currency="usd", image="img/a3.jpg", product_url="https://shop.example/a3"),
]  # fmt: skip


def _feed(folder: Path, rows: list[dict], name: str = "feed.csv", *, make_images: bool = True) -> Path:
    """Write the feed, and (unless told not to) a small JPEG for each row's img/ path."""
    (folder / "img").mkdir(exist_ok=True)
    for i, row in enumerate(rows):
        image = folder / row.get("image", "")
        if make_images and row.get("image", "").startswith("img/") and not image.exists():
            image.write_bytes(jpeg_bytes((i * 40 % 255, 100, 150)))
    path = folder / name
    if name.endswith(".csv"):
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def source(db):
    return SourceFactory(slug="feed-test")


def test_good_rows_land_with_images_and_prices(source, tmp_path):
    report = catalog_import(path=_feed(tmp_path, GOOD), source=source)
    assert (report.created, report.failed, report.images_stored) == (3, 0, 3)
    a1, a2, a3 = Product.objects.filter(source=source).order_by("external_id")
    assert a1.price == Decimal("39000") and a1.currency == "KRW" and a1.brand.name == "Hanul"
    assert a1.category.slug == "top" and a1.in_stock and a1.image and len(a1.image_sha256) == 64
    assert a1.needs_embedding
    assert not a2.in_stock and a2.category.slug == "pants"
    assert (
        a3.currency == "USD" and a3.price == Decimal("26.00") and a3.product_url == "https://shop.example/a3"
    )
    assert a2.brand_id == a3.brand_id  # one brand row per name


def test_reimport_changes_nothing_and_a_new_price_updates(
    source, tmp_path, django_capture_on_commit_callbacks
):
    path = _feed(tmp_path, GOOD)
    with django_capture_on_commit_callbacks() as queued:
        catalog_import(path=path, source=source)
    assert len(queued) == 1  # embedding of the new photos is queued after commit
    fields = ("external_id", "title", "brand", "category", "price", "currency", "in_stock", "image")
    before = list(Product.objects.order_by("external_id").values_list(*fields))

    with django_capture_on_commit_callbacks() as queued:
        again = catalog_import(path=path, source=source)
    assert queued == []  # nothing new to embed
    assert (again.created, again.updated, again.unchanged, again.images_stored) == (0, 0, 3, 0)
    # Only last_seen_at moves: the products were seen again.
    assert list(Product.objects.order_by("external_id").values_list(*fields)) == before
    assert Product.objects.count() == 3
    assert PriceHistory.objects.count() == 3

    changed = [dict(GOOD[0], price="35000"), *GOOD[1:]]
    report = catalog_import(path=_feed(tmp_path, changed), source=source)
    assert (report.updated, report.unchanged) == (1, 2)
    a1 = Product.objects.get(external_id="A1")
    assert a1.price == Decimal("35000")
    assert list(a1.price_history.order_by("recorded_at").values_list("price", flat=True)) == [
        Decimal("39000"),
        Decimal("35000"),
    ]


def test_a_changed_image_is_stored_and_marked_for_embedding(source, tmp_path):
    path = _feed(tmp_path, GOOD[:1])
    catalog_import(path=path, source=source)
    Product.objects.update(needs_embedding=False)
    old_sha = Product.objects.get().image_sha256
    (tmp_path / "img" / "a1.jpg").write_bytes(jpeg_bytes((0, 0, 255)))
    report = catalog_import(path=path, source=source)
    product = Product.objects.get()
    assert report.updated == 1 and report.images_stored == 1
    assert product.image_sha256 != old_sha and product.needs_embedding


def test_bad_rows_are_reported_by_line_and_good_rows_still_land(source, tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "corrupt.jpg").write_bytes(jpeg_bytes()[:200])
    (tmp_path / "img" / "text.jpg").write_bytes(b"this is not an image")
    base = dict(brand="B", category="top", price="1000")
    rows = [
        dict(base, external_id="ok1", title="Good tee", image="img/ok1.jpg"),  # line 2
        dict(base, external_id="b1", title="", image="img/b1.jpg"),  # line 3: no title
        dict(base, external_id="b2", title="Tee", price="abc", image="img/b2.jpg"),  # line 4
        dict(base, external_id="b3", title="Tee", price="-5", image="img/b3.jpg"),  # line 5
        dict(base, external_id="b4", title="Tee", category="spacesuit", image="img/b4.jpg"),  # line 6
        dict(base, external_id="b5", title="Tee", image="img/missing.jpg"),  # line 7
        dict(base, external_id="b6", title="Tee", image="img/corrupt.jpg"),  # line 8
        dict(base, external_id="b7", title="Tee", image="img/text.jpg"),  # line 9
        dict(base, external_id="b8", title="Tee", image="../../etc/passwd"),  # line 10
        dict(base, external_id="ok2", title="Good skirt", image="img/ok2.jpg", category="Skirt"),  # line 11
    ]
    for name in ("ok1", "ok2", "b1", "b2", "b3", "b4"):
        (tmp_path / "img" / f"{name}.jpg").write_bytes(jpeg_bytes())
    report = catalog_import(path=_feed(tmp_path, rows, make_images=False), source=source)

    assert sorted(Product.objects.values_list("external_id", flat=True)) == ["ok1", "ok2"]
    errors = dict(report.errors)
    assert sorted(errors) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert "title is missing" in errors[3]
    assert '"abc" is not a number' in errors[4]
    assert "negative" in errors[5]
    assert 'Unknown category "spacesuit"' in errors[6] and "top, outer" in errors[6]
    assert "does not exist" in errors[7]
    assert "damaged or incomplete" in errors[8]
    assert "not an image" in errors[9]
    assert "outside the feed's folder" in errors[10]
    # A row refused for its image leaves no product, brand or price row behind.
    assert not Product.objects.filter(external_id__in=["b5", "b6", "b7"]).exists()
    assert PriceHistory.objects.count() == 2


def test_json_lines_feed_reports_broken_lines(source, tmp_path):
    path = _feed(tmp_path, GOOD[:2], name="feed.jsonl")
    with open(path, "a") as fh:
        fh.write("\n{not json\n")
        fh.write('["a", "list"]\n')
    report = catalog_import(path=path, source=source)
    assert report.created == 2
    assert [line for line, _ in report.errors] == [4, 5]
    assert "not valid JSON" in report.errors[0][1]


def test_command_exits_non_zero_and_lists_bad_rows(db, tmp_path, capsys):
    rows = [*GOOD, dict(GOOD[0], external_id="bad", price="abc")]
    path = _feed(tmp_path, rows, name="my-shop.csv")
    with pytest.raises(CommandError, match="1 row"):
        call_command("import_catalog", str(path), "--no-progress")
    out, err = capsys.readouterr()
    assert "3 created" in out and "1 failed" in out
    assert "my-shop.csv, line 5:" in err and '"abc" is not a number' in err
    assert Source.objects.get(slug="my-shop").products.count() == 3


def test_command_succeeds_into_a_named_source(db, tmp_path, capsys):
    call_command("import_catalog", str(_feed(tmp_path, GOOD)), "--source", "acme", "--no-progress")
    assert Source.objects.get(slug="acme").products.count() == 3


def test_command_refuses_a_feed_without_required_columns(db, tmp_path):
    path = tmp_path / "feed.csv"
    path.write_text("id,name\n1,x\n")
    with pytest.raises(CommandError, match="no column external_id, title, category, price, image"):
        call_command("import_catalog", str(path), "--no-progress")
    with pytest.raises(CommandError, match="There is no file"):
        call_command("import_catalog", str(tmp_path / "nope.csv"))


class _ImageServer:
    """A real HTTP server on loopback serving two product photos, counting requests per path."""

    def __init__(self):
        import threading
        from collections import Counter
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        images = {"/img/red.jpg": jpeg_bytes((220, 20, 20)), "/img/blue.jpg": jpeg_bytes((20, 20, 220))}
        hits = self.hits = Counter()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                hits[self.path] += 1
                body = images.get(self.path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "image/jpeg" if body else "text/plain")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def image_server(settings, monkeypatch):
    import threading

    from config import fetching

    # The feed's shop is on loopback here; outside tests loopback and private hosts are refused.
    settings.CRAWLER_ALLOW_LOOPBACK = True
    settings.CRAWLER_DEFAULT_RATE_LIMIT = 0
    settings.CRAWLER_MAX_RETRIES = 0
    monkeypatch.setattr(fetching, "_default_fetchers", threading.local())  # a fetcher with these settings
    fetching.robots_cache_clear()
    server = _ImageServer()
    yield server
    server.server.shutdown()
    server.server.server_close()
    fetching.robots_cache_clear()


def test_image_urls_are_downloaded_once_and_unsafe_ones_refused(source, tmp_path, image_server):
    base = image_server.base
    rows = [
        dict(GOOD[0], image=f"{base}/img/red.jpg"),  # line 1
        dict(GOOD[1], image=f"{base}/img/blue.jpg"),  # line 2
        dict(GOOD[2], image=f"{base}/img/missing.jpg"),  # line 3: 404
        dict(GOOD[2], external_id="A4", image="http://10.1.2.3/private.jpg"),  # line 4: private address
    ]
    path = _feed(tmp_path, rows, name="feed.jsonl", make_images=False)
    report = catalog_import(path=path, source=source)
    assert (report.created, report.images_stored) == (2, 2)
    errors = dict(report.errors)
    assert sorted(errors) == [3, 4]
    assert "could not be downloaded" in errors[3]
    assert "non-public address" in errors[4]
    red = Product.objects.get(external_id="A1")
    assert red.image_url == f"{base}/img/red.jpg" and red.image
    assert image_server.hits["/img/red.jpg"] == 1

    # Same URLs again: the stored photos are kept, nothing is downloaded again.
    again = catalog_import(path=path, source=source)
    assert (again.unchanged, again.images_stored) == (2, 0)
    assert image_server.hits["/img/red.jpg"] == 1 and image_server.hits["/img/blue.jpg"] == 1


def test_a_feed_that_is_not_utf8_is_refused_with_advice(db, tmp_path):
    path = tmp_path / "legacy.csv"
    path.write_bytes(
        ",".join(COLUMNS).encode() + b"\nA1,\xc7\xd1\xb1\xdb shirt,B,top,1000,KRW,,img/a.jpg,true\n"
    )
    with pytest.raises(CommandError, match="not UTF-8 text.*save it as UTF-8"):
        call_command("import_catalog", str(path), "--no-progress")


def test_overlong_fields_are_reported_by_line_and_other_rows_keep_importing(source, tmp_path):
    """Issue 11 item 4: a brand over 200 characters or a URL of 2,001-2,048 characters (valid for
    URLValidator, too long for the column) stopped the whole import with a database error."""
    long_url = "https://shop.example/p/" + "a" * (2040 - len("https://shop.example/p/"))
    base = dict(category="top", price="1000", image="img/a.jpg")
    rows = [
        dict(base, external_id="ok1", title="Good tee", brand="Hanul"),  # line 2
        dict(base, external_id="b1", title="Tee", brand="B" * 201),  # line 3
        dict(base, external_id="b2", title="Tee", product_url=long_url),  # line 4
        dict(base, external_id="b3", title="Tee", image=long_url + ".jpg"),  # line 5: image URL
        dict(base, external_id="ok2", title="Good skirt", category="skirt"),  # line 6
    ]
    report = catalog_import(path=_feed(tmp_path, rows), source=source)

    assert sorted(Product.objects.values_list("external_id", flat=True)) == ["ok1", "ok2"]
    errors = dict(report.errors)
    assert sorted(errors) == [3, 4, 5]
    assert "brand is longer than 200 characters" in errors[3]
    assert "product_url is longer than 2000 characters" in errors[4]
    assert "image URL is longer than 2000 characters" in errors[5]


def test_brands_whose_slugs_clash_at_the_maximum_length_both_import(source, tmp_path):
    """Two 200-character brands that slugify alike: the second slug gets a suffix and must still
    fit the slug column (it was 202 characters: a database error)."""
    first, second = "A" * 199 + "!", "A" * 199 + "?"
    base = dict(category="top", price="1000", image="img/a.jpg")
    rows = [
        dict(base, external_id="x1", title="Tee one", brand=first),
        dict(base, external_id="x2", title="Tee two", brand=second),
    ]
    report = catalog_import(path=_feed(tmp_path, rows), source=source)
    assert report.errors == [] and report.created == 2
    brands = sorted(Product.objects.values_list("brand__name", "brand__slug"))
    assert [name for name, _ in brands] == [first, second]
    assert len({slug for _, slug in brands}) == 2 and all(len(slug) <= 200 for _, slug in brands)
