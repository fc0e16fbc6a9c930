"""Writes to the catalogue. Importers and crawlers both go through product_upsert, so a
product is identified, updated and priced the same way whatever its origin."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import logging
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from tqdm import tqdm

from shop.attributes import ATTRIBUTES
from shop.images import ImageRejected, image_decode
from shop.links import url_is_http
from shop.models import Brand, Category, ExchangeRate, PriceHistory, Product, ProductAttribute
from shop.signals import products_marked_announce

logger = logging.getLogger(__name__)

# Product.price is DECIMAL(12, 2): at most 10 digits before the point.
PRICE_MAX = Decimal("9999999999.99")


class ProductRejected(ValueError):
    """The product's data cannot be stored as it is; the message names the field and what to fix."""


class UpsertResult(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class ProductData:
    """A listing as a source describes it, already validated and normalised."""

    external_id: str
    title: str
    price: Decimal
    currency: str
    product_url: str = ""
    image_url: str = ""
    brand: str = ""
    category: str = ""  # a Category slug; "" when the source does not say
    in_stock: bool = True


# Fields copied from ProductData onto Product and compared to detect a change.
_PLAIN_FIELDS = ("title", "price", "currency", "product_url", "image_url", "in_stock")


def product_data_check(data: ProductData) -> None:
    """Raise ProductRejected when a value does not fit its column or is not a safe link.

    Feeds and crawled shops write the same columns, so both are checked here, before any
    write: an over-long value would otherwise be a database error that stops the caller.
    Lengths come from the models, so a migration that changes one changes this too.
    """
    lengths = [
        ("external_id", data.external_id, Product._meta.get_field("external_id").max_length),
        ("title", data.title, Product._meta.get_field("title").max_length),
        ("brand", data.brand, Brand._meta.get_field("name").max_length),
        ("product_url", data.product_url, Product._meta.get_field("product_url").max_length),
        ("image URL", data.image_url, Product._meta.get_field("image_url").max_length),
    ]
    for name, value, limit in lengths:
        if len(value) > limit:
            raise ProductRejected(
                f"The {name} is longer than {limit} characters ({len(value)}); please shorten it."
            )
    for name, value in (("product_url", data.product_url), ("image URL", data.image_url)):
        if value and not url_is_http(value):
            raise ProductRejected(f'The {name} "{value[:100]}" is not an http(s) address.')
    if not (len(data.currency) == 3 and data.currency.isascii() and data.currency.isalpha()) or (
        data.currency != data.currency.upper()
    ):
        raise ProductRejected(
            f'The currency "{data.currency[:20]}" is not a three-letter ISO 4217 code such as KRW or USD.'
        )
    price = data.price
    if not isinstance(price, Decimal) or not price.is_finite() or price < 0 or price > PRICE_MAX:
        raise ProductRejected(f"The price {str(price)[:30]} is not between 0 and {PRICE_MAX}.")


def brand_get_or_create(*, name: str) -> Brand | None:
    name = " ".join(name.split())
    if not name:
        return None
    brand = Brand.objects.filter(name__iexact=name).first()
    if brand:
        return brand
    limit = Brand._meta.get_field("slug").max_length
    base = (slugify(name, allow_unicode=True) or "brand")[:limit]
    slug, n = base, 1
    while Brand.objects.filter(slug=slug).exists():
        n += 1
        suffix = f"-{n}"
        # A suffix on a slug already at the column's length must replace its end, not overflow it.
        slug = base[: limit - len(suffix)] + suffix
    return Brand.objects.create(name=name, slug=slug)


def category_seed() -> None:
    """Make sure every garment kind of shop.garments has its Category row (idempotent).

    Migration 0002 seeds them on a new database; this restores them where a database was
    emptied (a test flush) and adds kinds added to the code later.
    """
    from shop.garments import GARMENT_KINDS

    for position, (slug, name) in enumerate(GARMENT_KINDS.items()):
        Category.objects.get_or_create(slug=slug, defaults={"name": str(name), "position": position})


def category_get(*, slug: str) -> Category | None:
    return Category.objects.filter(slug=slug).first() if slug else None


@transaction.atomic
def product_upsert(*, source, data: ProductData, seen_at=None) -> tuple[Product, UpsertResult]:
    """Create or update the product (source, external id); record price changes.

    Idempotent: the same data twice leaves one product and one price-history row.
    The row is locked while it is compared, so two crawls of one source cannot race.
    Raises ProductRejected (nothing written) for data that does not fit (product_data_check).
    """
    product_data_check(data)
    seen_at = seen_at or timezone.now()
    brand = brand_get_or_create(name=data.brand)
    category = category_get(slug=data.category)
    product = Product.objects.select_for_update().filter(source=source, external_id=data.external_id).first()
    if product is None:
        product = Product.objects.create(
            source=source,
            external_id=data.external_id,
            brand=brand,
            category=category,
            first_seen_at=seen_at,
            last_seen_at=seen_at,
            **{f: getattr(data, f) for f in _PLAIN_FIELDS},
        )
        _record_price(product, seen_at)
        return product, UpsertResult.CREATED

    changed = [f for f in _PLAIN_FIELDS if getattr(product, f) != getattr(data, f)]
    if brand is not None and product.brand_id != brand.pk:
        changed.append("brand")
    if category is not None and product.category_id != category.pk:
        changed.append("category")
    price_changed = any(f in changed for f in ("price", "currency", "in_stock"))
    for field in changed:
        value = {"brand": brand, "category": category}.get(field, getattr(data, field, None))
        setattr(product, field, value)
    product.last_seen_at = seen_at
    product.is_active = True
    product.save(update_fields=[*changed, "last_seen_at", "is_active", "updated_at"])
    if price_changed:
        _record_price(product, seen_at)
    return product, UpsertResult.UPDATED if changed else UpsertResult.UNCHANGED


def _record_price(product: Product, when) -> None:
    PriceHistory.objects.create(
        product=product,
        price=product.price,
        currency=product.currency,
        in_stock=product.in_stock,
        recorded_at=when,
    )


def product_image_store(*, product: Product, data: bytes, max_bytes: int | None = None) -> bool:
    """Validate and store the product's image; returns True when the image changed.

    A changed image marks the product for (re)embedding. Raises ImageRejected for bad
    bytes, leaving the stored image untouched.
    """
    decoded = image_decode(data, max_bytes=max_bytes)
    if product.image and product.image_sha256 == decoded.sha256:
        if product.image_error:
            product.image_error = ""
            product.save(update_fields=["image_error", "updated_at"])
        return False
    old_name = product.image.name if product.image else ""
    product.image.save(f"{decoded.sha256[:16]}.{decoded.extension}", ContentFile(data), save=False)
    product.image_sha256 = decoded.sha256
    product.image_error = ""
    product.needs_embedding = True
    product.save(update_fields=["image", "image_sha256", "image_error", "needs_embedding", "updated_at"])
    if old_name and old_name != product.image.name:
        transaction.on_commit(lambda: product.image.storage.delete(old_name))
    return True


def product_delete(*, product: Product) -> None:
    """Delete a product and its stored image: the file first, then the row (with its
    vectors, listing and price history), so a file that cannot be deleted (OSError, raised)
    keeps the row that finds it again, and no file outlives its row unnoticed."""
    if product.image.name:
        product.image.storage.delete(product.image.name)
    product.delete()


def product_image_flag(*, product: Product, reason: str, unmark: bool = False) -> bool:
    """Record why the product's image could not be used (shown in the admin); ``unmark``
    also clears needs_embedding (nothing to embed until the image changes).

    Only while the stored image is still the one ``product`` was loaded with: a crawl or an
    import may have replaced it since (a good image must not inherit the old one's flag, or
    lose its mark). Returns False, changing nothing, when it was replaced.
    """
    changes = {"image_error": reason[:2000], "updated_at": timezone.now()}
    if unmark:
        changes["needs_embedding"] = False
    flagged = bool(Product.objects.filter(pk=product.pk, image_sha256=product.image_sha256).update(**changes))
    if flagged:
        for name, value in changes.items():
            setattr(product, name, value)
    return flagged


@dataclass
class ImportReport:
    """What a feed import did; ``errors`` holds (line number, reason) per rejected row."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    images_stored: int = 0
    errors: list[tuple[int, str]] = dataclasses.field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.errors)


def catalog_import(*, path: Path, source, progress: bool = False) -> ImportReport:
    """Import a CSV / JSON Lines feed (columns in shop.feeds) into ``source``.

    Every row is its own transaction: a bad row (unreadable values, unknown category,
    missing or corrupt image) is reported with its line number and leaves nothing behind,
    and the good rows land. Importing the same feed again changes nothing; a changed
    price updates the product and its price history. Raises FeedError when the file as
    a whole cannot be read. Products whose image changed are marked for embedding, and the
    mark is announced (shop.signals.products_marked).
    """
    from shop.feeds import FeedRowError, feed_line_count, feed_read, feed_row_clean

    path = Path(path)
    report = ImportReport()
    rows = feed_read(path)
    with tqdm(
        total=feed_line_count(path),
        unit="row",
        desc=path.name,
        disable=None if progress else True,
        leave=False,
    ) as bar:
        for line, values in rows:
            bar.update(1)
            try:
                if isinstance(values, FeedRowError):
                    raise values
                row = feed_row_clean(values, line=line)
                result, image_changed = _feed_row_import(row=row, source=source, folder=path.parent)
            except (FeedRowError, ImageRejected, ProductRejected) as exc:
                report.errors.append((line, str(exc)))
                continue
            setattr(report, result.value, getattr(report, result.value) + 1)
            report.images_stored += image_changed
    if report.images_stored:
        # New or changed photos were marked needs_embedding; whoever indexes them hears it once
        # the rows are visible (shop.signals).
        products_marked_announce(sender="shop.import", source=source)
    return report


@dataclass
class RatesImportReport:
    """What an exchange-rate import did; ``errors`` holds (line or item number, reason)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = dataclasses.field(default_factory=list)


def exchange_rates_import(*, path: Path, source: str = "") -> RatesImportReport:
    """Store the rates of an operator's CSV or JSON file (shop.currency.exchange_rate_file_rows).

    One rate per (base, currency, date): importing the same file again changes nothing, a
    corrected rate for a date replaces it. Bad rows are reported and skipped, good rows land.
    Raises RatesFileError when the file as a whole cannot be read.
    """
    from shop.currency import exchange_rate_file_rows, rate_row_parse

    path = Path(path)
    report = RatesImportReport()
    for number, raw in exchange_rate_file_rows(path):
        try:
            row = rate_row_parse(raw, default_source=source or path.name)
        except ValueError as exc:
            report.errors.append((number, str(exc)))
            continue
        existing = ExchangeRate.objects.filter(base=row.base, currency=row.currency, as_of=row.as_of).first()
        if existing is None:
            ExchangeRate.objects.create(
                base=row.base, currency=row.currency, as_of=row.as_of, rate=row.rate, source=row.source
            )
            report.created += 1
        elif existing.rate != row.rate or existing.source != row.source:
            existing.rate, existing.source = row.rate, row.source
            existing.save(update_fields=["rate", "source", "updated_at"])
            report.updated += 1
        else:
            report.unchanged += 1
    return report


def _feed_row_import(*, row, source, folder: Path) -> tuple[UpsertResult, bool]:
    from shop.feeds import FeedRowError

    # The image is read (or downloaded) before the row is locked, so a slow shop server
    # never holds a transaction open.
    existing = Product.objects.filter(source=source, external_id=row.data.external_id).first()
    data = _feed_image_bytes(row=row, folder=folder, product=existing)
    with transaction.atomic():
        product, result = product_upsert(source=source, data=row.data)
        if data is None or (
            product.image
            and not product.image_error
            and product.image_sha256 == hashlib.sha256(data).hexdigest()
        ):
            return result, False  # the stored image is already this one
        try:
            changed = product_image_store(product=product, data=data)
        except ImageRejected as exc:
            raise FeedRowError(f"The image {row.image[:200]} cannot be used: {exc}") from None
    if changed and result is UpsertResult.UNCHANGED:
        result = UpsertResult.UPDATED
    return result, changed


def _feed_image_bytes(*, row, folder: Path, product: Product | None) -> bytes | None:
    from shop.feeds import FeedRowError

    if row.image_is_url:
        if product and product.image and product.image_url == row.image and not product.image_error:
            return None  # this URL's photo is already stored: no download on re-import
        from config.fetching import FetchError, fetch_image_bytes

        try:
            return fetch_image_bytes(row.image)
        except FetchError as exc:
            raise FeedRowError(f"The image {row.image[:200]} could not be downloaded: {exc}") from None
    folder = folder.resolve()
    target = (folder / row.image).resolve()
    if not target.is_relative_to(folder):
        raise FeedRowError(
            f"The image path {row.image} points outside the feed's folder; "
            "use a path relative to the feed file, or an http(s) URL."
        )
    try:
        return target.read_bytes()
    except FileNotFoundError:
        raise FeedRowError(
            f"The image file {row.image} does not exist next to the feed; check the path."
        ) from None
    except OSError as exc:
        raise FeedRowError(f"The image file {row.image} cannot be read ({exc.strerror}).") from None


# --- Attributes (shop.attributes, ProductAttribute) -------------------------------------------


@dataclass(frozen=True)
class AttributeRecord:
    """A computed attribute of one product: ``value`` "" when ``method`` cannot run here."""

    product_id: int
    name: str
    value: str
    score: float | None
    method: str
    image_sha256: str = ""


def product_attributes_record(*, records: list[AttributeRecord]) -> tuple[int, int]:
    """Store computed attributes in one upsert. A staff correction is never overwritten: the
    upsert's conflict clause skips rows set by staff, decided by PostgreSQL on the row as it is
    when written, so a correction saved while a re-index runs is kept too. Values outside the
    vocabulary are refused (ValueError) before anything is written. Returns (written, kept
    because staff-set); of two records for one product and attribute, the last counts."""
    for record in records:
        spec = ATTRIBUTES.get(record.name)
        if spec is None or (record.value and record.value not in spec.values):
            raise ValueError(
                f"{record.name}={record.value!r} is not in the attribute vocabulary (shop.attributes)."
            )
    latest = {(r.product_id, r.name): r for r in records}
    if not latest:
        return 0, 0
    table = connection.ops.quote_name(ProductAttribute._meta.db_table)
    rows = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, now(), now())"] * len(latest))
    params = []
    for r in latest.values():
        score = r.score if r.value else None  # unavailable has no score (a constraint)
        params += [
            r.product_id,
            r.name,
            r.value,
            score,
            r.method,
            ProductAttribute.Source.COMPUTED,
            r.image_sha256,
        ]
    # Django's bulk_create(update_conflicts=True) has no WHERE on its DO UPDATE: written here.
    sql = (
        f"INSERT INTO {table} (product_id, name, value, score, method, source, image_sha256, created_at, "
        f"updated_at) VALUES {rows} "
        "ON CONFLICT (product_id, name) DO UPDATE SET value = EXCLUDED.value, score = EXCLUDED.score, "
        "method = EXCLUDED.method, image_sha256 = EXCLUDED.image_sha256, updated_at = EXCLUDED.updated_at "
        f"WHERE {table}.source <> %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, ProductAttribute.Source.STAFF])
        written = cursor.rowcount
    return written, len(latest) - written


def product_attribute_correct(*, attribute: ProductAttribute, user=None) -> ProductAttribute:
    """Save ``attribute`` (new, or edited by staff: its name and value set) as a staff
    correction, which computations never overwrite. Raises ValueError for a value outside
    the vocabulary."""
    spec = ATTRIBUTES.get(attribute.name)
    if spec is None or attribute.value not in spec.values:
        raise ValueError(
            f"{attribute.name}={attribute.value!r} is not in the attribute vocabulary (shop.attributes)."
        )
    attribute.score = None
    attribute.method = ""
    attribute.source = ProductAttribute.Source.STAFF
    attribute.corrected_by = user if user is not None and user.pk else None
    attribute.save()
    return attribute


def products_mark_for_embedding(*, product_ids=None) -> int:
    """Mark products for (re)embedding (the embeddable ones; None: every one) and clear a
    flagged image error, so the indexer tries again. Returns how many were marked. Announcing
    it is the caller's part (shop.signals)."""
    qs = Product.objects.embeddable()
    if product_ids is not None:
        qs = qs.filter(pk__in=list(product_ids))
    return qs.update(needs_embedding=True, image_error="")
