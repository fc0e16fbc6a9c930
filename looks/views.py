"""Complete the look within a budget: the form on an upload, and the look's shareable page."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_ratelimit import ALL
from django_ratelimit.core import is_ratelimited

from config.publishing import QueueUnavailable
from find_similar.models import QueryImage, QueryRegion
from find_similar.uploads import upload_problem
from looks.forms import LookForm
from looks.models import Look
from looks.selectors import candidate_similarity, look_candidates, look_parts, look_slot_views, look_slots
from looks.services import EMPTY, look_choose, look_create, look_plan, look_regions
from shop.currency import exchange_rates_latest
from shop.models import Brand
from shop.selectors import catalogue_currencies


def _failed(request, *, error: str, status: int = 200, retry_url: str | None = None) -> HttpResponse:
    context = {"error": error, "retry_url": retry_url}
    return render(request, "looks/look_failed.html", context, status=status)


def _brands() -> list[Brand]:
    return list(
        Brand.objects.annotate(active=Count("products", filter=Q(products__is_active=True)))
        .filter(active__gt=0)
        .order_by("name")
    )


def _box_rate(group, request) -> str:
    return settings.FIND_SIMILAR_BOX_RATE


@require_http_methods(["GET", "POST"])
def look_new(request, upload_pk):
    """The form: which garments (and boxes), the budget and the options."""
    upload = get_object_or_404(QueryImage.objects.select_related("source_product"), pk=upload_pk)
    if upload.status == QueryImage.Status.PENDING:
        return redirect(upload)  # its own page waits for the garments
    if upload.status == QueryImage.Status.FAILED or upload_problem(upload):
        return _failed(request, error=upload_problem(upload) or _(upload.error_message))
    currencies = catalogue_currencies()
    if not currencies:
        return _failed(
            request, error=_("The shop has no products to choose from yet. Please come back later.")
        )
    parts = look_parts(upload=upload)
    brands = _brands()
    kwargs = {"upload": upload, "parts": parts, "currencies": currencies, "brands": brands}
    status = 200
    if request.method == "POST":
        form = LookForm(request.POST, **kwargs)
        if form.is_valid():
            data = form.cleaned_data
            # Boxes not computed yet cost a GrabCut and an embedding each: counted with
            # Find similar's boxes (FIND_SIMILAR_BOX_RATE).
            new_boxes = [
                key
                for key in data["keys"]
                if key.startswith("b")
                and not QueryRegion.objects.filter(upload=upload, key=key).exists()
                and key not in {k for k, _label in parts}
            ]
            for _key in new_boxes:
                if is_ratelimited(
                    request, group="find-similar-box", key="ip", rate=_box_rate, method=ALL, increment=True
                ):
                    form.add_error(
                        "boxes",
                        _(
                            "You have drawn many boxes in a short time. Please wait a few minutes, "
                            "or use the garments found on your photo."
                        ),
                    )
                    return _new_page(request, form=form, upload=upload, parts=parts, status=429)
            look = look_create(
                upload=upload,
                keys=data["keys"],
                budget=data["budget"],
                currency=data.get("currency") or currencies[0],
                min_similarity=data["min_similarity"],
                in_stock_only=data["in_stock_only"],
                brand=next((b for b in brands if b.slug == data.get("brand")), None),
                allow_empty=data["allow_empty"],
            )
            return redirect(look)
        status = 400
    else:
        currency = upload.source_product.currency if upload.source_product else currencies[0]
        initial = {
            "parts": [key for key, _label in parts],
            "in_stock_only": True,
            "currency": request.GET.get("currency")
            if request.GET.get("currency") in currencies
            else currency,
            "budget": request.GET.get("budget", "")[:40],
            "min_similarity": 0,
        }
        form = LookForm(initial=initial, **kwargs)
    return _new_page(request, form=form, upload=upload, parts=parts, status=status)


def _new_page(request, *, form, upload, parts, status) -> HttpResponse:
    context = {
        "form": form,
        "upload": upload,
        "garments": _outlines(upload, [key for key, _label in parts]),
        "max_slots": settings.LOOK_MAX_SLOTS,
    }
    return render(request, "looks/look_form.html", context, status=status)


def _outlines(upload: QueryImage, keys: list[str]) -> list[dict]:
    """Numbered boxes over the photo for the garments and areas of a form or a look."""
    boxes = []
    for number, key in enumerate(keys, start=1):
        if key.startswith("g") and int(key[1:]) < len(upload.garments):
            x0, y0, x1, y1 = upload.garments[int(key[1:])]["box"]
        elif key.startswith("b"):
            x0, y0, x1, y1 = (int(v) for v in key[1:].split("-"))
        else:
            continue
        boxes.append({"number": number, "x": x0, "y": y0, "w": x1 - x0, "h": y1 - y0})
    return boxes


def _picks(request, views) -> dict:
    """The shopper's swaps: slots whose posted choice differs from the stored one."""
    picks = {}
    for view in views:
        slot = view.slot
        value = request.POST.get(f"slot-{slot.position}", "")
        if value == EMPTY:
            if slot.product_id is not None:  # an empty garment posted back unchanged is no pick
                picks[slot.position] = EMPTY
        elif value.isdigit() and len(value) < 19 and int(value) != slot.product_id:
            picks[slot.position] = int(value)
    return picks


@require_http_methods(["GET", "POST"])
def look_detail(request, pk):
    """A look: its garments' products, the total against the budget, alternatives to swap to.

    Opened again later, every product is read fresh: sold-out, deleted and re-priced ones are
    marked, and "Choose again" finds replacements."""
    look = get_object_or_404(Look.objects.select_related("upload", "upload__source_product", "brand"), pk=pk)
    slots = look_slots(look=look)
    try:
        regions = look_regions(look=look, slots=slots)
    except QueueUnavailable:
        return _failed(
            request,
            error=_("Search is temporarily unavailable. Please try again in a minute."),
            status=503,
            retry_url=look.get_absolute_url(),
        )
    if regions.error == "unavailable":
        return _failed(
            request,
            error=_("Similarity search is not available on this server right now. Please try again later."),
            status=503,
            retry_url=look.get_absolute_url(),
        )
    if regions.error:
        message = (
            _("Searching part of your photo took longer than it should. Please try again in a minute.")
            if regions.error == "timeout"
            else _(regions.error)
        )
        return _failed(request, error=message, status=503, retry_url=look.get_absolute_url())
    if regions.pending:
        context = {
            "look": look,
            "upload": look.upload,
            "refresh_seconds": settings.FIND_SIMILAR_REFRESH_SECONDS,
        }
        return render(request, "looks/look_waiting.html", context)
    rates = exchange_rates_latest()  # once per page: the candidates' and the garments' prices
    candidates = look_candidates(look=look, slots=slots, regions=regions.ready, rates=rates)
    if request.method == "POST":
        if request.POST.get("action") == "again":
            for slot in slots:  # a fresh choice: the shopper's pins go
                slot.pinned = False
            look_choose(look=look, slots=slots, candidates=candidates)
        else:
            picks = _picks(request, look_slot_views(look=look, slots=slots, rates=rates))
            look_choose(look=look, slots=slots, candidates=candidates, picks=picks)
        return redirect(look)
    if look.solved_at is None:
        look_choose(look=look, slots=slots, candidates=candidates)
    return _detail_page(request, look=look, slots=slots, candidates=candidates, rates=rates)


def _detail_page(request, *, look: Look, slots, candidates, rates) -> HttpResponse:
    views = look_slot_views(look=look, slots=slots, rates=rates)
    total = sum((v.price for v in views if v.available), Decimal(0))
    # The date of the oldest rate behind a converted price on the page, to show beside them.
    shown = [v.product for v in views if v.product is not None]
    shown += [item.product for items in candidates.values() for item in items]
    rate_dates = [
        found[1]
        for product in shown
        if product.currency != look.currency
        and (found := rates.rate(product.currency, look.currency)) is not None
        and found[1] is not None
    ]
    rows = []
    for view in views:
        items = candidates.get(view.slot.position, [])
        options = [
            {
                "product": item.product,
                "look_price": item.look_price,
                "similarity_percent": round(candidate_similarity(item) * 100),
                "checked": item.product.pk == view.slot.product_id,
            }
            for item in items
        ]
        rows.append(
            {
                "view": view,
                "options": options,
                # The chosen product when it is no longer a candidate (sold out, re-filtered).
                "current_elsewhere": view.product is not None and not any(o["checked"] for o in options),
                "no_candidates": not items,
            }
        )
    nothing_chosen = not any(v.product for v in views) and not any(v.slot.pinned for v in views)
    cheapest, nothing_fits = None, False
    if nothing_chosen:  # (all of it deleted since, or nothing fitted when it was chosen)
        plan = look_plan(look=look, slots=slots, candidates=candidates)
        nothing_fits = not plan.solution.feasible
        if nothing_fits and plan.solution.cheapest_total is not None:
            cheapest = Decimal(plan.solution.cheapest_total) / plan.factor
    context = {
        "look": look,
        "upload": look.upload,
        "rows": rows,
        "total": total,
        "left": look.budget - total,
        "over": total - look.budget if total > look.budget else None,
        "changed": any(v.change for v in views),
        "nothing_fits": nothing_fits,
        "cheapest": cheapest,
        "outlines": _outlines(look.upload, [s.region_key for s in slots]),
        "share_url": request.build_absolute_uri(look.get_absolute_url()),
        "min_similarity": look.min_similarity,
        "rates_as_of": min(rate_dates) if rate_dates else None,
    }
    return render(request, "looks/look_detail.html", context)
