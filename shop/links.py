"""Which URLs from feeds and crawled shops may become links.

Only absolute http(s) URLs are stored as product links and rendered as ``href``: a crawled
``javascript:`` or ``data:`` URL rendered as a link runs in the reader's session (a staff
session in the admin). Everything else is shown, escaped, as text.
"""

from __future__ import annotations

from urllib.parse import urlsplit

SAFE_SCHEMES = ("http", "https")


def url_is_http(value) -> bool:
    """True for an absolute http(s) URL with a host and no control characters or spaces around it."""
    if not isinstance(value, str) or not value or value != value.strip():
        return False
    # Browsers drop tabs and newlines inside a scheme ("java\tscript:"): refuse any control character.
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an invalid IPv6 literal
        return False
    return parts.scheme.lower() in SAFE_SCHEMES and bool(parts.hostname)
