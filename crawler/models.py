from django.db import models
from django.utils.translation import gettext_lazy as _

from shop.models import TimeStampedModel


class Source(TimeStampedModel):
    """Where products come from: a shop to crawl, or a feed that is imported."""

    class Kind(models.TextChoices):
        FEED = "feed", _("Product feed (CSV / JSON Lines)")
        MUSINSA = "musinsa", _("Musinsa category listing")
        SCHEMA_ORG = "schemaorg", _("schema.org product pages")
        SHOPIFY = "shopify", _("Shopify storefront")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.FEED)
    base_url = models.URLField(_("base URL"), max_length=2000, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")

    def __str__(self) -> str:
        return self.name
