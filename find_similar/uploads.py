"""Find similar: shoppers' uploaded photos, from upload to results.

upload → validate (shop.images.image_decode) → store upright → segment (query queue, or
in-process without a broker) → garments with masks → chosen garment, or a box snapped to a
grid and refined by GrabCut → recommender.query.region_embed (the code that indexed the
catalogue), once per region on the query queue (QueryRegion) → kNN with filters → results,
logged on the upload. The recommender is reached only through recommender.query.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from PIL import Image

from config.publishing import QueueUnavailable, task_publish
from find_similar.models import QueryImage, QueryRegion
from find_similar.refine import (
    box_clip,
    box_refine,
    box_snap,
    mask_box,
    mask_decode,
    mask_encode,
    mask_outline,
)
from find_similar.refinements import refinements_apply
from recommender.query import (
    ModelUnavailable,
    active_model_key,
    product_histograms,
    region_colour,
    region_embed,
    similar_attribute_counts,
    similar_products,
)
from shop.attributes import COLOUR, FACETS, PATTERN
from shop.clients import client_address
from shop.garments import GARMENT_CATEGORIES
from shop.images import DecodedImage, ImageRejected, image_decode

logger = logging.getLogger(__name__)

# JPEG quality of the stored copy: visually lossless for a search photo, a fraction of a PNG.
STORE_JPEG_QUALITY = 90


def client_hash(request) -> str:
    """A keyed hash of the client's address (the log can group uploads without storing IPs)."""
    address = client_address(request)
    return hashlib.sha256(f"{settings.SECRET_KEY}:{address}".encode()).hexdigest()[:32]


def upload_decode(data: bytes) -> DecodedImage:
    """Decode a shopper's photo with the upload limits: bytes, pixels (FIND_SIMILAR_MAX_PIXELS,
    lower than the catalogue's), smallest side (FIND_SIMILAR_MIN_SIDE), reduced on decoding to
    the stored size (FIND_SIMILAR_IMAGE_MAX_SIDE). Raises ImageRejected with the shopper's message."""
    return image_decode(
        data,
        max_bytes=settings.UPLOAD_MAX_BYTES,
        max_pixels=settings.FIND_SIMILAR_MAX_PIXELS,
        max_side=settings.FIND_SIMILAR_IMAGE_MAX_SIDE,
        min_side=settings.FIND_SIMILAR_MIN_SIDE,
    )


def _store_copy(image: Image.Image) -> tuple[ContentFile, tuple[int, int]]:
    side = settings.FIND_SIMILAR_IMAGE_MAX_SIDE
    if max(image.size) > side:  # upload_decode has reduced it already; a new copy, never in place
        scale = side / max(image.size)
        image = image.resize(
            (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
            Image.Resampling.LANCZOS,
        )
    buffer = io.BytesIO()
    # No metadata in the stored file: Pillow writes an image's "comment" back into a JPEG
    # unless told otherwise, and EXIF (GPS) or ICC data must not travel either.
    image.save(buffer, format="JPEG", quality=STORE_JPEG_QUALITY, optimize=True, comment=b"", exif=b"")
    return ContentFile(buffer.getvalue()), image.size


def upload_create(
    *, decoded: DecodedImage, size_bytes: int, client: str = "", source_product=None
) -> tuple[QueryImage, bool]:
    """Store an upload (already decoded and validated) and queue its garment detection.

    The same photo from the same client while its earlier upload is still kept is not
    stored twice: that upload is returned (created=False), so a double submit or a
    reload costs nothing. Not a failed one, nor one still pending after the waiting page gave
    up (its task was lost): sending the photo again is how the shopper is told to retry.

    Raises QueueUnavailable, keeping nothing, when the task broker does not take the task.
    """
    gave_up = timezone.now() - timedelta(seconds=settings.FIND_SIMILAR_SEGMENT_TIMEOUT)
    existing = (
        QueryImage.objects.filter(sha256=decoded.sha256, client_hash=client, source_product=source_product)
        .exclude(status=QueryImage.Status.FAILED)
        .exclude(status=QueryImage.Status.PENDING, created_at__lt=gave_up)
        .first()
    )
    if existing is not None:
        return existing, False
    content, (width, height) = _store_copy(decoded.image)
    upload = QueryImage(
        sha256=decoded.sha256,
        size_bytes=size_bytes,
        client_hash=client,
        source_product=source_product,
        width=width,
        height=height,
    )
    upload.image.save(f"{decoded.sha256[:16]}.jpg", content, save=False)
    upload.save()
    try:
        # Right away in a request (autocommit); at commit time inside a caller's transaction.
        transaction.on_commit(lambda: upload_segment_queue(upload=upload))
    except QueueUnavailable:
        upload_delete(upload=upload)  # a 503 keeps nothing of the shopper's
        raise
    return upload, True


def upload_segment_queue(*, upload: QueryImage) -> None:
    """Queue the garment detection of an upload (the "query" queue); raises QueueUnavailable.

    The task expires when the waiting page gives up (FIND_SIMILAR_SEGMENT_TIMEOUT after the
    upload): a worker that reaches it later would work for nobody.
    """
    from find_similar.tasks import query_segment_upload

    expires = upload.created_at + timedelta(seconds=settings.FIND_SIMILAR_SEGMENT_TIMEOUT)
    task_publish(query_segment_upload, str(upload.pk), expires=expires)


def uploads_requeue_stale(*, now=None) -> int:
    """Queue again the pending uploads with no news for FIND_SIMILAR_REQUEUE_SECONDS whose
    waiting page has not given up yet: their task was lost (a broker restarted without
    persistence). Segmentation is idempotent, so a slow task that was not lost costs one
    repeat at most. Returns how many were queued; with the broker down, none (next sweep)."""
    now = now or timezone.now()
    stale = QueryImage.objects.filter(
        status=QueryImage.Status.PENDING,
        created_at__gte=now - timedelta(seconds=settings.FIND_SIMILAR_SEGMENT_TIMEOUT),
        updated_at__lt=now - timedelta(seconds=settings.FIND_SIMILAR_REQUEUE_SECONDS),
    ).order_by("created_at")
    queued = 0
    for upload in stale.only("id", "created_at"):
        # "Last queued at" for the next sweep: a pending upload is not otherwise updated.
        QueryImage.objects.filter(pk=upload.pk).update(updated_at=now)
        try:
            upload_segment_queue(upload=upload)
        except QueueUnavailable:
            logger.warning("Stale uploads not queued again: the task broker is unavailable")
            break
        queued += 1
    if queued:
        logger.info("Queued %d stale pending uploads again", queued)
    return queued


def upload_from_product(*, product, client: str = "") -> tuple[QueryImage, bool]:
    """An upload made of a product's own photo ("Find similar to this look")."""
    if not product.image:
        raise ImageRejected(_("This product has no photo to search with yet. Please try another product."))
    try:
        with product.image.open("rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ImageRejected(_("This product's photo is missing. Please try another product.")) from exc
    decoded = image_decode(
        data,
        max_bytes=max(len(data), 1),
        max_side=settings.FIND_SIMILAR_IMAGE_MAX_SIDE,
        min_side=settings.FIND_SIMILAR_MIN_SIDE,
    )
    return upload_create(decoded=decoded, size_bytes=len(data), client=client, source_product=product)


def upload_image(upload: QueryImage) -> Image.Image:
    with upload.image.open("rb") as fh:
        image = Image.open(fh)
        image.load()
    return image.convert("RGB")


def upload_segment(*, upload: QueryImage) -> QueryImage:
    """Detect the garments on an upload and store them (boxes, scores, RLE masks).

    Missing segmenter weights are not a failure: the garments are placed on the person's
    body instead (find_similar.detection), or there are none and the page offers the main
    object and the crop box. Any other error marks it failed with a message for the
    shopper; the detail goes to the log.
    """
    from find_similar.detection import garments_detect

    started = time.perf_counter()
    try:
        image = upload_image(upload)
        detected = garments_detect(image=image)
        upload.segmenter_unavailable = detected.segmenter_unavailable
        upload.garments = detected.garments
        upload.status = QueryImage.Status.READY
        upload.error_message = ""
    except Exception:
        logger.exception("Upload %s: garment detection failed", upload.pk)
        upload.status = QueryImage.Status.FAILED
        # Stored untranslated: the result page translates it for each reader's language.
        upload.error_message = gettext_noop(
            "Something went wrong while looking for garments on this photo. Please try again, "
            "or try another photo."
        )
    upload.segmented_at = timezone.now()
    upload.save(
        update_fields=[
            "status",
            "error_message",
            "segmenter_unavailable",
            "garments",
            "segmented_at",
            "updated_at",
        ]
    )
    logger.info("Upload %s segmented in %.2f s", upload.pk, time.perf_counter() - started)
    return upload


def upload_problem(upload: QueryImage) -> str | None:
    """Why a stored upload cannot be searched, as a message for the shopper; None when it can.

    Uploads stored before the size rules (FIND_SIMILAR_MIN_SIDE) can be a 1 x 1 pixel photo:
    their result page says so instead of failing on every visit.
    """
    if min(upload.width, upload.height) < settings.FIND_SIMILAR_MIN_SIDE:
        return _(
            "This photo is too small to search with; please use one at least %(side)s px on each side."
        ) % {"side": settings.FIND_SIMILAR_MIN_SIDE}
    return None


def upload_fail(*, upload: QueryImage, message: str) -> QueryImage:
    """Mark an upload failed with a message for the shopper (stored in English, gettext_noop)."""
    upload.status = QueryImage.Status.FAILED
    upload.error_message = message
    upload.segmented_at = timezone.now()
    upload.save(update_fields=["status", "error_message", "segmented_at", "updated_at"])
    return upload


def upload_timed_out(upload: QueryImage) -> bool:
    """Still waiting for garment detection after FIND_SIMILAR_SEGMENT_TIMEOUT seconds."""
    limit = timedelta(seconds=settings.FIND_SIMILAR_SEGMENT_TIMEOUT)
    return upload.status == QueryImage.Status.PENDING and timezone.now() - upload.created_at > limit


# --- Searching ----------------------------------------------------------------------------------


@dataclass
class Choice:
    """What on the photo is searched: a detected garment, a box (refined), or the whole photo."""

    garment: int | None = None
    box: tuple[int, int, int, int] | None = None

    @property
    def whole(self) -> bool:
        return self.garment is None and self.box is None


@dataclass
class SearchOutcome:
    choice: Choice
    kind: str | None  # garment kind when a detected garment was chosen
    categories: list[str]
    results: list = field(default_factory=list)  # recommender.query.SimilarProduct
    query_histogram: np.ndarray | None = None
    result_histograms: dict[int, np.ndarray] = field(default_factory=dict)
    outline: list[list[tuple[int, int]]] = field(default_factory=list)  # of the searched region
    box: tuple[int, int, int, int] | None = None  # bounding box of the searched region
    model_key: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    refinements: list = field(default_factory=list)  # find_similar.refinements.Refinement
    # The chosen colour / pattern facets, and each facet's counts over the nearest
    # FIND_SIMILAR_FACET_POOL products (recommender.query.similar_attribute_counts).
    chosen: dict[str, str] = field(default_factory=dict)
    facet_counts: dict = field(default_factory=dict)


def upload_choice_default(upload: QueryImage) -> Choice:
    """The default garment (detection.garment_default). Without garments, the
    main object: a box over the whole photo refined by GrabCut, which beats the raw photo
    as a query (see refine.py); "Use the whole photo" remains a choice."""
    from find_similar.detection import garment_default

    index = garment_default(upload.garments)
    if index is not None:
        return Choice(garment=index)
    return Choice(box=(0, 0, upload.width, upload.height))


def upload_choice_normalize(*, upload: QueryImage, choice: Choice) -> Choice:
    """A choice this upload can search: a box ordered, clipped to the photo and snapped to the
    grid (refine.box_snap) - the whole photo when nothing of it is on the photo (a box drawn for
    another size, a photo of a pixel or two) - and a garment that exists (else the default)."""
    if choice.box is not None:
        try:
            box = box_clip(choice.box, width=upload.width, height=upload.height)
        except ValueError:
            return Choice()
        return Choice(box=box_snap(box, width=upload.width, height=upload.height))
    if choice.garment is not None and not 0 <= choice.garment < len(upload.garments):
        return upload_choice_default(upload)
    return choice


def region_key(choice: Choice) -> str:
    """The QueryRegion key of a normalized choice ("g0", "b0-0-512-384", "w")."""
    if choice.garment is not None:
        return f"g{choice.garment}"
    if choice.box is not None:
        return "b" + "-".join(map(str, choice.box))
    return "w"


def region_choice(key: str) -> Choice:
    if key.startswith("g"):
        return Choice(garment=int(key[1:]))
    if key.startswith("b"):
        x0, y0, x1, y1 = (int(v) for v in key[1:].split("-"))
        return Choice(box=(x0, y0, x1, y1))
    return Choice()


def upload_region(*, upload: QueryImage, choice: Choice) -> QueryRegion | None:
    """The region of a normalized choice for the active model, if it was ever requested."""
    return QueryRegion.objects.filter(
        upload=upload, key=region_key(choice), model_key=active_model_key()
    ).first()


def upload_region_request(*, upload: QueryImage, choice: Choice) -> QueryRegion:
    """The region of a normalized choice; a new one is created pending and queued on the
    "query" queue, expiring at FIND_SIMILAR_QUERY_DEADLINE (without a broker it is computed
    right here, as in the demo). Raises QueueUnavailable, keeping nothing, if the broker
    does not take the task."""
    from find_similar.tasks import query_region_embed

    region, created = QueryRegion.objects.get_or_create(
        upload=upload, key=region_key(choice), model_key=active_model_key()
    )
    if not created:
        return region
    expires = region.created_at + timedelta(seconds=settings.FIND_SIMILAR_QUERY_DEADLINE)
    try:
        # At once, not on commit: the page runs in autocommit, so the worker already sees the
        # row; and in-process (eager) the page can show the results of this same request.
        task_publish(query_region_embed, region.pk, expires=expires)
    except QueueUnavailable:
        region.delete()
        raise
    region.refresh_from_db()  # computed already when tasks run in-process
    return region


def upload_region_timed_out(region: QueryRegion) -> bool:
    """Still pending FIND_SIMILAR_QUERY_DEADLINE seconds after it was queued (its task expired)."""
    limit = timedelta(seconds=settings.FIND_SIMILAR_QUERY_DEADLINE)
    return region.status == QueryRegion.Status.PENDING and timezone.now() - region.created_at > limit


def upload_region_compute(*, region: QueryRegion) -> QueryRegion:
    """Cut out and embed a region: a garment's mask, a box refined by GrabCut, or the whole
    photo, embedded exactly as the catalogue was (recommender.query.region_embed) with the region's
    model, plus its colour histogram. The query worker's work (query_region_embed).

    Missing weights mark it failed with error "unavailable" (the page says so, 503); any
    other error with a sentence for the shopper, the detail in the log.
    """
    started = time.perf_counter()
    upload = region.upload
    choice = region_choice(region.key)
    mask = None
    try:
        image = upload_image(upload)
        if choice.garment is not None:
            mask = mask_decode(upload.garments[choice.garment]["mask"])
        elif choice.box is not None:
            mask = box_refine(image, choice.box)
        vector, model_key = region_embed(image=image, mask=mask, model=region.model_key.split("@", 1)[0])
        if model_key != region.model_key:
            raise RuntimeError(
                f"the query worker embeds with {model_key}, the site searches {region.model_key}"
            )
        region.vector = vector
        region.histogram = np.asarray(region_colour(image=image, mask=mask)).round(5).tolist()
        region.mask = mask_encode(mask) if choice.box is not None else None
        region.status = QueryRegion.Status.READY
        region.error = ""
    except ModelUnavailable as exc:
        logger.error("Upload %s region %s: the embedder is unavailable: %s", upload.pk, region.key, exc)
        region.status, region.error = QueryRegion.Status.FAILED, "unavailable"
    except Exception:
        logger.exception("Upload %s region %s: embedding failed", upload.pk, region.key)
        region.status = QueryRegion.Status.FAILED
        # Stored untranslated: the result page translates it for each reader's language.
        region.error = gettext_noop(
            "Something went wrong while cutting out this part of your photo. Please try again, "
            "or choose another garment or box."
        )
    region.save(update_fields=["vector", "histogram", "mask", "status", "error", "updated_at"])
    logger.info(
        "Upload %s region %s embedded in %.2f s", upload.pk, region.key, time.perf_counter() - started
    )
    return region


def upload_search(
    *,
    upload: QueryImage,
    choice: Choice,
    categories: list[str] | None,
    price_min: Decimal | None = None,
    price_max: Decimal | None = None,
    currency: str | None = None,
    brand: str | None = None,
    count: int = 10,
    region: QueryRegion | None = None,
    refinements: list | None = None,
    chosen: dict[str, str] | None = None,
) -> SearchOutcome:
    """Search the catalogue for the chosen region of an upload and log what was shown.

    ``categories=None`` means "preselect from the garment" (GARMENT_CATEGORIES); an empty
    list means every category. ``region``: the choice's ready region (the result page gets it
    from the query worker first); without one it is computed here, in-process. Raises
    ModelUnavailable when the embedder's weights are missing. ``refinements``
    (find_similar.refinements.Refinement, from the page's "like this, but ..." box) move the
    query or filter by colour; each comes back marked applied or with its reason. ``chosen``:
    the colour and pattern facets picked on the page (values of shop.attributes); a chosen
    colour replaces the refinements' colour words.
    """
    chosen = {name: value for name, value in (chosen or {}).items() if name in FACETS and value}
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    choice = upload_choice_normalize(upload=upload, choice=choice)
    kind = upload.garments[choice.garment]["kind"] if choice.garment is not None else None
    if categories is None:
        categories = list(GARMENT_CATEGORIES.get(kind, [])) if kind else []
    if region is None or region.status != QueryRegion.Status.READY:
        region = upload_region(upload=upload, choice=choice)
        if region is None or region.status != QueryRegion.Status.READY:
            region = upload_region_compute(
                region=region or upload_region_request_local(upload=upload, choice=choice)
            )
    if region.status == QueryRegion.Status.FAILED:
        raise ModelUnavailable(region.error) if region.error == "unavailable" else RuntimeError(region.error)
    if choice.garment is not None:
        mask = mask_decode(upload.garments[choice.garment]["mask"])
    else:
        mask = mask_decode(region.mask) if region.mask else None
    query_histogram = np.asarray(region.histogram) if region.histogram is not None else None
    timings["region"] = time.perf_counter() - clock

    clock = time.perf_counter()
    refined = refinements_apply(upload=upload, region=region, mask=mask, refinements=refinements or [])
    vector, model_key = refined.query or (
        np.asarray(getattr(region.vector, "to_list", lambda: region.vector)(), dtype=np.float32),
        region.model_key,
    )
    timings["refine"] = time.perf_counter() - clock
    # The photo's colours would pull against "in green": words decide the colour then.
    rerank_histogram = None if refined.colours or refined.query else query_histogram
    colour_names = [chosen[COLOUR]] if COLOUR in chosen else refined.colours
    # The shopper's filters, the same for the results and for the facets' counts.
    narrowed = {
        "categories": categories or None,
        "price_min": price_min,
        "price_max": price_max,
        "currency": currency,
        "brand": brand or None,
        "exclude_ids": [upload.source_product_id] if upload.source_product_id else (),
    }
    results = similar_products(
        vector,
        model_key=model_key,
        colour_names=colour_names,
        pattern_names=[chosen[PATTERN]] if PATTERN in chosen else (),
        **narrowed,
        k=count,
        query_histogram=rerank_histogram,
    )
    if rerank_histogram is not None and settings.RECOMMENDER_COLOUR_WEIGHT:
        # The colour re-rank read the results' histograms already.
        histograms = {r.product.pk: np.asarray(r.histogram) for r in results if r.histogram is not None}
    else:
        histograms = product_histograms(product_ids=[r.product.pk for r in results])
    timings["knn"] = time.perf_counter() - clock

    clock = time.perf_counter()
    # One more nearest-ids search, without the facets (each facet counts under the others),
    # and one grouped count: the search above cannot serve it, as it stops at the page's
    # results and is narrowed by the facets themselves.
    facet_counts = similar_attribute_counts(
        vector,
        model_key=model_key,
        names=FACETS,
        chosen=chosen,
        pool=settings.FIND_SIMILAR_FACET_POOL,
        colour_names=refined.colours,
        **narrowed,
    )
    timings["facets"] = time.perf_counter() - clock

    searched: dict = {"whole": True}
    if choice.garment is not None:
        searched = {"garment": choice.garment, "kind": kind}
    elif choice.box is not None:
        searched = {"box": list(choice.box), "mask": region.mask}
    filters = {
        "categories": categories,
        "price_min": _price_text(price_min),
        "price_max": _price_text(price_max),
        "currency": currency,
        "brand": brand or None,
    }
    if refined.refinements:
        filters["refine"] = [r.text for r in refined.refinements]
    filters.update(chosen)
    shown = [{"product": r.product.pk, "distance": round(r.distance, 5)} for r in results]
    _search_log(upload=upload, chosen=searched, filters=filters, results=shown, model_key=model_key)

    return SearchOutcome(
        choice=choice,
        kind=kind,
        categories=categories,
        results=results,
        query_histogram=query_histogram,
        result_histograms=histograms,
        outline=mask_outline(mask) if mask is not None else [],
        box=mask_box(mask) if mask is not None else (0, 0, upload.width, upload.height),
        model_key=model_key,
        timings=timings,
        refinements=refined.refinements,
        chosen=chosen,
        facet_counts=facet_counts,
    )


def upload_region_request_local(*, upload: QueryImage, choice: Choice) -> QueryRegion:
    """The region's row for an in-process computation (no task queued)."""
    region, _ = QueryRegion.objects.get_or_create(
        upload=upload, key=region_key(choice), model_key=active_model_key()
    )
    return region


def upload_delete(*, upload: QueryImage) -> None:
    """Delete an upload: its photo file first, then its row.

    In that order because the row is how the file is found again: a file that cannot be
    deleted (OSError, raised to the caller) keeps its row, so retention (or the admin) tries
    again, while a row left without its file by a crash in between is simply deleted next
    time (deleting a missing file is not an error). The other order orphaned the photo for good.
    """
    if upload.image.name:
        upload.image.storage.delete(upload.image.name)
    upload.delete()


def _price_text(value: Decimal | None) -> str | None:
    """A price bound as the shopper would write it in the search log: 20000, not 20000.00."""
    if value is None:
        return None
    return format(value.normalize(), "f")


def _search_log(*, upload: QueryImage, chosen: dict, filters: dict, results: list, model_key: str) -> None:
    """Keep the latest search on the upload (the admin shows it; a box's GrabCut mask is
    reused from it), writing only when it changed: a reload or a shared link writes nothing.
    A log, not data anyone waits for: the commit does not wait for the disk flush
    (synchronous_commit off for this transaction; a crash loses at most the last instant's
    entries, never consistency)."""
    latest = json.loads(json.dumps([chosen, filters, results, model_key], cls=DjangoJSONEncoder))
    if latest == [upload.chosen, upload.filters, upload.results, upload.model_key]:
        return
    upload.chosen, upload.filters, upload.results, upload.model_key = latest
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
        upload.save(update_fields=["chosen", "filters", "results", "model_key", "updated_at"])


def uploads_delete_expired(*, now=None) -> int:
    """Delete uploads older than FIND_SIMILAR_RETENTION_DAYS, photo files and rows; returns how
    many went. One whose file cannot be deleted is logged and left for the next run."""
    now = now or timezone.now()
    before = now - timedelta(days=settings.FIND_SIMILAR_RETENTION_DAYS)
    deleted = failed = 0
    for upload in QueryImage.objects.expired(before=before).only("id", "image").iterator():
        try:
            upload_delete(upload=upload)
        except OSError as exc:
            failed += 1
            logger.warning("Upload %s: its photo could not be deleted (%s); retried next run", upload.pk, exc)
            continue
        deleted += 1
    if deleted or failed:
        logger.info(
            "Deleted %d uploads older than %s (%d left to retry)", deleted, before.isoformat(), failed
        )
    return deleted
