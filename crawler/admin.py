"""Admin: sources (with schedules and "Crawl now"), crawl runs (read-only), listings."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import models
from django.db.models import OuterRef, Subquery
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from config.publishing import QueueUnavailable, task_publish
from crawler.models import CrawlProfile, CrawlRun, Listing
from crawler.services import source_schedule_sync
from crawler.tasks import crawl_source
from shop.admin_lists import BoundedChangeListAdmin
from shop.links import url_is_http


@admin.register(CrawlProfile)
class SourceAdmin(BoundedChangeListAdmin, admin.ModelAdmin):
    list_display = ("name", "kind", "enabled", "schedule", "pages_per_run", "rate_limit", "last_run_status")
    list_filter = ("kind", "enabled")
    search_fields = ("name", "slug", "base_url")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("periodic_task", "created_at", "updated_at")
    actions = ["crawl_now"]
    # Shops are on https; a base URL typed without a scheme means https (Django 6's default).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (None, {"fields": ("name", "slug", "kind", "enabled", "base_url", "start_urls", "currency")}),
        (_("Schedule"), {"fields": ("schedule", "periodic_task")}),
        (
            _("Politeness and limits"),
            {
                "fields": (
                    "rate_limit",
                    "concurrency",
                    "pages_per_run",
                    "page_size",
                    "inactivate_after_missed_runs",
                )
            },
        ),
        (_("History"), {"fields": ("created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        # The latest run's status in the same query as the sources (no query per row).
        latest = CrawlRun.objects.filter(source=OuterRef("pk")).order_by("-started_at", "-id")
        return super().get_queryset(request).annotate(last_status=Subquery(latest.values("status")[:1]))

    @admin.display(description=_("last run"))
    def last_run_status(self, obj: CrawlProfile) -> str:
        status = getattr(obj, "last_status", None)
        return CrawlRun.Status(status).label if status else "—"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        source_schedule_sync(source=obj)

    def delete_model(self, request, obj):
        task = obj.periodic_task
        super().delete_model(request, obj)
        if task is not None:
            task.delete()

    def delete_queryset(self, request, queryset):
        tasks = [s.periodic_task for s in queryset if s.periodic_task_id]
        super().delete_queryset(request, queryset)
        for task in tasks:
            task.delete()

    # Admin actions are POSTed with the admin's CSRF token; "change" permission is required.
    @admin.action(description=_("Crawl now"), permissions=["change"])
    def crawl_now(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        for queued, source_id in enumerate(ids):
            try:
                task_publish(crawl_source, source_id, kwargs={"manual": True})
            except QueueUnavailable:
                self.message_user(
                    request,
                    _(
                        "The task queue is unavailable right now: %(queued)d of %(count)d crawls were "
                        "queued. Please try again in a minute."
                    )
                    % {"queued": queued, "count": len(ids)},
                    messages.ERROR,
                )
                return
        self.message_user(
            request,
            ngettext(
                "A crawl of %(count)d source was queued; its run appears under Crawl runs.",
                "Crawls of %(count)d sources were queued; their runs appear under Crawl runs.",
                len(ids),
            )
            % {"count": len(ids)},
            messages.SUCCESS,
        )


@admin.register(CrawlRun)
class CrawlRunAdmin(BoundedChangeListAdmin, admin.ModelAdmin):
    list_display = (
        "source",
        "status",
        "started_at",
        "finished_at",
        "pages_fetched",
        "pages_failed",
        "products_new",
        "products_updated",
        "products_unchanged",
        "products_failed",
        "products_inactivated",
        "error_count",
    )
    list_filter = ("status", "source")
    list_select_related = ("source",)
    date_hierarchy = "started_at"
    exclude = ("errors",)
    readonly_fields = [f.name for f in CrawlRun._meta.fields if f.name != "errors"] + ["error_table"]

    def has_add_permission(self, request) -> bool:
        return False  # runs are made by crawling

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("errors"))
    def error_count(self, obj: CrawlRun) -> int:
        return len(obj.errors)

    @admin.display(description=_("error log"))
    def error_table(self, obj: CrawlRun) -> str:
        if not obj.errors:
            return _("No errors.")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td></tr>",
            ((_url_cell(str(e.get("url", ""))), e.get("reason", "")) for e in obj.errors),
        )
        return format_html("<table><tr><th>URL</th><th>{}</th></tr>{}</table>", _("Reason"), rows)


def _url_cell(url: str) -> str:
    """A crawled URL as a link only when it is http(s); anything else (a refused javascript: URL
    is logged here too) is escaped text, so a staff click cannot run it."""
    if url_is_http(url):
        return format_html('<a href="{0}" rel="noreferrer nofollow">{0}</a>', url)
    return format_html("<code>{}</code>", url)


@admin.register(Listing)
class ListingAdmin(BoundedChangeListAdmin, admin.ModelAdmin):
    list_display = (
        "product",
        "source",
        "price_source",
        "price_confidence",
        "price_unsure",
        "missed_runs",
        "last_run",
        "page_url",
    )
    # "Price needs checking": prices read from a page with low confidence, for a person to compare.
    list_filter = ("price_unsure", "price_source", "source")
    list_select_related = ("product", "source", "last_run__source")
    search_fields = ("product__title", "product__external_id", "page_url")
    exclude = ("field_sources",)
    readonly_fields = [f.name for f in Listing._meta.fields if f.name != "field_sources"] + [
        "field_sources_table"
    ]

    @admin.display(description=_("where each field was read"))
    def field_sources_table(self, obj: Listing) -> str:
        if not obj.field_sources:
            return _("Not recorded: only product pages (schema.org sources) record where fields came from.")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (name, found.get("source", ""), found.get("confidence", ""), found.get("rule", ""))
                for name, found in obj.field_sources.items()
                if isinstance(found, dict)
            ),
        )
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
            _("Field"),
            _("Source"),
            _("Confidence"),
            _("Rule"),
            rows,
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
