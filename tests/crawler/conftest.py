"""A real HTTP server on loopback that plays the shops the crawler talks to.

Routes are registered per test: a fixed body, or a sequence of responses served in
turn (the last one repeats), optionally slow. Every request is recorded so tests can
assert what the crawler sent (User-Agent, conditional headers) and how often.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from config.fetching import robots_cache_clear

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (slow server)
    drip: float = 0.0  # seconds between body bytes (a server that trickles)
    before: Callable[[], None] | None = None  # run before answering (a fault injected mid-request)


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    at: float


class LoopbackShop:
    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.hits: list[Hit] = []
        self.lock = threading.Lock()
        shop = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                with shop.lock:
                    shop.hits.append(
                        Hit(self.path, {k.lower(): v for k, v in self.headers.items()}, time.monotonic())
                    )
                    replies = shop.routes.get(self.path)
                    if replies is None:
                        replies = shop.routes.get(self.path.split("?", 1)[0])
                    reply = (replies.pop(0) if len(replies) > 1 else replies[0]) if replies else None
                if reply is None:
                    reply = Reply(status=404, body=b"not found", content_type="text/plain")
                if reply.before:
                    reply.before()
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body.encode() if isinstance(reply.body, str) else reply.body
                etag = reply.headers.get("ETag")
                if reply.status == 200 and etag and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                try:
                    if reply.drip:
                        for i in range(len(body)):
                            self.wfile.write(body[i : i + 1])
                            self.wfile.flush()
                            time.sleep(reply.drip)
                    else:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, *replies: Reply, **reply) -> None:
        with self.lock:
            self.routes[path] = list(replies) if replies else [Reply(**reply)]

    def fixture(self, path: str, name: str, **reply) -> None:
        """Serve a fixture file, with {base} ("http://127.0.0.1:port") and {host} filled in."""
        text = (FIXTURES / name).read_text().replace("{base}", self.base).replace("{host}", self.base[7:])
        self.route(path, body=text, **reply)

    def hits_for(self, path: str) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.path == path]


def png_bytes(colour=(200, 30, 30), size=(16, 16)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


COLOURS = {"red": (200, 30, 30), "blue": (30, 30, 200), "green": (30, 160, 60)}


@pytest.fixture
def crawler_settings(settings):
    """Loopback allowed (the test shop is on 127.0.0.1), tiny waits so tests stay fast."""
    settings.CRAWLER_ALLOW_LOOPBACK = True
    settings.CRAWLER_BACKOFF_BASE = 0.01
    settings.CRAWLER_RETRY_AFTER_MAX = 0.3
    settings.CRAWLER_MAX_RETRIES = 2
    settings.CRAWLER_READ_TIMEOUT = 0.5
    settings.CRAWLER_CONNECT_TIMEOUT = 0.5
    settings.CRAWLER_TOTAL_TIMEOUT = 1.0
    settings.CRAWLER_DEFAULT_RATE_LIMIT = 0  # no spacing unless a test asks for it
    settings.CRAWLER_EMBED_AFTER_RUN = False  # the worker integration test turns it on
    robots_cache_clear()
    yield settings
    robots_cache_clear()


@pytest.fixture
def shop_server(crawler_settings):
    shop = LoopbackShop()
    shop.thread.start()
    shop.route("/robots.txt", body="User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    for name, colour in COLOURS.items():
        shop.route(f"/img/{name}.png", body=png_bytes(colour), content_type="image/png")
    yield shop
    shop.server.shutdown()
    shop.server.server_close()


@pytest.fixture
def make_source(db):
    from crawler.models import CrawlProfile

    def make(kind: str, base_url: str, **fields) -> CrawlProfile:
        fields.setdefault("rate_limit", 50)  # the loopback shop needs no politeness
        fields.setdefault("pages_per_run", 20)
        return CrawlProfile.objects.create(
            name=f"{kind} test", slug=f"{kind}-test", kind=kind, base_url=base_url, **fields
        )

    return make
