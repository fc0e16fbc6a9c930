"""Embeddings of product images, one row per (product, model key, region).

Storage decision: one ``halfvec`` column *without* fixed dimensions holds every model's
vectors, and each registered model gets a partial HNSW index over an expression that casts
its rows to their dimension, ``(vector::halfvec(D)) halfvec_cosine_ops WHERE model_name =
'...'``. Why: pgvector's HNSW takes at most 2,000 dims for ``vector`` but 4,000 for
``halfvec``, so ResNet50's 2048-d vectors need halfvec; one table keeps a model switch a
matter of inserting rows under a new key while the old rows keep serving (no schema change
per model); a partial index per model keeps each graph small and never mixes dimensions.
Half precision costs nothing measurable in ranking for unit vectors (3 significant digits)
and halves the index. Queries must use the same expression (selectors.py) to hit the index.
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models import Q
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from pgvector.django import HalfVectorField, HnswIndex

from recommender.embedders.registry import REGISTRY
from recommender.storage import upload_storage
from shop.models import TimeStampedModel

# HNSW build parameters: pgvector's defaults (m=16, ef_construction=64) suit catalogues of
# up to a few million rows; raise them for recall at build-time cost.
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64


def vector_as(dim: int):
    """The expression the per-model index is built on; queries use the same one."""
    return Cast("vector", HalfVectorField(dimensions=dim))


class Region(models.TextChoices):
    FULL = "full", _("whole image")
    GARMENT = "garment", _("main garment")


class Embedding(TimeStampedModel):
    product = models.ForeignKey(
        "shop.Product", on_delete=models.CASCADE, related_name="embeddings", verbose_name=_("product")
    )
    # Registry key ("resnet50"): chooses the partial index and the dimension.
    model_name = models.CharField(_("model"), max_length=50)
    # Name and weights version ("resnet50@imagenet1k-v1"): vectors are only compared
    # within one key.
    model_key = models.CharField(_("model key"), max_length=100)
    region = models.CharField(_("region"), max_length=20, choices=Region.choices, default=Region.FULL)
    vector = HalfVectorField(_("vector"))
    # The image the vector was computed from; a changed image needs a new vector.
    image_sha256 = models.CharField(_("image SHA-256"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("embedding")
        verbose_name_plural = _("embeddings")
        constraints = [
            models.UniqueConstraint(fields=["product", "model_key", "region"], name="embedding_uniq"),
        ]
        indexes = [
            models.Index(fields=["model_key", "product"], name="embedding_model_product"),
            *(
                HnswIndex(
                    OpClass(vector_as(spec.dim), name="halfvec_cosine_ops"),
                    name=spec.index_name,
                    condition=Q(model_name=spec.name),
                    m=HNSW_M,
                    ef_construction=HNSW_EF_CONSTRUCTION,
                )
                for spec in REGISTRY.values()
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.model_key} {self.region}"


class ProductColour(TimeStampedModel):
    """RGB statistics of a product's garment (for the colour term and the plots)."""

    product = models.OneToOneField(
        "shop.Product", on_delete=models.CASCADE, related_name="colour", verbose_name=_("product")
    )
    # 3 x 32 list: R, G and B histograms of the garment pixels, each summing to 1.
    histogram = models.JSONField(_("RGB histogram"))
    mean_rgb = models.JSONField(_("mean RGB"))
    std_rgb = models.JSONField(_("RGB standard deviation"))
    image_sha256 = models.CharField(_("image SHA-256"), max_length=64, blank=True)
    # 64-bit perceptual hash (imagehash.phash, 16 hex digits) of the whole product image,
    # computed in the same pass as the vector: finds the same photo re-encoded, resized or
    # re-listed by another shop (selectors.NEAR_DUPLICATE_MAX_BITS). Blank: not hashed yet
    # (`manage.py reindex --hashes` fills it in).
    phash = models.CharField(_("perceptual hash"), max_length=16, blank=True)
    # 256-bit perceptual hash (imagehash.phash with hash_size=16, 64 hex digits): sees details
    # the 64-bit hash averages away (stripes, buttons), so two different shirts of one colour
    # and cut are not "the same item" (recommender.duplicates). Blank: not hashed yet.
    phash_fine = models.CharField(_("fine perceptual hash"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("product colour")
        verbose_name_plural = _("product colours")

    def __str__(self) -> str:
        return f"{self.product_id} colour"


# --- Find similar: shoppers' uploads ----------------------------------------------------------


class QueryImageQuerySet(models.QuerySet):
    def expired(self, *, before) -> QueryImageQuerySet:
        return self.filter(created_at__lt=before)


class QueryImage(TimeStampedModel):
    """A photo a shopper searched with: the garments found on it and what was shown.

    The id is a random UUID, so a result page has a stable, unguessable URL to share.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for garment detection")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The decoded photo, upright and re-encoded as JPEG (so no EXIF, GPS included, is kept).
    # In the private "uploads" storage (recommender/storage.py): no public URL; the result
    # page's photo view streams it.
    image = models.ImageField(_("photo"), upload_to="uploads/%Y/%m/", storage=upload_storage)
    width = models.PositiveIntegerField(_("width"), default=0)
    height = models.PositiveIntegerField(_("height"), default=0)
    sha256 = models.CharField(_("SHA-256 of the uploaded file"), max_length=64, db_index=True)
    size_bytes = models.PositiveIntegerField(_("uploaded size (bytes)"))
    # Set when the search started from a product page ("Find similar to this look").
    source_product = models.ForeignKey(
        "shop.Product",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("from product"),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    error_message = models.TextField(_("error"), blank=True)
    # Garment detection could not run (no weights): the page offers the crop box instead.
    segmenter_unavailable = models.BooleanField(_("garment detection unavailable"), default=False)
    # [{kind, box: [x0, y0, x1, y1], score, area_share, mask: {size, runs}}] in photo pixels,
    # masks run-length encoded (recommender.refine.mask_encode).
    garments = models.JSONField(_("garments found"), default=list, blank=True)
    # The latest search: {"garment": i} | {"box": [...], "mask": {...}} | {"whole": true}.
    chosen = models.JSONField(_("chosen garment or box"), default=dict, blank=True)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    # [{"product": id, "distance": d}] as shown, and the model the query was embedded with.
    results = models.JSONField(_("results shown"), default=list, blank=True)
    model_key = models.CharField(_("model key"), max_length=100, blank=True)
    segmented_at = models.DateTimeField(_("garments detected at"), null=True, blank=True)
    # A keyed hash of the client's address: enough to spot abuse, not to identify anyone.
    client_hash = models.CharField(_("client"), max_length=64, blank=True, db_index=True)

    objects = QueryImageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("uploaded photo")
        verbose_name_plural = _("uploaded photos")
        indexes = [models.Index(fields=["created_at"], name="queryimage_created")]

    def __str__(self) -> str:
        return f"{self.id} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("recommender:find_similar_result", kwargs={"pk": self.pk})


class QueryRegion(TimeStampedModel):
    """One searched region of an upload - a detected garment, a box (snapped to the grid, see
    refine.box_snap) or the whole photo - with its query vector, computed once per model on
    the "query" queue (recommender.tasks.query_region_embed) rather than in a web request.

    Changing filters, paging or coming back re-runs only the kNN on the stored vector. Rows go
    with their upload (retention deletes both).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for the query worker")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")

    upload = models.ForeignKey(
        QueryImage, on_delete=models.CASCADE, related_name="regions", verbose_name=_("upload")
    )
    # "g<index>" (a garment), "b<x0>-<y0>-<x1>-<y1>" (a snapped box, photo pixels) or "w".
    key = models.CharField(_("region"), max_length=60)
    # The model the vector is (to be) computed with; vectors are only compared within one.
    model_key = models.CharField(_("model key"), max_length=100)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    vector = HalfVectorField(_("vector"), null=True, blank=True)
    # The region's RGB histogram (3 x 32) for the colour term and the plots.
    histogram = models.JSONField(_("RGB histogram"), null=True, blank=True)
    # A box's GrabCut-refined mask, run-length encoded (refine.mask_encode); garments keep
    # theirs on the upload, the whole photo needs none.
    mask = models.JSONField(_("mask"), null=True, blank=True)
    # "unavailable": the embedder's weights are missing (the page says so, 503); else a sentence.
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("searched region")
        verbose_name_plural = _("searched regions")
        constraints = [
            models.UniqueConstraint(fields=["upload", "key", "model_key"], name="queryregion_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.upload_id} {self.key} ({self.status})"
