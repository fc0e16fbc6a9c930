from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shop.attributes import ATTRIBUTES, attribute_value_label
from shop.garments import GARMENT_KINDS


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


def currency_code_check(value: str) -> bool:
    """An ISO 4217 code as the catalogue stores it: three capital letters (USD, KRW)."""
    return len(value) == 3 and value.isalpha() and value.isupper()


class Source(TimeStampedModel):
    """Where products come from: a feed that is imported, or a shop that is crawled (the
    crawl-specific settings are the source's crawler.CrawlProfile)."""

    class Kind(models.TextChoices):
        FEED = "feed", _("Product feed (CSV / JSON Lines)")
        MUSINSA = "musinsa", _("Musinsa category listing")
        SCHEMA_ORG = "schemaorg", _("schema.org product pages")
        SHOPIFY = "shopify", _("Shopify storefront")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.FEED)
    currency = models.CharField(
        _("currency"),
        max_length=3,
        blank=True,
        help_text=_("ISO 4217 code of the shop's prices when its data does not say (Shopify), e.g. USD."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.currency and not currency_code_check(self.currency):
            raise ValidationError(
                {"currency": _("Enter a three-letter ISO currency code in capitals, for example USD or KRW.")}
            )


class Brand(TimeStampedModel):
    name = models.CharField(_("name"), max_length=200, unique=True)
    slug = models.SlugField(_("slug"), max_length=200, unique=True, allow_unicode=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("brand")
        verbose_name_plural = _("brands")
        indexes = [GinIndex(fields=["name"], opclasses=["gin_trgm_ops"], name="brand_name_trgm")]

    def __str__(self) -> str:
        return self.name


class Category(TimeStampedModel):
    """A garment kind (see shop.garments); slugs match the recommender's garment labels."""

    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return str(self.display_name)

    @property
    def display_name(self) -> str:
        """The translated name for known garment kinds, the stored name otherwise."""
        return GARMENT_KINDS.get(self.slug, self.name)


class ProductQuerySet(models.QuerySet):
    def browsable(self) -> ProductQuerySet:
        """What shoppers may see, with the relations every listing shows."""
        return self.filter(is_active=True).select_related("brand", "category")

    def active(self) -> ProductQuerySet:
        return self.filter(is_active=True)

    def in_stock(self) -> ProductQuerySet:
        return self.filter(in_stock=True)

    def in_category(self, slug: str | None) -> ProductQuerySet:
        return self.filter(category__slug=slug) if slug else self

    def in_categories(self, slugs) -> ProductQuerySet:
        return self.filter(category__slug__in=list(slugs)) if slugs else self

    def by_brand(self, slug: str | None) -> ProductQuerySet:
        return self.filter(brand__slug=slug) if slug else self

    def price_between(
        self, low: Decimal | None, high: Decimal | None, *, currency: str | None = None
    ) -> ProductQuerySet:
        """Priced from ``low`` to ``high`` (inclusive). Amounts in different currencies are not
        comparable (there is no conversion), so with a bound and a ``currency`` only products
        priced in that currency remain."""
        qs = self
        if currency and (low is not None or high is not None):
            qs = qs.filter(currency=currency)
        if low is not None:
            qs = qs.filter(price__gte=low)
        if high is not None:
            qs = qs.filter(price__lte=high)
        return qs

    def with_attribute(self, name: str, value: str | None) -> ProductQuerySet:
        """Products whose attribute ``name`` is ``value`` (shop.attributes); all when no value."""
        if not value:
            return self
        return self.filter(
            models.Exists(
                ProductAttribute.objects.filter(product=models.OuterRef("pk"), name=name, value=value)
            )
        )

    def embeddable(self) -> ProductQuerySet:
        """Products an indexer can embed: active, with an image."""
        return self.filter(is_active=True).exclude(image="")

    def needing_embedding(self) -> ProductQuerySet:
        """The one definition of "needs embedding": embeddable and marked by a producer (an
        import, a crawl, an admin edit or action); the recommender's sweep reads this."""
        return self.embeddable().filter(needs_embedding=True)


class Product(TimeStampedModel):
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="products", verbose_name=_("source")
    )
    external_id = models.CharField(_("external id"), max_length=255)
    title = models.CharField(_("title"), max_length=500)
    brand = models.ForeignKey(
        Brand,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="products",
        verbose_name=_("brand"),
    )
    category = models.ForeignKey(
        Category,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="products",
        verbose_name=_("category"),
    )
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="KRW")
    in_stock = models.BooleanField(_("in stock"), default=True)
    product_url = models.URLField(_("product URL"), max_length=2000, blank=True)
    image_url = models.URLField(_("image URL"), max_length=2000, blank=True)
    image = models.ImageField(_("image"), upload_to="products/%Y/%m/", blank=True)
    image_sha256 = models.CharField(_("image SHA-256"), max_length=64, blank=True, db_index=True)
    image_error = models.TextField(_("image problem"), blank=True)
    # Marked when the image changes; the recommender's indexing task works through these.
    needs_embedding = models.BooleanField(_("needs embedding"), default=True)
    is_active = models.BooleanField(_("active"), default=True)
    first_seen_at = models.DateTimeField(_("first seen"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen"), default=timezone.now)
    # The same item (its photo, at another shop or re-listed): products whose photos are near
    # duplicates (recommender.duplicates) share the smallest product id of their group; null
    # when the product is alone. Written by recommender.services.same_item_groups_refresh.
    same_item_group = models.PositiveBigIntegerField(_("same-item group"), null=True, blank=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="product_source_external_id_uniq"),
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_non_negative"),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="product_currency_iso4217"
            ),
        ]
        indexes = [
            GinIndex(fields=["title"], opclasses=["gin_trgm_ops"], name="product_title_trgm"),
            models.Index(fields=["category", "price"], name="product_category_price"),
            models.Index(fields=["is_active", "in_stock"], name="product_active_stock"),
            models.Index(fields=["-created_at"], name="product_created_desc"),
            models.Index(fields=["id"], condition=Q(needs_embedding=True), name="product_needs_embedding"),
            models.Index(
                fields=["same_item_group"],
                condition=Q(same_item_group__isnull=False),
                name="product_same_item_group",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("shop:product_detail", kwargs={"pk": self.pk})


class PriceHistory(models.Model):
    """One row each time a product's price, currency or availability changes."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="price_history")
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    in_stock = models.BooleanField(_("in stock"))
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        verbose_name = _("price history entry")
        verbose_name_plural = _("price history")
        indexes = [models.Index(fields=["product", "-recorded_at"], name="pricehistory_product_time")]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="pricehistory_price_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.price} {self.currency} @ {self.recorded_at:%Y-%m-%d}"


class ExchangeRate(TimeStampedModel):
    """How many units of ``currency`` one unit of ``base`` bought on ``as_of``, as the
    operator's file said (``manage.py import_exchange_rates``). Prices in two currencies are
    compared through a base both have a rate against (shop.currency)."""

    base = models.CharField(_("base currency"), max_length=3)
    currency = models.CharField(_("currency"), max_length=3)
    # 1 base = rate currency. 12 decimals: 1 KRW is about 0.0007 USD, and a rate that small
    # still keeps 8 significant digits.
    rate = models.DecimalField(_("rate"), max_digits=24, decimal_places=12)
    as_of = models.DateField(_("rate date"))
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        ordering = ["-as_of", "base", "currency"]
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        constraints = [
            models.UniqueConstraint(fields=["base", "currency", "as_of"], name="exchangerate_pair_date_uniq"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchangerate_rate_positive"),
            models.CheckConstraint(
                condition=Q(base__regex=r"^[A-Z]{3}$") & Q(currency__regex=r"^[A-Z]{3}$"),
                name="exchangerate_currencies_iso4217",
            ),
            models.CheckConstraint(
                condition=~Q(base=models.F("currency")), name="exchangerate_two_currencies"
            ),
        ]

    def __str__(self) -> str:
        return f"1 {self.base} = {self.rate.normalize():f} {self.currency} ({self.as_of:%Y-%m-%d})"


def _attribute_vocabulary_check() -> Q:
    """Each stored value is one of its attribute's values, or "" (unavailable)."""
    condition = Q(value="")
    for name, spec in ATTRIBUTES.items():
        condition |= Q(name=name, value__in=list(spec.values))
    return condition


class ProductAttribute(TimeStampedModel):
    """One fact about a product's look (shop.attributes: pattern, colour, hood, logo, sleeve,
    neckline), computed from its photo or set by staff.

    ``value`` "" means unavailable: nothing here can compute it yet, and ``method`` names what
    would (the vision-language model), so pages say so rather than leave it out. A staff
    correction (``source`` staff) is never overwritten by a computation
    (shop.services.product_attributes_record); deleting it hands the attribute back.
    """

    class Source(models.TextChoices):
        COMPUTED = "computed", _("Computed from the photo")
        STAFF = "staff", _("Corrected by staff")

    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="attributes", verbose_name=_("product")
    )
    name = models.CharField(
        _("attribute"), max_length=30, choices=[(n, spec.label) for n, spec in ATTRIBUTES.items()]
    )
    value = models.CharField(_("value"), max_length=30, blank=True)
    # How sure the method was, 0-1 (its meaning is the method's); null for staff and unavailable.
    score = models.FloatField(_("score"), null=True, blank=True)
    method = models.CharField(_("method"), max_length=50, blank=True)
    source = models.CharField(_("set by"), max_length=10, choices=Source.choices, default=Source.COMPUTED)
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("corrected by"),
    )
    # The image the value was computed from: a new photo is computed again.
    image_sha256 = models.CharField(_("image SHA-256"), max_length=64, blank=True)

    class Meta:
        ordering = ["product", "name"]
        verbose_name = _("product attribute")
        verbose_name_plural = _("product attributes")
        constraints = [
            models.UniqueConstraint(fields=["product", "name"], name="productattribute_product_name_uniq"),
            models.CheckConstraint(
                condition=Q(name__in=list(ATTRIBUTES)), name="productattribute_name_known"
            ),
            models.CheckConstraint(
                condition=_attribute_vocabulary_check(), name="productattribute_vocabulary"
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=1),
                name="productattribute_score_0_1",
            ),
            # A correction says what the attribute is: staff never store "unavailable".
            models.CheckConstraint(
                condition=~Q(source="staff", value=""), name="productattribute_staff_has_value"
            ),
            models.CheckConstraint(
                condition=~Q(value="") | Q(score__isnull=True), name="productattribute_unavailable_no_score"
            ),
        ]
        indexes = [
            # Facet counts and filters: products with a given value.
            models.Index(fields=["name", "value", "product"], name="productattribute_facet"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.name}={self.value or '?'}"

    @property
    def value_label(self) -> str:
        return attribute_value_label(self.name, self.value)
