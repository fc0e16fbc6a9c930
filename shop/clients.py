"""Who is asking: the client address every rate limit and upload log keys on.

Behind reverse proxies REMOTE_ADDR is the nearest proxy, so keying on it would give the
whole site one budget. X-Forwarded-For, though, is written by the client first: only the
entries our own proxies appended can be believed. TRUSTED_PROXY_COUNT (settings) says how
many there are; django-ratelimit reads this function through RATELIMIT_IP_META_KEY, so
every ``key="ip"`` limit uses it.
"""

from __future__ import annotations

import ipaddress
import logging

from django.conf import settings

logger = logging.getLogger(__name__)


def client_address(request) -> str:
    """The client's IP address as the first trusted proxy saw it (REMOTE_ADDR without proxies).

    With N trusted proxies each appends the address it received from, so the client is the
    N-th entry from the right; anything further left was written by the client. A header
    with fewer entries, or an entry that is not an address, did not come through our
    proxies as configured: the connection's own address is used instead.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    count = int(settings.TRUSTED_PROXY_COUNT)
    if count <= 0:
        return remote
    entries = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    entries = [part for part in entries if part]
    if len(entries) < count:
        return remote
    candidate = entries[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        logger.warning("X-Forwarded-For entry %r is not an IP address; using REMOTE_ADDR", candidate[:60])
        return remote
