"""Admin: embeddings per model, colour statistics, and re-index actions on products."""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from config.publishing import QueueUnavailable, task_publish
from recommender.models import Embedding, ProductColour, QueryImage
from recommender.services import embedding_mark_products
from recommender.tasks import embed_pending
from recommender.uploads import upload_delete
from shop.admin import ProductAdmin
from shop.admin_lists import BoundedChangeListAdmin


@admin.register(Embedding)
class EmbeddingAdmin(BoundedChangeListAdmin, admin.ModelAdmin):
    list_display = ("product", "model_key", "region", "updated_at")
    list_filter = ("model_key", "region")
    search_fields = ("product__title", "product__external_id")
    list_select_related = ("product",)
    raw_id_fields = ("product",)
    readonly_fields = (
        "product",
        "model_name",
        "model_key",
        "region",
        "image_sha256",
        "created_at",
        "updated_at",
    )
    exclude = ("vector",)  # 2,048 numbers are no use in a form

    def has_add_permission(self, request) -> bool:
        return False  # vectors come from the indexing task, never typed in


@admin.register(ProductColour)
class ProductColourAdmin(BoundedChangeListAdmin, admin.ModelAdmin):
    list_display = ("product", "mean_rgb", "updated_at")
    search_fields = ("product__title",)
    list_select_related = ("product",)
    raw_id_fields = ("product",)

    def has_add_permission(self, request) -> bool:
        return False


def _queue_embedding(modeladmin, request) -> None:
    """Queue the embedding sweep now (changelist actions run in autocommit: the marks are
    saved). With the broker down the marks stay, and the periodic sweep picks them up."""
    try:
        task_publish(embed_pending)
    except QueueUnavailable:
        modeladmin.message_user(
            request,
            gettext(
                "The task queue is unavailable right now, so the products are marked but not queued "
                "yet; the periodic re-index sweep picks them up within 15 minutes."
            ),
            messages.WARNING,
        )


@admin.action(description=_("Re-index selected products (compute their image embeddings again)"))
def reindex_selected(modeladmin, request, queryset):
    count = embedding_mark_products(product_ids=queryset.values_list("pk", flat=True))
    _queue_embedding(modeladmin, request)
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
    count = embedding_mark_products()
    _queue_embedding(modeladmin, request)
    modeladmin.message_user(
        request,
        _(
            "%(count)d products were queued for re-indexing. Current vectors keep serving until "
            "each one is replaced."
        )
        % {"count": count},
        messages.SUCCESS,
    )


# The shop's ProductAdmin leaves its actions list for the recommender to fill.
ProductAdmin.actions = [*ProductAdmin.actions, reindex_selected, reindex_all]


# --- Find similar: the uploads log ---------------------------------------------------------------


@admin.register(QueryImage)
class QueryImageAdmin(BoundedChangeListAdmin, admin.ModelAdmin):
    """What shoppers search with: photo, garments found, the garment chosen and filters."""

    list_display = ("thumbnail", "created_at", "status", "garments_found", "chosen_garment", "filters_used")
    list_filter = ("status", "segmenter_unavailable", "created_at")
    date_hierarchy = "created_at"
    search_fields = ("id", "sha256", "client_hash")
    list_select_related = ("source_product",)
    raw_id_fields = ("source_product",)
    readonly_fields = (
        "preview",
        "id",
        "status",
        "error_message",
        "segmenter_unavailable",
        "garments_found",
        "chosen_garment",
        "filters_used",
        "results_shown",
        "model_key",
        "sha256",
        "size_bytes",
        "width",
        "height",
        "client_hash",
        "source_product",
        "created_at",
        "segmented_at",
    )
    exclude = ("image", "garments", "chosen", "filters", "results")  # masks are run-length data
    ordering = ("-created_at",)

    def has_add_permission(self, request) -> bool:
        return False  # uploads come from the Find similar page

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a log: view or delete

    # Deleting an upload deletes its photo file too, file first (recommender.uploads.upload_delete).
    def delete_model(self, request, obj) -> None:
        self.delete_queryset(request, QueryImage.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset) -> None:
        for upload in queryset.select_related(None).only("id", "image"):
            try:
                upload_delete(upload=upload)
            except OSError as exc:
                self.message_user(
                    request,
                    gettext(
                        "The photo of upload %(id)s could not be deleted (%(error)s), so the upload "
                        "was kept. Check the storage, then delete it again."
                    )
                    % {"id": upload.pk, "error": exc},
                    messages.ERROR,
                )

    @admin.display(description=_("photo"))
    def thumbnail(self, obj):
        if not obj.image:
            return "-"
        return format_html(
            '<img src="{}" alt="" style="max-height:64px;max-width:96px">',
            reverse("recommender:find_similar_photo", kwargs={"pk": obj.pk}),
        )

    @admin.display(description=_("photo"))
    def preview(self, obj):
        if not obj.image:
            return "-"
        return format_html(
            '<a href="{}"><img src="{}" alt="" style="max-height:320px;max-width:100%"></a>',
            obj.get_absolute_url(),
            reverse("recommender:find_similar_photo", kwargs={"pk": obj.pk}),
        )

    @admin.display(description=_("garments found"))
    def garments_found(self, obj) -> str:
        if obj.segmenter_unavailable:
            return gettext("detection unavailable")
        return ", ".join(f"{g['kind']} ({g['score']:.0%})" for g in obj.garments) or "-"

    @admin.display(description=_("chosen"))
    def chosen_garment(self, obj) -> str:
        chosen = obj.chosen or {}
        if "garment" in chosen:
            return chosen.get("kind") or f"#{chosen['garment']}"
        if "box" in chosen:
            return gettext("box %(box)s") % {"box": chosen["box"]}
        return gettext("whole photo") if chosen.get("whole") else "-"

    @admin.display(description=_("filters"))
    def filters_used(self, obj) -> str:
        filters = obj.filters or {}
        parts = []
        if filters.get("categories"):
            parts.append(", ".join(filters["categories"]))
        if filters.get("price_min") or filters.get("price_max"):
            parts.append(f"{filters.get('price_min') or '…'}–{filters.get('price_max') or '…'}")
        if filters.get("brand"):
            parts.append(filters["brand"])
        return "; ".join(parts) or "-"

    @admin.display(description=_("results shown"))
    def results_shown(self, obj) -> str:
        return ", ".join(f"#{r['product']} ({r['distance']:.3f})" for r in obj.results) or "-"
