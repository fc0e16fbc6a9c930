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

from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models import Q
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _
from pgvector.django import HalfVectorField, HnswIndex

from recommender.embedders.registry import REGISTRY
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


class ReducedVector(models.Model):
    """An embedding's PCA coordinates (recommender.projection), for the model's compressed
    index: rows exist for a model key once `manage.py fit_projection` has run for it.

    A table of its own rather than a column of Embedding: a refit rewrites every row, and
    updating Embedding rows would insert each into the full-vector HNSW graph again."""

    embedding = models.OneToOneField(
        Embedding,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="reduced",
        verbose_name=_("embedding"),
    )
    # Copied from the embedding: the partial index's condition, a refit's delete, and the
    # columns a search's filters read (recommender.selectors), so a walk of this index joins
    # the product directly instead of going through the embedding row for each candidate.
    product = models.ForeignKey(
        "shop.Product", on_delete=models.CASCADE, related_name="+", verbose_name=_("product")
    )
    model_name = models.CharField(_("model"), max_length=50)
    model_key = models.CharField(_("model key"), max_length=100)
    vector = HalfVectorField(_("PCA coordinates"))

    class Meta:
        verbose_name = _("PCA coordinates")
        verbose_name_plural = _("PCA coordinates")
        indexes = [
            models.Index(fields=["model_key"], name="reducedvector_model_key"),
            # Euclidean distance on the PCA coordinates of unit vectors ranks like the cosine
            # distance of the vectors they come from, up to what the dropped components held.
            *(
                HnswIndex(
                    OpClass(vector_as(spec.compressed_dim), name="halfvec_l2_ops"),
                    name=spec.compressed_index_name,
                    condition=Q(model_name=spec.name),
                    m=HNSW_M,
                    ef_construction=HNSW_EF_CONSTRUCTION,
                )
                for spec in REGISTRY.values()
                if spec.compressed_dim
            ),
        ]

    def __str__(self) -> str:
        return f"{self.embedding_id} {self.model_key}"


class Projection(TimeStampedModel):
    """A PCA fitted on one model key's vectors (recommender.projection): ReducedVector holds
    ``(vector - mean) @ components.T`` of every row of that key. Refitted by
    ``manage.py fit_projection``, which rewrites those rows in the same transaction."""

    model_key = models.CharField(_("model key"), max_length=100, unique=True)
    model_name = models.CharField(_("model"), max_length=50)
    dim_in = models.PositiveIntegerField(_("vector dimensions"))
    dim_out = models.PositiveIntegerField(_("PCA dimensions"))
    # float32, little-endian: dim_in values, and dim_out rows of dim_in values.
    mean = models.BinaryField(_("mean"))
    components = models.BinaryField(_("components"))
    fitted_rows = models.PositiveIntegerField(_("vectors fitted on"))
    explained_variance = models.FloatField(_("share of variance kept"))

    class Meta:
        verbose_name = _("PCA projection")
        verbose_name_plural = _("PCA projections")
        constraints = [
            models.CheckConstraint(
                condition=Q(dim_out__gt=0) & Q(dim_out__lt=models.F("dim_in")), name="projection_dims"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model_key} {self.dim_in}->{self.dim_out}"
