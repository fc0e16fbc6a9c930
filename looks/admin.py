from django.contrib import admin

from looks.models import Look, LookSlot


class LookSlotInline(admin.TabularInline):
    model = LookSlot
    extra = 0
    fields = ("position", "region_key", "kind", "product", "product_title", "price", "similarity", "pinned")
    readonly_fields = fields
    can_delete = False


@admin.register(Look)
class LookAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "budget",
        "currency",
        "min_similarity",
        "in_stock_only",
        "brand",
        "created_at",
        "solved_at",
    )
    list_filter = ("currency", "in_stock_only")
    readonly_fields = ("upload", "solved_at", "created_at", "updated_at")
    inlines = [LookSlotInline]
