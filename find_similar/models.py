"""Find similar's records: the photos shoppers searched with and the regions searched on them.

Moved from the recommender with their rows (migrations find_similar 0001, recommender 0007):
the tables were renamed, every row and id kept.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from pgvector.django import HalfVectorField

from config.storage import upload_storage
from shop.models import TimeStampedModel


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
    # In the private "uploads" storage (config/storage.py): no public URL; the result
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
    # masks run-length encoded (find_similar.refine.mask_encode).
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
        return reverse("find_similar:find_similar_result", kwargs={"pk": self.pk})


class QueryRegion(TimeStampedModel):
    """One searched region of an upload - a detected garment, a box (snapped to the grid, see
    refine.box_snap) or the whole photo - with its query vector, computed once per model on
    the "query" queue (find_similar.tasks.query_region_embed) rather than in a web request.

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
