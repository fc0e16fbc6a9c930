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
import re
import secrets
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone


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
        # Set by the browse view from the whole group's prices and the rates, not the card's.
        getattr(product, "lowest_in_group", False),
    )


# --- Whole pages (shop/middleware.py) ----------------------------------------------------
# A whole page cannot be keyed by a digest of what it shows without reading it all from the
# database, which is the cost the cache is there to save. Its key holds instead a catalogue
# version: a random token in the shared cache, replaced after every committed write to a
# table the pages show (the catalogue's tables, and those other apps register, such as the
# recommender's vectors). Writes are seen where they reach the database (a wrapper on every
# connection), so bulk updates, raw SQL and admin edits all count.
CATALOGUE_VERSION_KEY = "shop:catalogue-version"
_catalogue_tables: set[str] = set()
_WRITE = re.compile(
    r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?)\s+(?:ONLY\s+)?"?(\w+)"?', re.IGNORECASE
)


def catalogue_tables_register(*models) -> None:
    """Pages show these models' rows: a write to one of them changes the catalogue version."""
    _catalogue_tables.update(model._meta.db_table for model in models)


def catalogue_version() -> str | None:
    """The current catalogue version; None when the cache cannot keep one (then nothing is
    served from the page cache, nor stored in it)."""
    version = cache.get(CATALOGUE_VERSION_KEY)
    if version is None:
        cache.add(CATALOGUE_VERSION_KEY, secrets.token_hex(8), timeout=None)
        version = cache.get(CATALOGUE_VERSION_KEY)
    return version


def catalogue_version_bump() -> None:
    cache.set(CATALOGUE_VERSION_KEY, secrets.token_hex(8), timeout=None)


def _catalogue_write_watch(execute, sql, params, many, context):
    """Execute wrapper: after a write to a catalogue table commits, bump the version.

    After the commit, not before: a page rendered between the bump and the commit would be
    stored under the new version with the old rows. A page rendered from rows newer than the
    version it read is harmless (it is simply fresh)."""
    result = execute(sql, params, many, context)
    match = _WRITE.match(sql) if isinstance(sql, str) else None
    if match is not None and match.group(1) in _catalogue_tables:
        connection = context["connection"]
        if connection.in_atomic_block:
            # Once per transaction; Django drops a callback whose savepoint is rolled back,
            # so looking in its list is right where a flag of our own would not be.
            if not any(func is catalogue_version_bump for _, func, _ in connection.run_on_commit):
                connection.on_commit(catalogue_version_bump)
        else:
            # Autocommit: already committed. (Manual transactions are not used here; bumping
            # early there only risks a page cached for at most SHOP_PAGE_CACHE_SECONDS.)
            catalogue_version_bump()
    return result


def catalogue_write_watch_install(*, connection, **kwargs) -> None:
    """connection_created receiver: watch every new database connection's writes."""
    if _catalogue_write_watch not in connection.execute_wrappers:
        connection.execute_wrappers.append(_catalogue_write_watch)


def page_key(*, url: str, query, language: str, version: str) -> str:
    """The cache key of a whole page: its URL without the query (scheme and host included:
    links may be absolute), every query parameter (whatever filters a page grows, each is
    part of the key, in any order), the language, today's date (prices are converted at the
    day's rate, and rates are flagged by age) and the catalogue version."""
    return "shop:page:" + fragment_key(
        "page", version, url, sorted(query.lists()), language, str(timezone.localdate())
    )
