"""A look: one product per garment of a shopper's photo, chosen to fit a budget.

The id is a random UUID, so a look has a stable, unguessable URL to share. It goes with its
upload (retention deletes both): the photo is the shopper's, and the look is made of it.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from shop.models import TimeStampedModel


class Look(TimeStampedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    upload = models.ForeignKey(
        "find_similar.QueryImage", on_delete=models.CASCADE, related_name="looks", verbose_name=_("upload")
    )
    budget = models.DecimalField(_("budget"), max_digits=12, decimal_places=2)
    # Prices are compared within this currency only (products in others are not candidates).
    currency = models.CharField(_("currency"), max_length=3)
    # Options: candidates below this similarity (percent) are not chosen; in stock only; one
    # brand (null: any); the solver may leave a garment empty to fit the budget.
    min_similarity = models.PositiveSmallIntegerField(_("minimum similarity (%)"), default=0)
    in_stock_only = models.BooleanField(_("in stock only"), default=True)
    brand = models.ForeignKey(
        "shop.Brand",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("brand"),
    )
    allow_empty = models.BooleanField(_("garments may be left empty"), default=False)
    # Set once the products were chosen (the garments' vectors come from the query worker first).
    solved_at = models.DateTimeField(_("chosen at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("look")
        verbose_name_plural = _("looks")
        constraints = [
            models.CheckConstraint(condition=models.Q(budget__gt=0), name="look_budget_positive"),
            models.CheckConstraint(
                condition=models.Q(min_similarity__lte=100), name="look_min_similarity_percent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.budget} {self.currency})"

    def get_absolute_url(self) -> str:
        return reverse("looks:look_detail", kwargs={"pk": self.pk})


class LookSlot(models.Model):
    """One garment of a look and the product chosen for it (none: left empty)."""

    look = models.ForeignKey(Look, on_delete=models.CASCADE, related_name="slots", verbose_name=_("look"))
    position = models.PositiveSmallIntegerField(_("position"))
    # The upload's region (find_similar.uploads.region_key): "g<index>" a garment, "b<box>" a box.
    region_key = models.CharField(_("region"), max_length=60)
    kind = models.CharField(_("garment kind"), max_length=20, blank=True)  # blank: a box
    product = models.ForeignKey(
        "shop.Product",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product"),
    )
    # As chosen: the title tells a deleted product from an empty garment, the price a changed one.
    product_title = models.CharField(_("product title when chosen"), max_length=500, blank=True)
    price = models.DecimalField(
        _("price when chosen"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    similarity = models.FloatField(_("similarity"), null=True, blank=True)
    # The shopper's own pick (a swap): kept when the rest of the look is chosen again.
    pinned = models.BooleanField(_("picked by the shopper"), default=False)

    class Meta:
        ordering = ["look", "position"]
        verbose_name = _("look garment")
        verbose_name_plural = _("look garments")
        constraints = [models.UniqueConstraint(fields=["look", "position"], name="lookslot_uniq")]

    def __str__(self) -> str:
        return f"{self.look_id} #{self.position} {self.region_key}"
