"""Admin: embeddings per model and colour statistics. Re-indexing is the shop's admin action
(it marks products; the recommender pulls the work, recommender/receivers.py)."""

from __future__ import annotations

from django.contrib import admin

from recommender.models import Embedding, ProductColour, Projection
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


@admin.register(Projection)
class ProjectionAdmin(admin.ModelAdmin):
    """What the compressed index was fitted on; fitted and refitted by `manage.py
    fit_projection`, never edited by hand (a changed matrix would disagree with every stored
    row's coordinates)."""

    list_display = ("model_key", "dim_in", "dim_out", "fitted_rows", "explained_variance", "updated_at")
    readonly_fields = list_display
    exclude = ("mean", "components")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
