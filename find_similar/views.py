"""Find similar: upload a photo, pick a garment (or drag a box), get look-alike products."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_ratelimit import ALL
from django_ratelimit.core import is_ratelimited
from django_ratelimit.decorators import ratelimit

from config.publishing import QueueUnavailable
from find_similar.forms import SearchForm, UploadForm
from find_similar.models import QueryImage, QueryRegion
from find_similar.presenters import is_full_box, result_context
from find_similar.refine import box_clip
from find_similar.refinements import refinements_read
from find_similar.uploads import (
    Choice,
    client_hash,
    upload_choice_default,
    upload_choice_normalize,
    upload_create,
    upload_from_product,
    upload_problem,
    upload_region,
    upload_region_request,
    upload_region_timed_out,
    upload_search,
    upload_timed_out,
)
from shop.attributes import FACETS
from shop.images import ImageRejected
from shop.models import Product
from shop.selectors import filter_choices

logger = logging.getLogger(__name__)


def _upload_rate(group, request) -> str:
    # Read at request time, so the setting can change without a restart of the module.
    return settings.FIND_SIMILAR_UPLOAD_RATE


def _upload_page(request, *, form=None, error: str | None = None, status: int = 200) -> HttpResponse:
    context = {
        "form": form or UploadForm(),
        "error": error,
        "upload_limit_mb": f"{settings.UPLOAD_MAX_BYTES / 1e6:.0f}",
        "retention_days": settings.FIND_SIMILAR_RETENTION_DAYS,
    }
    return render(request, "find_similar/find_similar.html", context, status=status)


def _too_large(request) -> HttpResponse:
    limit = settings.UPLOAD_MAX_BYTES
    return _upload_page(
        request,
        error=_("The file is too large. Please use a photo under %(limit)s MB.")
        % {"limit": f"{limit / 1e6:.0f}"},
        status=413,
    )


def _queue_unavailable(request, *, form=None) -> HttpResponse:
    # The broker did not take the task (config.publishing); nothing was kept.
    return _upload_page(
        request,
        form=form,
        error=_(
            "Photo search is temporarily unavailable. Your photo was not kept; please try again in a minute."
        ),
        status=503,
    )


def _rate_limited(request) -> HttpResponse:
    return _upload_page(
        request,
        error=_("You have uploaded many photos in a short time. Please wait a few minutes, then try again."),
        status=429,
    )


@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=_upload_rate, method="POST", group="find-similar-upload", block=False)
def find_similar(request):
    """The upload page; a valid upload redirects to its result page."""
    if request.method == "POST":
        if getattr(request, "limited", False):
            return _rate_limited(request)
        try:
            files = request.FILES  # parses the body (if the CSRF check has not already)
        except (TooManyFilesSent, TooManyFieldsSent, RequestDataTooBig):
            return _upload_page(
                request,
                error=_(
                    "We could not read this form: it carried more than one photo or too many fields. "
                    "Please choose one photo and send the form again."
                ),
                status=400,
            )
        if getattr(request, "upload_too_large", False):  # set by UploadSizeLimitHandler
            return _too_large(request)
        form = UploadForm(request.POST, files)
        if form.is_valid():
            try:
                upload, _created = upload_create(
                    decoded=form.decoded, size_bytes=len(form.data_bytes), client=client_hash(request)
                )
            except QueueUnavailable:
                return _queue_unavailable(request)
            return redirect(upload)
        return _upload_page(request, form=form, status=400)
    return _upload_page(request)


@require_POST
@ratelimit(key="ip", rate=_upload_rate, method="POST", group="find-similar-upload", block=False)
def find_similar_product(request, pk: int):
    """ "Find similar to this look": the same flow on a product's own photo."""
    if getattr(request, "limited", False):
        return _rate_limited(request)
    product = get_object_or_404(Product.objects.browsable(), pk=pk)
    try:
        upload, _created = upload_from_product(product=product, client=client_hash(request))
    except ImageRejected as exc:
        return _upload_page(request, error=str(exc), status=400)
    except QueueUnavailable:
        return _queue_unavailable(request)
    return redirect(upload)


def _choice_from(form: SearchForm, upload: QueryImage) -> Choice:
    data = form.cleaned_data if form.is_valid() else {}
    if data.get("box"):
        try:
            return Choice(box=box_clip(data["box"], width=upload.width, height=upload.height))
        except ValueError:
            form.add_error("box", _("The box is too small or outside the photo. Please draw it again."))
    if data.get("garment") is not None and data["garment"] < len(upload.garments):
        return Choice(garment=data["garment"])
    if data.get("whole"):
        return Choice()
    return upload_choice_default(upload)


def _is_new_box(choice: Choice, upload: QueryImage) -> bool:
    """A box the shopper drew (the full-photo box is the automatic default, not a drawing)."""
    return choice.box is not None and not is_full_box(choice, upload)


def _box_rate(group, request) -> str:
    return settings.FIND_SIMILAR_BOX_RATE


def _upload_not_searchable(request, *, upload: QueryImage, context: dict) -> HttpResponse | None:
    """The page of an upload that cannot be searched yet or at all: waiting for its garments,
    given up on, failed, or too small; None when it can be searched."""
    if upload.status == QueryImage.Status.PENDING:
        if upload_timed_out(upload):
            context["error"] = _(
                "Looking for garments is taking much longer than it should, so we stopped waiting. "
                "Please upload the photo again in a few minutes."
            )
            return render(request, "find_similar/find_similar_failed.html", context, status=503)
        context["refresh_seconds"] = settings.FIND_SIMILAR_REFRESH_SECONDS
        return render(request, "find_similar/find_similar_waiting.html", context)
    if upload.status == QueryImage.Status.FAILED:
        context["error"] = _(upload.error_message)  # stored in English (gettext_noop)
        return render(request, "find_similar/find_similar_failed.html", context)
    problem = upload_problem(upload)  # e.g. a 1 x 1 photo stored before uploads were size-checked
    if problem:
        context["error"] = problem
        return render(request, "find_similar/find_similar_failed.html", context)
    return None


def _region_ready(
    request, *, upload: QueryImage, choice: Choice, context: dict
) -> QueryRegion | HttpResponse:
    """The ready region of a normalized choice, or the page to show until it is: waiting
    (queued now, or still computing), too many new boxes (429), the queue or the embedder
    unavailable (503), or the region's failure (shown once; the next visit tries again)."""
    region = upload_region(upload=upload, choice=choice)
    if region is None:
        if _is_new_box(choice, upload) and is_ratelimited(
            request, group="find-similar-box", key="ip", rate=_box_rate, method=ALL, increment=True
        ):
            context["error"] = _(
                "You have tried many boxes in a short time. Please wait a few minutes, then draw again; "
                "the garments found on your photo can still be chosen."
            )
            context["retry_url"] = upload.get_absolute_url()
            return render(request, "find_similar/find_similar_failed.html", context, status=429)
        try:
            region = upload_region_request(upload=upload, choice=choice)
        except QueueUnavailable:
            context["error"] = _("Search is temporarily unavailable. Please try again in a minute.")
            context["retry_url"] = request.get_full_path()
            return render(request, "find_similar/find_similar_failed.html", context, status=503)
    if region.status == QueryRegion.Status.PENDING:
        if upload_region_timed_out(region):
            region.delete()  # its task expired: "Try again" queues a fresh one
            context["error"] = _(
                "Searching this part of your photo is taking longer than it should. Please try again "
                "in a minute."
            )
            context["retry_url"] = request.get_full_path()
            return render(request, "find_similar/find_similar_failed.html", context, status=503)
        context["refresh_seconds"] = settings.FIND_SIMILAR_REFRESH_SECONDS
        context["searching"] = True
        return render(request, "find_similar/find_similar_waiting.html", context)
    if region.status == QueryRegion.Status.FAILED:
        region.delete()  # shown once; the next visit tries again
        context["retry_url"] = request.get_full_path()
        if region.error == "unavailable":
            # The operator sees what to fix in the log (and the system checks); the shopper, a sentence.
            context["error"] = _(
                "Similarity search is not available on this server right now. Please try again later."
            )
            return render(request, "find_similar/find_similar_failed.html", context, status=503)
        context["error"] = _(region.error)  # stored in English (gettext_noop)
        return render(request, "find_similar/find_similar_failed.html", context)
    return region


@require_GET
def find_similar_result(request, pk):
    """The stable result page of an upload: waiting, failed, or garments and results."""
    upload = get_object_or_404(QueryImage.objects.select_related("source_product"), pk=pk)
    context = {"upload": upload}
    waiting_or_failed = _upload_not_searchable(request, upload=upload, context=context)
    if waiting_or_failed is not None:
        return waiting_or_failed
    categories, brands, currencies = filter_choices()
    form = SearchForm(request.GET, categories=categories, brands=brands, currencies=currencies)
    choice = _choice_from(form, upload)
    valid = form.is_valid()
    data = form.cleaned_data if valid else {"n": settings.FIND_SIMILAR_RESULTS_STEP}
    # Prices compare within one currency: the shopper's choice, else the product searched
    # from, else the catalogue's most common.
    currency = (
        data.get("currency")
        or (upload.source_product.currency if upload.source_product else None)
        or (currencies[0] if currencies else None)
    )
    # The region's vector comes from the query worker (a new box: rate-limited, snapped,
    # queued with a deadline); until it is there the page waits and refreshes itself.
    choice = upload_choice_normalize(upload=upload, choice=choice)
    region = _region_ready(request, upload=upload, choice=choice, context=context)
    if isinstance(region, HttpResponse):
        return region
    outcome = upload_search(
        upload=upload,
        choice=choice,
        categories=data.get("category", []) if data.get("f") else None,
        price_min=data.get("price_min"),
        price_max=data.get("price_max"),
        currency=currency,
        brand=data.get("brand") or None,
        count=data["n"],
        region=region,
        # Read even when another field is invalid: a bad price does not drop the words.
        refinements=refinements_read(form.cleaned_data.get("refine") or []),
        # Likewise the facets (unknown values are read as none: SearchForm.clean_colour).
        chosen={name: form.cleaned_data.get(name) or "" for name in FACETS},
    )
    context.update(
        result_context(
            upload=upload,
            outcome=outcome,
            form=form,
            data=data,
            currency=currency,
            categories=categories,
            brands=brands,
            currencies=currencies,
        )
    )
    return render(request, "find_similar/find_similar_result.html", context)


@require_GET
def find_similar_photo(request, pk):
    """A shopper's uploaded photo, streamed from the private uploads storage to whoever holds
    the upload's unguessable id (the result page's own URL); never public, never cached by
    shared caches."""
    upload = get_object_or_404(QueryImage.objects.only("id", "image"), pk=pk)
    if not upload.image:
        raise Http404
    try:
        handle = upload.image.storage.open(upload.image.name, "rb")
    except OSError as exc:  # deleted by retention between the two reads
        raise Http404 from exc
    response = FileResponse(handle, content_type="image/jpeg")  # stored re-encoded as JPEG
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Robots-Tag"] = "noindex"
    return response
