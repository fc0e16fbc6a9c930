"""Admin: embeddings per model, colour statistics, and re-index actions on products."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from config.publishing import QueueUnavailable, task_publish
from recommender.models import Embedding, ProductColour
from recommender.services import embedding_mark_products
from recommender.tasks import embed_pending
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
