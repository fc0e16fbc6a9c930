from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from shop.models import Source, currency_code_check

# Listing.missed_runs stops counting here: PostgreSQL's smallint maximum (its docs, "Numeric
# Types"). On a 5-minute schedule a product gone for about 114 days reaches it
# (32767 x 5 min = 113.8 days); past it the count only means "at least this many", which is all
# the inactivation rule needs, so the threshold below is capped at the same number.
MISSED_RUNS_MAX = 32767


def cron_validate(value: str) -> None:
    """A five-field cron expression Celery beat understands."""
    from celery.schedules import crontab

    fields = value.split()
    if len(fields) != 5:
        raise ValidationError(
            _("Enter five fields: minute hour day-of-month month day-of-week, for example '0 3 * * *'.")
        )
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    try:
        crontab(minute, hour, day_of_week, day_of_month, month_of_year)
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            _("This schedule is not a valid cron expression (%(error)s). Example: '30 2 * * 1-5'."),
            params={"error": exc},
        ) from exc


class CrawlProfile(Source):
    """How a shop.Source is crawled: where to start, how fast, how often. One-to-one with its
    source and sharing its id (multi-table inheritance), so a profile has the source's fields
    too (``profile.slug``, ``profile.kind``); a feed source has no profile."""

    source = models.OneToOneField(
        Source,
        on_delete=models.CASCADE,
        parent_link=True,
        primary_key=True,
        related_name="crawl_profile",
        verbose_name=_("source"),
    )
    base_url = models.URLField(_("base URL"), max_length=2000, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    start_urls = models.TextField(
        _("start URLs or category codes"),
        blank=True,
        help_text=_(
            "One per line. Musinsa: category codes such as 001 (tops) or 002 (outerwear). "
            "schema.org: sitemap.xml or listing page URLs. Shopify: leave empty to use the base URL."
        ),
    )
    pages_per_run = models.PositiveIntegerField(
        _("pages per run"),
        default=5,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Listing pages fetched per start URL in one run (also capped by CRAWLER_MAX_PAGES_PER_RUN)."
        ),
    )
    page_size = models.PositiveSmallIntegerField(
        _("page size"),
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(250)],
        help_text=_("Products per listing page for sources that accept a size (Musinsa, Shopify)."),
    )
    rate_limit = models.FloatField(
        _("rate limit"),
        default=1.0,
        validators=[MinValueValidator(0.01), MaxValueValidator(50)],
        help_text=_("Requests per second per host. robots.txt Crawl-delay wins when it is slower."),
    )
    concurrency = models.PositiveSmallIntegerField(
        _("concurrency"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(16)],
        help_text=_("Requests in flight per host (product pages and images)."),
    )
    schedule = models.CharField(
        _("schedule"),
        max_length=100,
        blank=True,
        validators=[cron_validate],
        help_text=_(
            "A cron expression (minute hour day-of-month month day-of-week), e.g. '0 3 * * *' for "
            "every night at 03:00. Leave empty to crawl only on demand."
        ),
    )
    inactivate_after_missed_runs = models.PositiveSmallIntegerField(
        _("inactivate after missed runs"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(MISSED_RUNS_MAX)],
        help_text=_(
            "A product missing from this many complete runs in a row is hidden from the shop (never deleted)."
        ),
    )
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="crawler_source",
        verbose_name=_("periodic task"),
    )

    class Meta:
        verbose_name = _("source")
        verbose_name_plural = _("sources")
        constraints = [
            models.CheckConstraint(condition=Q(rate_limit__gt=0), name="source_rate_limit_positive"),
        ]

    def clean(self) -> None:
        errors = {}
        lines = self.start_list
        if self.kind == self.Kind.MUSINSA:
            bad = [line for line in lines if not line.isdigit()]
            if bad or not lines:
                errors["start_urls"] = _(
                    "Enter Musinsa category codes, one per line, for example 001 (tops) or 002 (outerwear)."
                )
        elif self.kind in (self.Kind.SCHEMA_ORG, self.Kind.SHOPIFY):
            bad = [line for line in lines if not line.startswith(("http://", "https://"))]
            if bad:
                errors["start_urls"] = _("Each line must be an http(s) URL; check: %(line)s") % {
                    "line": bad[0]
                }
            if not lines and not self.base_url:
                errors["base_url"] = _(
                    "Enter the shop's address (or start URLs) so the crawler knows where to begin."
                )
        if self.currency and not currency_code_check(self.currency):
            errors["currency"] = _(
                "Enter a three-letter ISO currency code in capitals, for example USD or KRW."
            )
        if self.kind == self.Kind.SHOPIFY and not self.currency:
            errors["currency"] = _(
                "Shopify's product feed has no currency: enter the shop's, for example USD."
            )
        if errors:
            raise ValidationError(errors)

    @property
    def start_list(self) -> list[str]:
        return [line.strip() for line in self.start_urls.splitlines() if line.strip()]


class CrawlRunQuerySet(models.QuerySet):
    def running(self):
        return self.filter(status=CrawlRun.Status.RUNNING)

    def for_source(self, source):
        return self.filter(source=source)


class CrawlRun(models.Model):
    """One crawl of one source, with what it found and every error it met."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        PARTIAL = "partial", _("Finished with errors")
        FAILED = "failed", _("Failed")
        INTERRUPTED = "interrupted", _("Interrupted")

    source = models.ForeignKey(
        CrawlProfile, on_delete=models.CASCADE, related_name="runs", verbose_name=_("source")
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # True when every start URL was followed to its last page without a failed listing page:
    # only then do products not seen count as missed.
    complete = models.BooleanField(_("complete"), default=False)
    pages_fetched = models.PositiveIntegerField(_("pages fetched"), default=0)
    pages_failed = models.PositiveIntegerField(_("pages failed"), default=0)
    products_new = models.PositiveIntegerField(_("new products"), default=0)
    products_updated = models.PositiveIntegerField(_("updated products"), default=0)
    products_unchanged = models.PositiveIntegerField(_("unchanged products"), default=0)
    products_failed = models.PositiveIntegerField(_("failed products"), default=0)
    products_inactivated = models.PositiveIntegerField(_("inactivated products"), default=0)
    images_stored = models.PositiveIntegerField(_("images stored"), default=0)
    images_failed = models.PositiveIntegerField(_("images failed"), default=0)
    images_duplicate = models.PositiveIntegerField(
        _("images shared with another product"), default=0, help_text=_("Identical bytes (same SHA-256).")
    )
    # [{"url": ..., "reason": ...}, ...] - capped, see crawler.services.MAX_ERRORS_KEPT.
    errors = models.JSONField(_("errors"), default=list, blank=True)
    # Timing split (seconds): politeness waits, network, parsing and writing.
    timings = models.JSONField(_("timings"), default=dict, blank=True)

    objects = CrawlRunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("crawl run")
        verbose_name_plural = _("crawl runs")
        indexes = [models.Index(fields=["source", "-started_at"], name="crawlrun_source_started")]

    def __str__(self) -> str:
        return f"{self.source} @ {self.started_at:%Y-%m-%d %H:%M}"

    def get_absolute_url(self) -> str:
        return reverse("admin:crawler_crawlrun_change", args=[self.pk])


class Listing(models.Model):
    """What the crawler knows about one product beyond the catalogue: when it was last seen,
    how many complete runs in a row missed it, HTTP validators for its page and image, and
    where on its page each field was read (with the price flagged when that was unsure)."""

    class FieldSource(models.TextChoices):
        # crawler.extract.found.SOURCES, in the order they are tried.
        JSONLD = "jsonld", _("JSON-LD")
        MICRODATA = "microdata", _("Microdata")
        OG = "og", _("OpenGraph and meta tags")
        STATE_JSON = "state-json", _("Script data (JSON state)")
        DOM = "dom", _("Page text and attributes")

    product = models.OneToOneField(
        "shop.Product", on_delete=models.CASCADE, related_name="listing", verbose_name=_("product")
    )
    source = models.ForeignKey(
        CrawlProfile, on_delete=models.CASCADE, related_name="listings", verbose_name=_("source")
    )
    last_run = models.ForeignKey(
        CrawlRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("last seen in run"),
    )
    missed_runs = models.PositiveSmallIntegerField(
        _("missed runs"),
        default=0,
        validators=[MaxValueValidator(MISSED_RUNS_MAX)],
        help_text=_("Complete runs in a row that did not list this product; counting stops at 32767."),
    )
    page_url = models.URLField(_("page URL"), max_length=2000, blank=True, db_index=True)
    page_etag = models.CharField(_("page ETag"), max_length=500, blank=True)
    page_last_modified = models.CharField(_("page Last-Modified"), max_length=100, blank=True)
    image_url = models.URLField(_("stored image from"), max_length=2000, blank=True)
    image_etag = models.CharField(_("image ETag"), max_length=500, blank=True)
    image_last_modified = models.CharField(_("image Last-Modified"), max_length=100, blank=True)
    # Product pages only (schema.org sources): feeds and JSON APIs state their fields.
    price_source = models.CharField(
        _("price read from"), max_length=20, choices=FieldSource.choices, blank=True
    )
    price_confidence = models.FloatField(
        _("price confidence"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("How sure the rule that read the price was, from 0 to 1."),
    )
    price_unsure = models.BooleanField(
        _("price needs checking"),
        default=False,
        help_text=_(
            "The price was read with low confidence (below CRAWLER_PRICE_CONFIDENCE_MIN). It is shown "
            "in the shop; compare it with the shop's page and correct it on the product if needed."
        ),
    )
    # {"price": {"source": "dom", "confidence": 0.55, "rule": "..."}, "availability": ..., "brand": ...}
    field_sources = models.JSONField(_("where each field was read"), default=dict, blank=True)

    class Meta:
        verbose_name = _("listing")
        verbose_name_plural = _("listings")
        indexes = [
            models.Index(fields=["source", "last_run"], name="listing_source_last_run"),
            # The admin's "price needs checking" filter: few rows, so a partial index.
            models.Index(fields=["source"], condition=Q(price_unsure=True), name="listing_price_unsure"),
        ]

    def __str__(self) -> str:
        return f"{self.source}: {self.product_id}"
