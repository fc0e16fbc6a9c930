"""The HTTP layer against a real loopback server: safety, politeness and failures."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from config.fetching import (
    BlockedURL,
    Fetcher,
    FetchError,
    address_is_public,
    fetch_image_bytes,
    url_check_safe,
)
from tests.crawler.conftest import Reply


def png_bytes(colour=(200, 30, 30), size=(8, 8)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def test_fetch_image_bytes_returns_the_image_and_sends_our_user_agent(shop_server, settings):
    data = png_bytes()
    shop_server.route("/img/a.png", body=data, content_type="image/png")
    assert fetch_image_bytes(shop_server.url("/img/a.png")) == data
    (hit,) = shop_server.hits_for("/img/a.png")
    assert hit.headers["user-agent"] == settings.CRAWLER_USER_AGENT
    assert settings.CRAWLER_CONTACT_URL in hit.headers["user-agent"]


def test_fetch_image_bytes_refuses_html(shop_server):
    shop_server.route("/img/page", body="<html>nope</html>")
    with pytest.raises(FetchError, match="Expected an image but the server sent text/html"):
        fetch_image_bytes(shop_server.url("/img/page"))


def test_fetch_image_bytes_refuses_oversized_bodies(shop_server, settings):
    settings.CRAWLER_MAX_IMAGE_BYTES = 100
    shop_server.route("/img/big.png", body=b"\x89PNG" + b"0" * 500, content_type="image/png")
    with pytest.raises(FetchError, match="too large"):
        fetch_image_bytes(shop_server.url("/img/big.png"))


def test_loopback_is_refused_unless_allowed(shop_server, settings):
    shop_server.route("/img/a.png", body=png_bytes(), content_type="image/png")
    settings.CRAWLER_ALLOW_LOOPBACK = False
    with pytest.raises(BlockedURL, match="non-public address 127.0.0.1"):
        fetch_image_bytes(shop_server.url("/img/a.png"))
    assert shop_server.hits == []  # refused before any request
    with pytest.raises(BlockedURL, match="non-public"):
        url_check_safe("http://localhost:9/x", allow_loopback=False)


@pytest.mark.parametrize(
    "address",
    ["10.0.0.5", "192.168.1.1", "172.16.0.1", "169.254.169.254", "0.0.0.0", "fe80::1", "fc00::1"],
)
def test_private_and_link_local_addresses_are_refused_even_with_loopback_allowed(address, crawler_settings):
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(BlockedURL, match="non-public address"):
        url_check_safe(f"http://{host}/latest/meta-data/", allow_loopback=True)


def test_address_classification():
    assert address_is_public("93.184.216.34")
    assert not address_is_public("127.0.0.1")
    assert address_is_public("127.0.0.1", allow_loopback=True)
    assert not address_is_public("::ffff:10.0.0.1")  # IPv4-mapped private address
    assert not address_is_public("100.64.0.1")  # carrier-grade NAT


def test_non_http_schemes_are_refused(crawler_settings):
    for url in ("file:///etc/passwd", "ftp://example.com/x", "gopher://127.0.0.1/"):
        with pytest.raises(BlockedURL, match="Only http and https"):
            fetch_image_bytes(url)


def test_a_redirect_to_a_private_address_is_refused_at_that_hop(shop_server):
    shop_server.route("/img/r", status=302, headers={"Location": "http://10.1.2.3/internal.png"})
    with pytest.raises(BlockedURL, match="10.1.2.3"):
        fetch_image_bytes(shop_server.url("/img/r"))


def test_redirects_are_followed_and_loops_fail_cleanly(shop_server):
    shop_server.route("/a", status=301, headers={"Location": "/b"})
    shop_server.route("/b", status=302, headers={"Location": "/c"})
    shop_server.route("/c", body="done")
    result = Fetcher().get(shop_server.url("/a"))
    assert (result.url, result.text()) == (shop_server.url("/c"), "done")

    shop_server.route("/loop1", status=302, headers={"Location": "/loop2"})
    shop_server.route("/loop2", status=302, headers={"Location": "/loop1"})
    with pytest.raises(FetchError, match="Redirect loop"):
        Fetcher().get(shop_server.url("/loop1"))


def test_too_many_redirects(shop_server, settings):
    settings.CRAWLER_MAX_REDIRECTS = 2
    for i in range(5):
        shop_server.route(f"/r{i}", status=302, headers={"Location": f"/r{i + 1}"})
    with pytest.raises(FetchError, match="More than 2 redirects"):
        Fetcher().get(shop_server.url("/r0"))


def test_429_is_retried_after_retry_after(shop_server):
    shop_server.route(
        "/busy",
        Reply(status=429, headers={"Retry-After": "0.2"}),  # fractional: ignored, backoff applies
        Reply(status=429, headers={"Retry-After": "1"}),  # 1 s, capped to 0.3 s by the test settings
        Reply(body="finally"),
    )
    fetcher = Fetcher()
    assert fetcher.get(shop_server.url("/busy")).text() == "finally"
    hits = shop_server.hits_for("/busy")
    assert len(hits) == 3
    assert hits[2].at - hits[1].at >= 0.28  # waited the (capped) Retry-After
    assert fetcher.stats.retries == 2


def test_500_gives_up_after_the_retries_with_the_status(shop_server):
    shop_server.route("/broken", status=500, body="oops")
    with pytest.raises(FetchError, match="HTTP 500 after 3 attempt") as info:
        Fetcher().get(shop_server.url("/broken"))
    assert info.value.status == 500
    assert len(shop_server.hits_for("/broken")) == 3


def test_404_is_not_retried(shop_server):
    with pytest.raises(FetchError, match="HTTP 404"):
        Fetcher().get(shop_server.url("/missing"))
    assert len(shop_server.hits_for("/missing")) == 1


def test_a_slow_server_times_out(shop_server, settings):
    settings.CRAWLER_MAX_RETRIES = 0
    shop_server.route("/slow", body="late", delay=1.5)
    started = time.monotonic()
    with pytest.raises(FetchError, match="Timed out"):
        Fetcher().get(shop_server.url("/slow"))
    assert time.monotonic() - started < 1.4


def test_robots_txt_disallow_is_honoured_and_cached(shop_server):
    shop_server.route("/private/x", body="secret")
    fetcher = Fetcher()
    with pytest.raises(BlockedURL, match="robots.txt"):
        fetcher.get(shop_server.url("/private/x"))
    shop_server.route("/public", body="ok")
    assert fetcher.get(shop_server.url("/public")).text() == "ok"
    assert shop_server.hits_for("/private/x") == []
    assert len(shop_server.hits_for("/robots.txt")) == 1


def test_robots_txt_server_error_means_disallow_all(shop_server):
    shop_server.route("/robots.txt", status=503)
    shop_server.route("/page", body="ok")
    with pytest.raises(BlockedURL, match="robots.txt"):
        Fetcher().get(shop_server.url("/page"))


def test_missing_robots_txt_allows_everything(shop_server):
    shop_server.route("/robots.txt", status=404)
    shop_server.route("/page", body="ok")
    assert Fetcher().get(shop_server.url("/page")).text() == "ok"


def test_rate_limit_spaces_requests_to_one_host(shop_server):
    shop_server.route("/p", body="ok")
    fetcher = Fetcher(rate_limit=10)  # 0.1 s apart
    for _ in range(4):
        fetcher.get(shop_server.url("/p"))
    times = [h.at for h in shop_server.hits_for("/p")]
    # Sends are scheduled 0.1 s apart; arrival times jitter a little on a busy machine.
    assert times[-1] - times[0] >= 0.25
    assert fetcher.stats.politeness_wait_s > 0  # how much depends on how long each request took


def test_conditional_requests_return_not_modified(shop_server):
    shop_server.route("/item", body="v1", headers={"ETag": '"abc"'})
    fetcher = Fetcher()
    first = fetcher.get(shop_server.url("/item"))
    assert first.etag == '"abc"'
    second = fetcher.get(shop_server.url("/item"), etag=first.etag)
    assert second.not_modified
    assert shop_server.hits_for("/item")[1].headers["if-none-match"] == '"abc"'


def test_a_server_trickling_bytes_hits_the_total_deadline(shop_server, settings):
    settings.CRAWLER_MAX_RETRIES = 0
    shop_server.route("/drip", body="x" * 100, drip=0.05)  # each read arrives well within 0.5 s
    started = time.monotonic()
    with pytest.raises(FetchError, match="took longer than 1s"):
        Fetcher().get(shop_server.url("/drip"))
    assert time.monotonic() - started < 2.5


def test_gzip_bodies_are_decoded_and_a_gzip_bomb_is_capped(shop_server, settings):
    import gzip

    shop_server.route("/gz", body=gzip.compress(b"hello " * 100), headers={"Content-Encoding": "gzip"})
    assert Fetcher().get(shop_server.url("/gz")).text() == "hello " * 100

    settings.CRAWLER_MAX_PAGE_BYTES = 100_000
    bomb = gzip.compress(b"\0" * 20_000_000)  # ~20 KB on the wire, 20 MB decoded
    shop_server.route("/bomb", body=bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match="too large"):
        Fetcher().get(shop_server.url("/bomb"))


def test_connected_sockets_are_checked_too_dns_rebinding(shop_server):
    # As if the name had resolved to a public address for the check and to 127.0.0.1 when
    # requests connected: skip the pre-check and call the socket layer directly.
    shop_server.route("/rebind", body="internal")
    fetcher = Fetcher(allow_loopback=False)
    with pytest.raises(BlockedURL, match="connection reached the non-public address 127.0.0.1"):
        fetcher._send_once(shop_server.url("/rebind"), {}, 1000)
    assert shop_server.hits_for("/rebind") == []
    assert (
        Fetcher(allow_loopback=True)._send_once(shop_server.url("/rebind"), {}, 1000).content == b"internal"
    )
