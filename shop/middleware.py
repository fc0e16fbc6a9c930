"""Whole pages for visitors with no session, from the shared cache.

The home/browse page and product pages are the same for every visitor without a session,
given the URL (path and query string: filters, page, ``?currency=``) and the language: their
rendering is most of what a request costs. This middleware keeps them whole, keyed by
``shop.fragments.page_key``, which holds the catalogue version, so any committed change to
a product, price, rate, brand or vector makes new keys at once. What a page shows as of now
(the price chart's last day, a rate's age) is at most ``SHOP_PAGE_CACHE_SECONDS`` old.

Never per visitor: a page is served from, or stored in, the cache only for a GET by a
visitor with no session or messages cookie (staff in the admin, a shopper with a pending
message get pages rendered for them), and stored only when rendering it touched neither the
session nor the messages and set no cookie. The pages' forms carry a CSRF token: it is
stored as a placeholder and each visitor gets a token of their own in its place (and the
cookie that goes with it, set by CsrfViewMiddleware as for a rendered page).

Last in ``MIDDLEWARE``: the view is resolved (only ``SHOP_PAGE_CACHE_VIEWS`` are cached) and
the language is active; every other middleware runs for a cached page as for a rendered one.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.middleware.csrf import _unmask_cipher_token, get_token
from django.utils.cache import cc_delim_re, has_vary_header
from django.utils.translation import get_language

from shop.fragments import catalogue_version, page_key

# Where each visitor's own token goes in a stored page. Not HTML-special, so it cannot be
# escaped into another form by a template.
CSRF_PLACEHOLDER = b"lookalike-csrf-token-placeholder"
# A masked CSRF token as Django writes it: 64 letters and digits (CSRF_TOKEN_LENGTH).
_TOKEN_LIKE = re.compile(rb"(?<![A-Za-z0-9])[A-Za-z0-9]{64}(?![A-Za-z0-9])")
# The header that tells a cached page from a rendered one (the tests and the load bench).
HIT_HEADER = "X-Page-Cache"


def _visitor_has_state(request) -> bool:
    """A session (staff, a shopper's uploads) or pending messages: render for this visitor."""
    return settings.SESSION_COOKIE_NAME in request.COOKIES or "messages" in request.COOKIES


def _storable(request, response) -> bool:
    if response.status_code != 200 or response.streaming or response.cookies:
        return False
    session = getattr(request, "session", None)
    if session is not None and session.accessed:
        return False  # the page may show something of this visitor's (request.user included)
    messages = getattr(request, "_messages", None)
    if messages is not None and (messages.used or messages.added_new):
        return False
    if has_vary_header(response, "Cookie"):
        return False
    control = cc_delim_re.split(response.get("Cache-Control", ""))
    directives = {d.strip().split("=")[0].lower() for d in control}
    return not directives & {"private", "no-cache", "no-store"}


def _tokens_hidden(request, content: bytes) -> tuple[bytes, bool]:
    """The page with this visitor's CSRF tokens replaced by the placeholder, and whether
    there were any. A token is found by what it unmasks to (the visitor's secret), wherever
    the templates put it."""
    secret = request.META.get("CSRF_COOKIE")
    if not secret or not request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
        return content, False
    found = False

    def hide(match: re.Match) -> bytes:
        nonlocal found
        if _unmask_cipher_token(match.group().decode()) == secret:
            found = True
            return CSRF_PLACEHOLDER
        return match.group()

    return _TOKEN_LIKE.sub(hide, content), found


def page_entry(request, response) -> tuple | None:
    """What the cache keeps of a rendered page (its headers, its content with the CSRF
    tokens hidden, whether it had any), or None when it must not be kept."""
    if not _storable(request, response):
        return None
    content, has_token = _tokens_hidden(request, response.content)
    if request.META.get("CSRF_COOKIE_NEEDS_UPDATE") and not has_token:
        # A token was made for this page but is not where it can be found (encoded some other
        # way): a masked token gives away the visitor's secret, so the page is not shared.
        return None
    # The length changes with the token (CommonMiddleware sets it on the way out).
    headers = [(k, v) for k, v in response.items() if k.lower() != "content-length"]
    return headers, content, has_token


class PageCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        key = getattr(request, "_page_cache_key", None)
        entry = None if key is None else page_entry(request, response)
        if entry is not None:
            cache.set(key, entry, settings.SHOP_PAGE_CACHE_SECONDS)
            response[HIT_HEADER] = "miss"
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if (
            not settings.SHOP_PAGE_CACHE_SECONDS
            or request.method != "GET"
            or request.resolver_match.view_name not in settings.SHOP_PAGE_CACHE_VIEWS
            or _visitor_has_state(request)
        ):
            return None
        version = catalogue_version()
        if version is None:
            return None  # no cache to keep a version in: render
        key = page_key(
            url=f"{request.scheme}://{request.get_host()}{request.path}",
            query=request.GET,
            language=get_language(),
            version=version,
        )
        stored = cache.get(key)
        if stored is None:
            request._page_cache_key = key
            return None
        headers, content, has_token = stored
        if has_token:
            content = content.replace(CSRF_PLACEHOLDER, get_token(request).encode())
        response = HttpResponse(content)
        for name, value in headers:
            response[name] = value
        response[HIT_HEADER] = "hit"
        return response
