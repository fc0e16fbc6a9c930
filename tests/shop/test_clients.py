"""The client address every rate limit and upload log keys on: REMOTE_ADDR unless the
operator says how many proxies stand in front, then the address the first of them saw
(issue 11, item 7). Spoofed X-Forwarded-For entries never count."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from shop.clients import client_address

PROXY = "10.0.0.2"


def _request(remote: str = PROXY, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_a_spoofed_forwarded_for_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_address(_request("198.51.100.4", "203.0.113.9")) == "198.51.100.4"


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (1, "203.0.113.7", "203.0.113.7"),
        # The client wrote its own header; the proxy appended the address it really saw.
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),
        (2, "6.6.6.6, 203.0.113.7, 10.0.0.1", "203.0.113.7"),
        (1, "2001:db8::1", "2001:db8::1"),
        # Fewer entries than trusted proxies: the request did not come through them all.
        (2, "203.0.113.7", PROXY),
        # Not an address (a proxy misconfigured, or a header passed through untouched).
        (1, "6.6.6.6, not-an-ip", PROXY),
        (1, "", PROXY),
    ],
)
def test_behind_n_proxies_the_nth_address_from_the_right_is_the_client(settings, count, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    assert client_address(_request(PROXY, forwarded)) == expected


def test_every_rate_limit_keys_on_the_client_address_in_the_shared_cache(settings):
    """key="ip" in django-ratelimit reads RATELIMIT_IP_META_KEY: one function for every limit."""
    from django_ratelimit.core import _get_ip

    assert settings.RATELIMIT_IP_META_KEY == "shop.clients.client_address"
    assert settings.RATELIMIT_USE_CACHE == "default"
    settings.TRUSTED_PROXY_COUNT = 1
    assert _get_ip(_request(PROXY, "6.6.6.6, 203.0.113.7")) == "203.0.113.7"
