"""Admin: the uploads log of Find similar (what shoppers search with)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from find_similar.models import QueryImage
from find_similar.uploads import upload_delete
from shop.admin_lists import BoundedChangeListAdmin


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

    # Deleting an upload deletes its photo file too, file first (find_similar.uploads.upload_delete).
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
            reverse("find_similar:find_similar_photo", kwargs={"pk": obj.pk}),
        )

    @admin.display(description=_("photo"))
    def preview(self, obj):
        if not obj.image:
            return "-"
        return format_html(
            '<a href="{}"><img src="{}" alt="" style="max-height:320px;max-width:100%"></a>',
            obj.get_absolute_url(),
            reverse("find_similar:find_similar_photo", kwargs={"pk": obj.pk}),
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
