"""Writes for the recommender: embedding catalogue images, and the shared query path.

Catalogue images and shoppers' garments go through the same preprocessing
(preprocess.garment_on_white) and the same embedder, so both sides are comparable.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from PIL import Image

from recommender.attributes import attributes_compute
from recommender.colour import rgb_histogram, rgb_histogram_and_stats
from recommender.duplicates import image_phash, image_phash_fine, near_duplicate_groups
from recommender.embedders import active_model_key, get_embedder
from recommender.models import Embedding, ProductColour, ReducedVector, Region
from recommender.preprocess import garment_on_white
from recommender.projection import projection_for_write
from shop.garments import GARMENT_CATEGORIES
from shop.images import ImageRejected, image_decode
from shop.models import Product
from shop.services import AttributeRecord, product_attributes_record, product_image_flag

logger = logging.getLogger(__name__)


@dataclass
class BatchResult:
    model_key: str
    embedded: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)  # product id -> reason
    missing: list[int] = field(default_factory=list)  # ids no longer in the catalogue
    # Wall seconds per stage: "decode" (read, decode, crop, hashes, colour and attributes),
    # "embed" (the model), "write" (the transaction); logged, and read by bench.bulk_index.
    seconds: dict[str, float] = field(default_factory=dict)


def query_embed(*, image: Image.Image, mask: np.ndarray | None = None, model: str | None = None):
    """Embed a garment (``mask`` on ``image``; the whole image without one) exactly as the
    catalogue is embedded. Returns (vector, model_key)."""
    embedder = get_embedder(model)
    vector = embedder.embed([garment_on_white(image, mask)])[0]
    return vector, embedder.model_key


def query_colour(*, image: Image.Image, mask: np.ndarray | None = None) -> np.ndarray:
    """The garment's RGB histogram, computed on the same crop as the catalogue's."""
    return rgb_histogram(garment_on_white(image, mask))


def catalogue_crop(*, image: Image.Image, category_slug: str | None) -> tuple[Image.Image, str]:
    """The crop a catalogue image is embedded from, and its region.

    With RECOMMENDER_SEGMENT_CATALOGUE, the garment matching the product's category (else
    the largest one) is cut out; otherwise, or when nothing is found, the whole shot.
    """
    if settings.RECOMMENDER_SEGMENT_CATALOGUE:
        from recommender.segmentation import get_segmenter

        garments = get_segmenter().segment(image)
        matching = [g for g in garments if category_slug in GARMENT_CATEGORIES.get(g.kind, [])]
        chosen = max(matching or garments, key=lambda g: g.area_share, default=None)
        if chosen is not None:
            return garment_on_white(image, chosen.mask), Region.GARMENT
    return garment_on_white(image), Region.FULL


def _product_image(product: Product) -> Image.Image:
    """The product's stored image, decoded with the shop's checks (raises ImageRejected)."""
    if not product.image:
        raise ImageRejected("The product has no stored image. Re-import or re-crawl it to fetch one.")
    try:
        with product.image.open("rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ImageRejected(
            f"The stored image file {product.image.name} is missing ({exc.strerror}). "
            "Re-import or re-crawl the product to fetch it again."
        ) from exc
    # Stored images passed the size check when they were fetched; decode them without it.
    return image_decode(data, max_bytes=max(len(data), 1)).image


@dataclass
class _PreparedImage:
    """One product's image work done before the model runs: its crop and what is stored
    beside the vector, or why the image cannot be used (``error``)."""

    product: Product
    error: str = ""
    crop: Image.Image | None = None
    region: str = ""
    colour: ProductColour | None = None
    attributes: list[AttributeRecord] = field(default_factory=list)


def _image_prepare(product: Product) -> _PreparedImage:
    """Decode and crop the product's image, and compute its hashes, colour statistics and
    attributes. No database access: this runs in the decode pool's threads."""
    try:
        image = _product_image(product)
        crop, region = catalogue_crop(
            image=image, category_slug=product.category.slug if product.category else None
        )
        # Perceptual hashes of the whole decoded image, taken here so no image is decoded twice.
        phash, phash_fine = image_phash(image), image_phash_fine(image)
    except ImageRejected as exc:
        return _PreparedImage(product=product, error=str(exc))
    histogram, stats = rgb_histogram_and_stats(crop)
    colour = ProductColour(
        product=product,
        histogram=histogram.round(5).tolist(),
        mean_rgb=stats["mean"],
        std_rgb=stats["std"],
        image_sha256=product.image_sha256,
        phash=phash,
        phash_fine=phash_fine,
    )
    return _PreparedImage(
        product=product,
        crop=crop,
        region=region,
        colour=colour,
        attributes=_attribute_records(product, crop),
    )


def images_prepare(*, products: list[Product], threads: int | None = None) -> list[_PreparedImage]:
    """``_image_prepare`` for each product, in order, on ``threads`` threads
    (None: RECOMMENDER_DECODE_THREADS; 0 or 1: in this thread).

    Threads pay off because Pillow releases the GIL while it decodes and resizes, and numpy
    while it counts colours. Catalogue segmentation stays in this thread: the segmenter is a
    torch model that already uses every core, and two at once would only double its memory.
    """
    threads = settings.RECOMMENDER_DECODE_THREADS if threads is None else threads
    # A flag's reason is in the caller's language, as it was when decoding ran in its thread.
    language = translation.get_language()

    def prepare(product: Product) -> _PreparedImage:
        with translation.override(language):
            return _image_prepare(product)

    if threads <= 1 or len(products) <= 1 or settings.RECOMMENDER_SEGMENT_CATALOGUE:
        return [prepare(product) for product in products]
    with ThreadPoolExecutor(max_workers=min(threads, len(products)), thread_name_prefix="decode") as pool:
        return list(pool.map(prepare, products))


def embedding_compute_batch(*, product_ids: list[int], model: str | None = None) -> BatchResult:
    """Embed the products' images with ``model`` (None: the active one) and upsert their
    vectors and colour statistics.

    Idempotent: re-running a batch overwrites the same (product, model key, region) rows,
    so a batch retried after a crash leaves exactly one vector per product and model. A
    product whose image is missing or corrupt is flagged with the reason (and unmarked, so
    it is not retried until its image changes); the rest of the batch goes on.

    Images are prepared on RECOMMENDER_DECODE_THREADS threads (images_prepare), and the
    batch is written with a fixed number of statements whatever its size.
    """
    embedder = get_embedder(model)
    result, products = _batch_load(product_ids=product_ids, model_key=embedder.model_key)
    started = time.perf_counter()
    prepared = images_prepare(products=products)
    result.seconds["decode"] = time.perf_counter() - started
    return _batch_finish(embedder=embedder, result=result, prepared=prepared)


def _batch_load(*, product_ids: list[int], model_key: str) -> tuple[BatchResult, list[Product]]:
    """The batch's products in ``product_ids`` order, and a result listing the missing ones."""
    result = BatchResult(model_key=model_key)
    products = {p.pk: p for p in Product.objects.filter(pk__in=product_ids).select_related("category")}
    result.missing = [pk for pk in product_ids if pk not in products]
    return result, [products[pk] for pk in product_ids if pk in products]


def _batch_finish(*, embedder, result: BatchResult, prepared: list[_PreparedImage]) -> BatchResult:
    """Flag the unusable images, embed the rest, write them."""
    ready = []
    for item in prepared:
        if not item.error:
            ready.append(item)
            continue
        pk = item.product.pk
        logger.warning("Product %s not embedded: %s", pk, item.error)
        # Flagged and unmarked only if the image is still the one that failed, the same
        # check as the success path: a crawl may have replaced it (and deleted the old
        # file) since the batch loaded the row; the new image still needs its vector.
        if not product_image_flag(product=item.product, reason=item.error, unmark=True):
            logger.info("Product %s: image replaced during the batch; left for the next one", pk)
        result.failed[pk] = item.error
    if not ready:
        return result

    started = time.perf_counter()
    vectors = embedder.embed([item.crop for item in ready])
    result.seconds["embed"] = time.perf_counter() - started
    started = time.perf_counter()
    _batch_write(embedder=embedder, ready=ready, vectors=vectors)
    result.seconds["write"] = time.perf_counter() - started
    result.embedded = [item.product.pk for item in ready]
    logger.info(
        "Embedded %d products with %s (%d failed; %s)",
        len(result.embedded),
        result.model_key,
        len(result.failed),
        ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in result.seconds.items()),
    )
    return result


def _batch_write(*, embedder, ready: list[_PreparedImage], vectors: np.ndarray) -> None:
    """Store a batch's vectors (and their PCA coordinates, once the model has a projection),
    colour rows and attributes in one transaction, in a fixed number of statements however
    many products it holds."""
    clears_flag = embedder.model_key == active_model_key()
    with transaction.atomic():
        # The PCA coordinates for the compressed index, under the projection's share lock.
        projection = projection_for_write(embedder.model_key)
        embedded = Embedding.objects.bulk_create(
            [
                Embedding(
                    product=item.product,
                    model_name=embedder.name,
                    model_key=embedder.model_key,
                    region=item.region,
                    vector=vector,
                    image_sha256=item.product.image_sha256,
                )
                for item, vector in zip(ready, vectors, strict=True)
            ],
            update_conflicts=True,
            unique_fields=["product", "model_key", "region"],
            update_fields=["vector", "image_sha256", "model_name", "updated_at"],
        )
        if projection is not None:
            # bulk_create with update_conflicts reads back each row's id, new or updated.
            ReducedVector.objects.bulk_create(
                [
                    ReducedVector(
                        embedding_id=row.pk,
                        product_id=row.product_id,
                        model_name=row.model_name,
                        model_key=row.model_key,
                        vector=point,
                    )
                    for row, point in zip(embedded, projection.apply(vectors), strict=True)
                ],
                update_conflicts=True,
                unique_fields=["embedding"],
                update_fields=["vector", "product_id", "model_name", "model_key"],
            )
        # One vector per product and model: drop a region left from another catalogue setting.
        by_region: dict[str, list[int]] = {}
        for item in ready:
            by_region.setdefault(item.region, []).append(item.product.pk)
        stale = Q()
        for region, ids in by_region.items():
            stale |= Q(product_id__in=ids) & ~Q(region=region)
        Embedding.objects.filter(stale, model_key=embedder.model_key).delete()
        ProductColour.objects.bulk_create(
            [item.colour for item in ready],
            update_conflicts=True,
            unique_fields=["product"],
            update_fields=[
                "histogram",
                "mean_rgb",
                "std_rgb",
                "image_sha256",
                "phash",
                "phash_fine",
                "updated_at",
            ],
        )
        product_attributes_record(records=[record for item in ready for record in item.attributes])
        if clears_flag:
            # Only products whose image did not change while we were embedding it.
            unchanged = Q()
            for item in ready:
                unchanged |= Q(pk=item.product.pk, image_sha256=item.product.image_sha256)
            Product.objects.filter(unchanged).update(needs_embedding=False, updated_at=timezone.now())


def _attribute_records(product: Product, crop: Image.Image) -> list[AttributeRecord]:
    return [
        AttributeRecord(
            product_id=product.pk,
            name=guess.name,
            value=guess.value,
            score=guess.score,
            method=guess.method,
            image_sha256=product.image_sha256,
        )
        for guess in attributes_compute(
            crop, pattern_from_spectrum_on=settings.RECOMMENDER_PATTERN_FROM_SPECTRUM
        )
    ]


def attributes_compute_batch(*, product_ids: list[int]) -> tuple[int, dict[int, str]]:
    """(Re)compute the attributes of products from their photos, without embedding them
    (``reindex --attributes``): the same crop and methods as an embedding batch. Staff
    corrections are kept. Returns (how many products were computed, {product id: reason} for
    unreadable images, which are flagged as in embedding_compute_batch)."""
    products = Product.objects.filter(pk__in=list(product_ids)).select_related("category").order_by("pk")
    records, done, failed = [], 0, {}
    for product in products:
        try:
            crop, _ = catalogue_crop(
                image=_product_image(product),
                category_slug=product.category.slug if product.category else None,
            )
        except ImageRejected as exc:
            failed[product.pk] = str(exc)
            product_image_flag(product=product, reason=str(exc))
            continue
        records += _attribute_records(product, crop)
        done += 1
    product_attributes_record(records=records)
    return done, failed


def image_hashes_fill(*, product_ids: list[int]) -> tuple[int, dict[int, str]]:
    """Fill in the perceptual hash of products indexed before hashes were kept (their
    colour row has a blank ``phash`` or ``phash_fine``; selectors.products_missing_phash lists them). Only
    decodes the images, no model runs. Returns (how many were hashed, {product id: reason}
    for unreadable images, which are flagged as in embedding_compute_batch)."""
    qs = ProductColour.objects.filter(
        Q(phash="") | Q(phash_fine=""), product_id__in=list(product_ids)
    ).select_related("product")
    hashed, failed = 0, {}
    for colour in qs.order_by("product_id"):
        try:
            image = _product_image(colour.product)
        except ImageRejected as exc:
            failed[colour.product_id] = str(exc)
            product_image_flag(product=colour.product, reason=str(exc))
            continue
        ProductColour.objects.filter(pk=colour.pk).update(
            phash=image_phash(image), phash_fine=image_phash_fine(image), updated_at=timezone.now()
        )
        hashed += 1
    return hashed, failed


@dataclass
class GroupsResult:
    groups: int = 0  # groups of two or more products
    grouped: int = 0  # products in them
    changed: int = 0  # products whose group was written


def same_item_groups_refresh() -> GroupsResult:
    """Regroup the active catalogue's near-duplicate photos (the same item at several shops,
    or re-listed) and store each product's group (Product.same_item_group: the group's
    smallest id; null when alone). Only changed rows are written; safe to run twice.

    A hash counts only while it belongs to the product's current image (the colour row's
    SHA-256 matches): a replaced photo leaves its group until it is embedded again.
    """
    rows = (
        ProductColour.objects.filter(product__is_active=True)
        .values_list(
            "product_id", "product__image_sha256", "image_sha256", "phash", "phash_fine", "histogram"
        )
        .order_by("product_id")
    )
    items = [
        (pk, sha256, phash if hashed_sha == sha256 else "", histogram, fine if hashed_sha == sha256 else "")
        for pk, sha256, hashed_sha, phash, fine, histogram in rows
    ]
    wanted = {pk: ids[0] for ids in near_duplicate_groups(items) for pk in ids}
    result = GroupsResult(groups=len(set(wanted.values())), grouped=len(wanted))
    current = dict(Product.objects.filter(same_item_group__isnull=False).values_list("pk", "same_item_group"))
    changes: dict[int | None, list[int]] = {}
    for pk in set(current) | set(wanted):
        if current.get(pk) != wanted.get(pk):
            changes.setdefault(wanted.get(pk), []).append(pk)
    with transaction.atomic():
        for group, ids in changes.items():
            # Not updated_at: that would invalidate the product's cached alternatives for nothing.
            result.changed += Product.objects.filter(pk__in=ids).update(same_item_group=group)
    if result.changed:
        logger.info("Same-item groups: %d products regrouped", result.changed)
    return result
