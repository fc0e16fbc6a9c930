"""Keys for cached page fragments (``{% cache %}`` in the templates, Redis in production).

A key is a digest of everything the fragment shows, read fresh from the database on every
request, so a cached fragment can never be stale: a new price, a product sold out, a renamed
brand makes a new key. What the cache saves is the rendering (Django templates, form widgets
and prices formatted per language), the bulk of a browse or product page's CPU time. The
digest also covers the templates and translations on disk, so a deploy that changes them
never serves fragments of the old ones from a shared Redis.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from django.conf import settings


@functools.cache
def _code_stamp() -> str:
    """A digest of the template and compiled translation files, once per process."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(str(settings.MEDIA_URL).encode())  # in every card's photo URL
    roots = [Path(d) for d in settings.TEMPLATES[0]["DIRS"]] + [Path(p) for p in settings.LOCALE_PATHS]
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.suffix in (".html", ".mo") and path.is_file():
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def fragment_key(*parts) -> str:
    """A short digest of ``parts`` (plain values: str, numbers, Decimals, tuples, lists)."""
    return hashlib.blake2b(repr((_code_stamp(), parts)).encode(), digest_size=16).hexdigest()


def product_card_values(product) -> tuple:
    """What a product card shows (shop/_product_card.html, the alternatives' cards)."""
    return (
        product.pk,
        product.title,
        str(product.price),
        product.currency,
        product.in_stock,
        product.image.name if product.image else "",
        product.brand.name if product.brand_id else None,
    )
