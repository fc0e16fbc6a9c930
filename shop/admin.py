import datetime as dt

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from shop.admin_lists import BoundedChangeListAdmin
from shop.attributes import ATTRIBUTES
from shop.currency import exchange_rate_is_stale
from shop.images import ImageRejected, image_decode
from shop.models import Brand, Category, ExchangeRate, PriceHistory, Product, ProductAttribute
from shop.services import (
    product_attribute_correct,
    product_delete,
    product_image_store,
    products_mark_for_embedding,
)
from shop.signals import products_marked_announce, products_marked_send


def _thumbnail(product: Product, size: int) -> str:
    if not product.image:
        return "—"
    return format_html(
        '<img src="{}" alt="" style="width:{}px;height:{}px;object-fit:cover;border-radius:4px">',
        product.image.url,
        size,
        round(size * 1.25),
    )


class PriceHistoryInline(admin.TabularInline):
    """Read-only: the history is written by imports and crawls, never by hand."""

    model = PriceHistory
    fields = ("recorded_at", "price", "currency", "in_stock")
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    ordering = ("-recorded_at", "-id")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ProductAttributeForm(forms.ModelForm):
    """Staff correct an attribute by choosing its value; saving marks it staff-set."""

    # "" (not available yet) is shown as it is stored, but only a value can be saved.
    value = forms.ChoiceField(
        label=_("value"),
        required=False,
        choices=[
            ("", _("Not available yet")),
            *(
                (str(spec.label), [(value, words) for value, words in spec.values.items()])
                for spec in ATTRIBUTES.values()
            ),
        ],
    )

    class Meta:
        model = ProductAttribute
        fields = ("name", "value")

    def clean(self):
        data = super().clean()
        name, value = data.get("name"), data.get("value")
        if not value and self.has_changed():
            self.add_error(
                "value",
                gettext("Choose a value, or delete the row to let the next re-index compute it again."),
            )
        elif name and value and value not in ATTRIBUTES[name].values:
            words = ", ".join(str(w) for w in ATTRIBUTES[name].values.values())
            self.add_error(
                "value",
                gettext("This is not a value of %(attribute)s. Choose one of: %(values)s.")
                % {"attribute": ATTRIBUTES[name].label, "values": words},
            )
        return data


class ProductAttributeInline(admin.TabularInline):
    """What the photo shows. Computed values can be corrected here; a correction is marked as
    set by staff and is never overwritten by a re-index. Delete a row to hand the attribute
    back to the computation (the next re-index fills it in)."""

    model = ProductAttribute
    form = ProductAttributeForm
    fields = ("name", "value", "source", "score", "method", "corrected_by", "updated_at")
    readonly_fields = ("source", "score", "method", "corrected_by", "updated_at")
    extra = 0


class ProductAdminForm(forms.ModelForm):
    # No Meta: the admin builds it from ProductAdmin's fieldsets.

    def clean_image(self):
        """A new photo gets the same checks as a crawled one (type, size, damage, pixel bombs)."""
        upload = self.cleaned_data.get("image")
        if upload and "image" in self.changed_data:
            data = upload.read()
            upload.seek(0)
            try:
                image_decode(data)
            except ImageRejected as exc:
                raise forms.ValidationError(str(exc)) from None
        return upload


@admin.action(description=_("Re-index selected products (compute their image embeddings again)"))
def reindex_selected(modeladmin, request, queryset):
    """Mark the products for re-embedding and announce it: indexing is pulled, so whoever
    indexes the catalogue (the recommender) queues the work; current vectors keep serving."""
    count = products_mark_for_embedding(product_ids=queryset.values_list("pk", flat=True))
    _announce_marks(modeladmin, request)
    modeladmin.message_user(
        request,
        ngettext(
            "%(count)d product was queued for re-indexing; its vector is replaced when the worker is done.",
            "%(count)d products were queued for re-indexing; their vectors are replaced when the worker "
            "is done.",
            count,
        )
        % {"count": count},
        messages.SUCCESS,
    )


@admin.action(description=_("Re-index the whole catalogue (all active products)"))
def reindex_all(modeladmin, request, queryset):
    count = products_mark_for_embedding()
    _announce_marks(modeladmin, request)
    modeladmin.message_user(
        request,
        _(
            "%(count)d products were queued for re-indexing. Current vectors keep serving until "
            "each one is replaced."
        )
        % {"count": count},
        messages.SUCCESS,
    )


def _announce_marks(modeladmin, request) -> None:
    """Announce the marks now (changelist actions run in autocommit: they are saved). When the
    indexer could not queue the work, say so: the marks stay and its periodic sweep takes them."""
    if not products_marked_send(sender="shop.admin"):
        modeladmin.message_user(
            request,
            gettext(
                "The task queue is unavailable right now, so the products are marked but not queued "
                "yet; the periodic re-index sweep picks them up within 15 minutes."
            ),
            messages.WARNING,
        )


@admin.register(Product)
class ProductAdmin(BoundedChangeListAdmin, admin.ModelAdmin):
    form = ProductAdminForm
    list_display = (
        "thumbnail",
        "title",
        "brand",
        "category",
        "price",
        "currency",
        "in_stock",
        "is_active",
        "source",
        "updated_at",
    )
    list_display_links = ("thumbnail", "title")
    list_editable = ("price",)
    # listing__price_unsure: crawled prices read with low confidence, to compare with the shop's page.
    list_filter = (
        "category",
        "brand",
        "source",
        "is_active",
        "in_stock",
        "needs_embedding",
        "listing__price_unsure",
    )
    list_select_related = ("brand", "category", "source")
    search_fields = ("title", "external_id", "brand__name")
    autocomplete_fields = ("brand",)
    date_hierarchy = "created_at"
    list_per_page = 50
    readonly_fields = (
        "image_preview",
        "image_sha256",
        "image_error",
        "same_item_group",
        "first_seen_at",
        "last_seen_at",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("title", "brand", "category", ("price", "currency"), "in_stock", "is_active")}),
        (_("Origin"), {"fields": ("source", "external_id", "product_url", "first_seen_at", "last_seen_at")}),
        (
            _("Image"),
            {
                "fields": (
                    "image_preview",
                    "image",
                    "image_url",
                    "image_sha256",
                    "image_error",
                    "needs_embedding",
                    "same_item_group",
                )
            },
        ),
        (_("Record"), {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    inlines = [ProductAttributeInline, PriceHistoryInline]
    # Shops link over https; a bare "shop.example/x" typed in the admin means https too.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = [reindex_selected, reindex_all]

    def save_model(self, request, obj, form, change):
        upload = form.cleaned_data.get("image") if "image" in form.changed_data else None
        if not upload:
            super().save_model(request, obj, form, change)
            return
        # A photo uploaded here is stored like a crawled one: hashed, old file removed, and
        # the product marked for re-embedding.
        previous = form.initial.get("image")
        obj.image = previous.name if previous else ""
        super().save_model(request, obj, form, change)
        upload.seek(0)
        if product_image_store(product=obj, data=upload.read()):
            products_marked_announce(sender="shop.admin", source=obj.source)

    def save_formset(self, request, form, formset, change):
        if formset.model is not ProductAttribute:
            super().save_formset(request, form, formset, change)
            return
        # Every added or changed attribute is a staff correction (computations keep it).
        for attribute in formset.save(commit=False):
            product_attribute_correct(attribute=attribute, user=request.user)
        for attribute in formset.deleted_objects:
            attribute.delete()

    # Deleting a product deletes its image file too, file first (shop.services.product_delete).
    def delete_model(self, request, obj) -> None:
        self.delete_queryset(request, Product.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset) -> None:
        for product in queryset.select_related(None).only("id", "image"):
            try:
                product_delete(product=product)
            except OSError as exc:
                self.message_user(
                    request,
                    gettext(
                        "The image of product %(id)s could not be deleted (%(error)s), so the product "
                        "was kept. Check the storage, then delete it again."
                    )
                    % {"id": product.pk, "error": exc},
                    messages.ERROR,
                )

    @admin.display(description=_("photo"))
    def thumbnail(self, obj: Product) -> str:
        return _thumbnail(obj, 48)

    @admin.display(description=_("photo"))
    def image_preview(self, obj: Product) -> str:
        return _thumbnail(obj, 240)


@admin.register(Brand)
class BrandAdmin(BoundedChangeListAdmin, admin.ModelAdmin):
    list_display = ("name", "slug", "product_count", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(product_count=Count("products"))

    @admin.display(description=_("products"), ordering="product_count")
    def product_count(self, obj) -> int:
        return obj.product_count


@admin.register(Category)
class CategoryAdmin(BoundedChangeListAdmin, admin.ModelAdmin):
    list_display = ("name", "slug", "position", "product_count")
    list_editable = ("position",)
    search_fields = ("name", "slug")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(product_count=Count("products"))

    @admin.display(description=_("products"), ordering="product_count")
    def product_count(self, obj) -> int:
        return obj.product_count


class RateAgeFilter(admin.SimpleListFilter):
    """Rates older than SHOP_EXCHANGE_RATE_MAX_AGE_DAYS (still used, but flagged)."""

    title = _("age")
    parameter_name = "age"

    def lookups(self, request, model_admin):
        return [("old", _("Old")), ("current", _("Current"))]

    def queryset(self, request, queryset):
        oldest = timezone.localdate() - dt.timedelta(days=settings.SHOP_EXCHANGE_RATE_MAX_AGE_DAYS)
        if self.value() == "old":
            return queryset.filter(as_of__lt=oldest)
        if self.value() == "current":
            return queryset.filter(as_of__gte=oldest)
        return queryset


@admin.register(ExchangeRate)
class ExchangeRateAdmin(BoundedChangeListAdmin, admin.ModelAdmin):
    """Rates come from files (manage.py import_exchange_rates); a typo can be fixed here."""

    list_display = ("base", "currency", "rate", "as_of", "age", "is_current", "source", "updated_at")
    list_filter = (RateAgeFilter, "base", "currency")
    search_fields = ("base", "currency", "source")
    date_hierarchy = "as_of"
    readonly_fields = ("created_at", "updated_at")

    @admin.display(description=_("age"), ordering="-as_of")
    def age(self, obj: ExchangeRate) -> str:
        days = (timezone.localdate() - obj.as_of).days
        text = ngettext("%(days)s day old", "%(days)s days old", days) % {"days": days}
        if exchange_rate_is_stale(as_of=obj.as_of):
            return format_html('<strong class="rate-old">{} — {}</strong>', text, gettext("old"))
        return text

    @admin.display(description=_("current"), boolean=True)
    def is_current(self, obj: ExchangeRate) -> bool:
        return not exchange_rate_is_stale(as_of=obj.as_of)


@admin.register(ProductAttribute)
class ProductAttributeAdmin(BoundedChangeListAdmin, admin.ModelAdmin):
    """Every product's attributes in one list, to review a method's output or staff's work;
    an edit here is a staff correction too."""

    form = ProductAttributeForm
    list_display = ("product", "name", "value", "source", "score", "method", "corrected_by", "updated_at")
    list_filter = ("name", "source", "value", "method")
    list_select_related = ("product", "corrected_by")
    search_fields = ("product__title", "product__external_id")
    raw_id_fields = ("product",)
    readonly_fields = (
        "source",
        "score",
        "method",
        "corrected_by",
        "image_sha256",
        "created_at",
        "updated_at",
    )
    fields = ("product", "name", "value", *readonly_fields)

    def save_model(self, request, obj, form, change):
        product_attribute_correct(attribute=obj, user=request.user)
