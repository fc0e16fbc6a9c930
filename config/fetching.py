"""Polite and safe HTTP for crawling shops and downloading product images.

Shared by the crawler and the shop's feed import (remote feed images), so it lives beside
the other cross-app plumbing in config/ and the shop never imports the crawler. It reads
the CRAWLER_* settings (config/settings/base.py).

Every request made on behalf of a crawled or imported URL goes through ``Fetcher``:

- it refuses URLs whose host resolves to a private, loopback, link-local, reserved or
  multicast address (checked again at every redirect hop), so a crawled page cannot
  make us call internal services (SSRF). ``CRAWLER_ALLOW_LOOPBACK`` admits loopback only,
  for the tests' local shop server;
- it honours robots.txt (Protego, Scrapy's parser, which follows Google's spec), cached
  per host, including its Crawl-delay;
- it rate-limits per host across threads, retries 429/5xx and network errors with
  exponential backoff honouring Retry-After (capped), sends conditional requests when
  the caller has validators, follows a bounded number of redirects and caps body sizes.

The address is checked twice: the name's resolutions before the request, and the peer
of every new socket after it connects (so a DNS server that answers differently the
second time - DNS rebinding - is caught too). Production deployments should still block
private ranges at the egress firewall.
"""

from __future__ import annotations

import email.utils
import functools
import ipaddress
import logging
import math
import socket
import threading
import time
import zlib
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
import urllib3.connection
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from protego import Protego
from requests.adapters import HTTPAdapter

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Images we accept by Content-Type; octet-stream is common on CDNs, and image_decode
# checks the bytes themselves anyway.
IMAGE_CONTENT_TYPES = ("image/", "application/octet-stream", "binary/octet-stream")


class FetchError(Exception):
    """A URL could not be fetched; ``reason`` says why in words an operator can act on."""

    def __init__(self, reason: str, *, url: str = "", status: int | None = None, retryable: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.url = url
        self.status = status
        self.retryable = retryable  # network trouble that may pass (refused, reset, timeout)

    def __str__(self) -> str:
        return self.reason


class BlockedURL(FetchError):
    """Refused before any request: unsafe address, bad scheme, or robots.txt."""


class HostSkipped(FetchError):
    """Not fetched this run because of what the host asks (a Crawl-delay above our cap); not a
    refusal of the URL, so its products are not counted as gone, and a crawl says it once."""


@dataclass
class FetchResult:
    url: str  # the final URL, after redirects
    status: int
    content: bytes
    headers: dict[str, str]
    etag: str = ""
    last_modified: str = ""

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def text(self) -> str:
        """The body as text; a gzip file body (sitemap.xml.gz) is unpacked, within the page cap."""
        content = self.content
        if content[:2] == b"\x1f\x8b":
            content = _gunzip_capped(content, limit=settings.CRAWLER_MAX_PAGE_BYTES, url=self.url)
        return content.decode(_charset(self.headers.get("content-type", "")), errors="replace")


def _gunzip_capped(data: bytes, *, limit: int, url: str) -> bytes:
    # wbits 16+MAX_WBITS: gzip container. max_length stops a small file expanding without bound.
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise FetchError(f"The gzip file is damaged ({exc}).", url=url) from exc
    if len(out) > limit:
        raise FetchError(f"The unpacked gzip file is too large (over {limit:,} bytes).", url=url)
    return out


@dataclass
class FetchStats:
    """Where the time went, for the crawl benchmark and the run log."""

    requests: int = 0
    retries: int = 0
    politeness_wait_s: float = 0.0  # sleeping for rate limits, Crawl-delay and backoff
    network_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **amounts: float) -> None:
        with self.lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            name = value.strip().strip("\"'")
            try:
                "".encode(name)
                return name
            except LookupError:
                break
    return "utf-8"


# --- Address safety -------------------------------------------------------------------


def address_is_public(address: str, *, allow_loopback: bool = False) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return allow_loopback
    return not (
        ip.is_private
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
        or not ip.is_global
    )


def url_check_safe(url: str, *, allow_loopback: bool | None = None) -> None:
    """Raise BlockedURL unless ``url`` is http(s) and every address of its host is public."""
    if allow_loopback is None:
        allow_loopback = settings.CRAWLER_ALLOW_LOOPBACK
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BlockedURL(f"Only http and https URLs can be fetched, not {parts.scheme or 'none'!r}.", url=url)
    host = parts.hostname
    if not host:
        raise BlockedURL("The URL has no host name.", url=url)
    if parts.username or parts.password:
        raise BlockedURL("URLs with user names or passwords are not fetched.", url=url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise BlockedURL("The URL has an invalid port.", url=url) from exc
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"The host name {host!r} could not be resolved.", url=url) from exc
    for info in infos:
        address = info[4][0]
        if not address_is_public(address, allow_loopback=allow_loopback):
            raise BlockedURL(
                f"Refused: {host} resolves to the non-public address {address}; "
                "crawling private, loopback or link-local addresses is not allowed.",
                url=url,
            )


def _socket_check(sock: socket.socket, *, allow_loopback: bool) -> socket.socket:
    address = sock.getpeername()[0]
    if not address_is_public(address, allow_loopback=allow_loopback):
        sock.close()
        raise BlockedURL(f"Refused: the connection reached the non-public address {address}.")
    return sock


@functools.cache
def _guarded_adapter_class(allow_loopback: bool) -> type[HTTPAdapter]:
    """A requests adapter whose sockets refuse non-public peers once connected."""

    class Connection(urllib3.connection.HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return _socket_check(super()._new_conn(), allow_loopback=allow_loopback)

    class TLSConnection(urllib3.connection.HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return _socket_check(super()._new_conn(), allow_loopback=allow_loopback)

    class Pool(urllib3.HTTPConnectionPool):
        ConnectionCls = Connection

    class TLSPool(urllib3.HTTPSConnectionPool):
        ConnectionCls = TLSConnection

    class GuardedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": TLSPool}

    return GuardedAdapter


# --- Per-host politeness --------------------------------------------------------------


class HostThrottle:
    """Spaces requests to one host at least ``interval`` seconds apart, across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_at: dict[str, float] = {}

    def wait(self, host: str, interval: float) -> float:
        """Block until this host may be requested again; returns the seconds slept."""
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next_at.get(host, 0.0))
            self._next_at[host] = at + interval
        delay = at - now
        if delay > 0:
            time.sleep(delay)
        return max(delay, 0.0)

    def push_back(self, host: str, seconds: float) -> None:
        """After a 429/503: nobody requests this host for ``seconds``."""
        with self._lock:
            self._next_at[host] = max(self._next_at.get(host, 0.0), time.monotonic() + seconds)


# One throttle per process, so the crawler and the feed importer share a host's budget.
_throttle = HostThrottle()
_robots_lock = threading.Lock()
_robots_cache: dict[str, tuple[float, Protego | None]] = {}  # origin -> (expires, rules; None = all blocked)


def robots_cache_clear() -> None:
    with _robots_lock:
        _robots_cache.clear()


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


class Fetcher:
    """One crawl's HTTP client. Thread-safe: each thread gets its own requests.Session."""

    def __init__(
        self,
        *,
        rate_limit: float | None = None,
        concurrency: int = 1,
        respect_robots: bool = True,
        allow_loopback: bool | None = None,
    ) -> None:
        rate = rate_limit if rate_limit is not None else settings.CRAWLER_DEFAULT_RATE_LIMIT
        self.interval = 1.0 / rate if rate and rate > 0 else 0.0
        self.respect_robots = respect_robots
        self.allow_loopback = settings.CRAWLER_ALLOW_LOOPBACK if allow_loopback is None else allow_loopback
        self.user_agent = settings.CRAWLER_USER_AGENT
        self.timeout = (settings.CRAWLER_CONNECT_TIMEOUT, settings.CRAWLER_READ_TIMEOUT)
        self.total_timeout = settings.CRAWLER_TOTAL_TIMEOUT
        self.max_retries = settings.CRAWLER_MAX_RETRIES
        self.backoff = settings.CRAWLER_BACKOFF_BASE
        self.retry_after_max = settings.CRAWLER_RETRY_AFTER_MAX
        self.max_redirects = settings.CRAWLER_MAX_REDIRECTS
        self.max_bytes = settings.CRAWLER_MAX_PAGE_BYTES
        self.stats = FetchStats()
        self._local = threading.local()
        # Concurrency per host: at most this many requests in flight to one host.
        self._host_slots: dict[str, threading.BoundedSemaphore] = {}
        self._slots_lock = threading.Lock()
        self._concurrency = max(1, concurrency)

    # -- plumbing
    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            # Ignore proxy variables and .netrc: crawled URLs must not pick up credentials.
            session.trust_env = False
            adapter = _guarded_adapter_class(self.allow_loopback)()
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["User-Agent"] = self.user_agent
            self._local.session = session
        return session

    def _slot(self, host: str) -> threading.BoundedSemaphore:
        with self._slots_lock:
            if host not in self._host_slots:
                self._host_slots[host] = threading.BoundedSemaphore(self._concurrency)
            return self._host_slots[host]

    # -- robots.txt
    def _robots(self, url: str) -> Protego | None:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        now = time.monotonic()
        with _robots_lock:
            cached = _robots_cache.get(origin)
        if cached and cached[0] > now:
            return cached[1]
        rules: Protego | None
        try:
            result = self._request(f"{origin}/robots.txt", max_bytes=500_000, check_robots=False, retries=1)
        except BlockedURL:
            raise
        except FetchError as exc:
            # Google's spec: server errors mean "assume everything is disallowed" for now.
            if exc.status is not None and exc.status < 500:
                rules = Protego.parse("")
            else:
                rules = None
        else:
            rules = Protego.parse(result.text()) if result.status == 200 else Protego.parse("")
        with _robots_lock:
            _robots_cache[origin] = (now + settings.CRAWLER_ROBOTS_CACHE_SECONDS, rules)
        return rules

    def robots_allowed(self, url: str) -> tuple[bool, float]:
        """(allowed, crawl delay in seconds) for ``url`` under its host's robots.txt; raises
        HostSkipped when the delay is above CRAWLER_MAX_CRAWL_DELAY."""
        if not self.respect_robots:
            return True, 0.0
        rules = self._robots(url)
        if rules is None:
            return False, 0.0
        delay = float(rules.crawl_delay(self.user_agent) or 0.0)
        cap = float(settings.CRAWLER_MAX_CRAWL_DELAY)
        if not math.isfinite(delay) or delay > cap:
            host = urlsplit(url).hostname or url
            raise HostSkipped(
                f"robots.txt of {host} asks for a Crawl-delay of {delay:g} s, more than our limit of "
                f"{cap:g} s (CRAWLER_MAX_CRAWL_DELAY), so {host} is skipped for this run. Raise the "
                "limit, or ask the shop for a feed.",
                url=url,
            )
        return bool(rules.can_fetch(url, self.user_agent)), delay

    # -- requests
    def get(
        self,
        url: str,
        *,
        etag: str = "",
        last_modified: str = "",
        max_bytes: int | None = None,
        accept: str = "",
    ) -> FetchResult:
        """GET ``url`` politely; a 304 comes back as a result, other non-2xx as FetchError."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if accept:
            headers["Accept"] = accept
        return self._request(url, headers=headers, max_bytes=max_bytes or self.max_bytes)

    def _request(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        max_bytes: int,
        check_robots: bool = True,
        retries: int | None = None,
    ) -> FetchResult:
        seen = [url]
        current = url
        for _hop in range(self.max_redirects + 1):
            url_check_safe(current, allow_loopback=self.allow_loopback)
            delay = 0.0
            if check_robots:
                allowed, delay = self.robots_allowed(current)
                if not allowed:
                    raise BlockedURL("robots.txt does not allow crawling this URL.", url=current)
            response = self._send(current, headers or {}, max_bytes, delay, retries)
            if response.status not in REDIRECT_STATUSES:
                if response.status == 304 or 200 <= response.status < 300:
                    return response
                raise FetchError(
                    f"The server answered HTTP {response.status}.", url=current, status=response.status
                )
            location = response.headers.get("location")
            if not location:
                raise FetchError("A redirect without a Location header.", url=current, status=response.status)
            current = urljoin(current, location)
            if current in seen:
                raise FetchError(
                    f"Redirect loop: {' -> '.join([*seen, current])}.", url=url, status=response.status
                )
            seen.append(current)
        raise FetchError(f"More than {self.max_redirects} redirects, starting at {url}.", url=url)

    def _send(
        self, url: str, headers: dict[str, str], max_bytes: int, crawl_delay: float, retries: int | None
    ) -> FetchResult:
        host = urlsplit(url).netloc.lower()
        attempts = (self.max_retries if retries is None else retries) + 1
        last_error: FetchError | None = None
        for attempt in range(attempts):
            waited = _throttle.wait(host, max(self.interval, crawl_delay))
            self.stats.add(politeness_wait_s=waited)
            started = time.monotonic()
            try:
                with self._slot(host):
                    result = self._send_once(url, headers, max_bytes)
            except FetchError as exc:
                if not exc.retryable:
                    raise
                last_error = exc
                retry_after = None
            else:
                if result.status not in RETRY_STATUSES:
                    return result
                last_error = FetchError(
                    f"The server answered HTTP {result.status} after {attempt + 1} attempt(s).",
                    url=url,
                    status=result.status,
                )
                retry_after = _retry_after_seconds(result.headers.get("retry-after"))
            finally:
                self.stats.add(network_s=time.monotonic() - started, requests=1)
            if attempt + 1 >= attempts:
                break
            pause = self.backoff * (2**attempt)
            if retry_after is not None:
                pause = max(pause, retry_after)
            pause = min(pause, self.retry_after_max)
            logger.info("Retrying %s in %.2fs (%s)", url, pause, last_error)
            _throttle.push_back(host, pause)
            self.stats.add(retries=1)
        assert last_error is not None
        raise last_error

    def _send_once(self, url: str, headers: dict[str, str], max_bytes: int) -> FetchResult:
        try:
            response = self.session.get(
                url, headers=headers, timeout=self.timeout, stream=True, allow_redirects=False
            )
        except requests.Timeout as exc:
            raise FetchError(
                f"Timed out after {self.timeout[1]:g}s waiting for the server.", url=url, retryable=True
            ) from exc
        except requests.RequestException as exc:
            raise FetchError(
                f"Could not connect: {exc.__class__.__name__}.", url=url, retryable=True
            ) from exc
        with response:
            lowered = {k.lower(): v for k, v in response.headers.items()}
            declared = lowered.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(
                    f"The response is too large ({int(declared):,} bytes; the limit is {max_bytes:,}).",
                    url=url,
                )
            body = bytearray()
            # The read timeout is per socket read; a server dripping a byte at a time would
            # never trip it, so the whole body also has a deadline.
            deadline = time.monotonic() + self.total_timeout
            try:
                # read1 returns whatever has arrived (iter_content would wait for a full chunk),
                # so the deadline is checked as bytes come in; bodies are decoded (gzip) here,
                # so the size cap applies to what we keep, not to what was sent.
                while chunk := response.raw.read1(64 * 1024, decode_content=True):
                    body.extend(chunk)
                    if len(body) > max_bytes:
                        raise FetchError(f"The response is too large (over {max_bytes:,} bytes).", url=url)
                    if time.monotonic() > deadline:
                        raise FetchError(
                            f"The response took longer than {self.total_timeout:g}s to arrive.",
                            url=url,
                            retryable=True,
                        )
            except (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError) as exc:
                raise FetchError(
                    f"Timed out after {self.timeout[1]:g}s reading the response.", url=url, retryable=True
                ) from exc
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                raise FetchError(
                    f"The connection broke: {exc.__class__.__name__}.", url=url, retryable=True
                ) from exc
        return FetchResult(
            url=url,
            status=response.status_code,
            content=bytes(body),
            headers=lowered,
            etag=lowered.get("etag", ""),
            last_modified=lowered.get("last-modified", ""),
        )

    def get_image(self, url: str, *, etag: str = "", last_modified: str = "") -> FetchResult:
        """GET an image: Content-Type must be an image and the body within CRAWLER_MAX_IMAGE_BYTES."""
        result = self.get(
            url,
            etag=etag,
            last_modified=last_modified,
            max_bytes=settings.CRAWLER_MAX_IMAGE_BYTES,
            accept="image/avif,image/webp,image/jpeg,image/png,image/*;q=0.8",
        )
        if result.not_modified:
            return result
        if not result.content_type.startswith(IMAGE_CONTENT_TYPES):
            raise FetchError(
                f"Expected an image but the server sent {result.content_type or 'no content type'}.",
                url=result.url,
            )
        if not result.content:
            raise FetchError("The server sent an empty image.", url=result.url)
        return result


_default_fetchers = threading.local()


def default_fetcher() -> Fetcher:
    """A per-thread Fetcher with the default politeness settings (connections are reused)."""
    fetcher = getattr(_default_fetchers, "fetcher", None)
    if fetcher is None:
        fetcher = Fetcher()
        _default_fetchers.fetcher = fetcher
    return fetcher


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs) -> None:
    # Tests change CRAWLER_* settings; the cached client must not keep the old ones.
    if setting.startswith("CRAWLER_"):
        _default_fetchers.__dict__.clear()


def fetch_image_bytes(url: str) -> bytes:
    """Download an image from an untrusted URL safely; raise FetchError(reason) if refused.

    Checks: http(s) only, public addresses only (every redirect hop), robots.txt,
    per-host rate limit, Content-Type image/*, size at most CRAWLER_MAX_IMAGE_BYTES.
    The caller still validates the bytes (shop.images.image_decode / product_image_store).
    """
    return default_fetcher().get_image(url).content
