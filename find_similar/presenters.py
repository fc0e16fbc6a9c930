"""The result page's context: what the template shows of a search, built from its outcome.

The view decides what happens (waiting, failed, searched); this turns a search's outcome
into the garments to pick, the result cards with their colour plots, the filter form as
searched, the "show more" link, and the keys the rendered parts are cached under.
"""

from __future__ import annotations

import functools
from urllib.parse import urlencode

import numpy as np
from django.conf import settings

from find_similar.forms import REFINE_MAX, REFINE_MAX_CHARS, SearchForm
from find_similar.models import QueryImage
from find_similar.plots import colour_comparison_svg
from find_similar.refine import mask_decode, mask_outline
from find_similar.refinements import SUGGESTIONS
from find_similar.uploads import Choice, SearchOutcome
from shop.attributes import ATTRIBUTES, FACETS, attribute_unavailable_counts
from shop.fragments import fragment_key, product_card_values
from shop.garments import GARMENT_CATEGORIES, garment_label


def is_full_box(choice: Choice, upload: QueryImage) -> bool:
    return choice.box == (0, 0, upload.width, upload.height)


def result_context(
    *,
    upload: QueryImage,
    outcome: SearchOutcome,
    form: SearchForm,
    data: dict,
    currency: str | None,
    categories: list,
    brands: list,
    currencies: list[str],
) -> dict:
    """The result page's context for a search's ``outcome``; ``form`` is the query string's
    form as read (its errors are shown), ``data`` what of it was used."""
    valid = form.is_valid()
    # The filter form shows what was searched, including the preselected categories.
    shown_filters = {
        "f": 1,
        "category": outcome.categories,
        "price_min": data.get("price_min"),
        "price_max": data.get("price_max"),
        "currency": currency,
        "brand": data.get("brand") or "",
        "refine": [r.text for r in outcome.refinements],
        **{name: outcome.chosen.get(name, "") for name in FACETS},
    }
    choice_params = {
        "garment": outcome.choice.garment,
        "box": ",".join(str(v) for v in outcome.choice.box) if outcome.choice.box else None,
        "whole": 1 if outcome.choice.whole else None,
    }
    filter_form = SearchForm(
        initial={**shown_filters, **choice_params},
        categories=categories,
        brands=brands,
        currencies=currencies,
    )
    garments = []
    for index, garment in enumerate(upload.garments):
        garments.append(
            {
                "index": index,
                "kind": garment["kind"],
                "label": garment_label(garment["kind"]),
                "box": garment["box"],
                "score_percent": round(garment["score"] * 100),
                "outline": _svg_paths(mask_outline(mask_decode(garment["mask"]))),
                "selected": outcome.choice.garment == index,
                # Choosing another garment starts from its own category preselection.
                "url": _query_string(
                    {k: v for k, v in shown_filters.items() if k not in ("f", "category")}, garment=index
                ),
            }
        )
    results = [
        {
            "product": item.product,
            "similarity_percent": item.similarity_percent,
            # Drawn by the template (it calls what it is given), so only when the rendered
            # results are not in the cache already; once, though the template asks twice.
            "plot": functools.cache(
                functools.partial(
                    colour_comparison_svg, outcome.query_histogram, outcome.result_histograms[item.product.pk]
                )
            )
            if item.product.pk in outcome.result_histograms and outcome.query_histogram is not None
            else None,
        }
        for item in outcome.results
    ]
    n = data["n"]
    more = None
    if len(outcome.results) >= n and n < settings.FIND_SIMILAR_RESULTS_MAX:
        more = _query_string({**shown_filters, **choice_params}, n=n + settings.FIND_SIMILAR_RESULTS_STEP)
    return {
        **_refine_context(outcome=outcome, params={**shown_filters, **choice_params}),
        "facets": _facets(outcome=outcome, params={**shown_filters, **choice_params}),
        "facet_pool": settings.FIND_SIMILAR_FACET_POOL,
        "form": filter_form,
        "form_errors": None if valid else form.errors,
        "garments": garments,
        "choice": outcome.choice,
        "kind_label": garment_label(outcome.kind) if outcome.kind else None,
        "region_outline": _svg_paths(outcome.outline) if outcome.choice.box else "",
        "user_box": None if is_full_box(outcome.choice, upload) else _rect(outcome.choice.box),
        # The automatic default without garments: the main object, cut out by GrabCut.
        "main_object": is_full_box(outcome.choice, upload),
        "results": results,
        "more_url": more,
        "whole_url": _query_string(
            {k: v for k, v in shown_filters.items() if k not in ("f", "category")}, whole=1
        ),
        "preselected": GARMENT_CATEGORIES.get(outcome.kind, []) if outcome.kind else [],
        "count": n,
        "currencies": currencies,
        # Labels sized in photo pixels (the overlay's units): ~3.5% of the longer side.
        "label_size": round(max(upload.width, upload.height) * 0.035, 1),
        "label_stroke": round(max(upload.width, upload.height) * 0.006, 1),
        # The filter form and the result cards are cached as rendered (shop/fragments.py)
        # under keys of all they show: a filter change re-renders only what changed.
        "fragment_seconds": settings.SHOP_FRAGMENT_CACHE_SECONDS,
        "filters_key": fragment_key(
            sorted((k, str(v)) for k, v in {**shown_filters, **choice_params}.items()),
            (outcome.choice.garment, outcome.choice.box, outcome.choice.whole),
            [(c.slug, c.name) for c in categories],
            [(b.slug, b.name) for b in brands],
            currencies,
            None if valid else form.errors.get_json_data(),
        ),
        "results_key": fragment_key(
            _histogram_key(outcome.query_histogram),
            [
                (
                    product_card_values(item.product),
                    item.product.product_url,
                    item.similarity_percent,
                    _histogram_key(outcome.result_histograms.get(item.product.pk)),
                )
                for item in outcome.results
            ],
        ),
    }


def _facets(*, outcome: SearchOutcome, params: dict) -> list[dict]:
    """The colour and pattern facets: each value with how many of the nearest products have it
    and the link that chooses it (or, when chosen, removes it), then why some have none."""
    facets = []
    for name in FACETS:
        spec = ATTRIBUTES[name]
        counts = outcome.facet_counts.get(name, {"values": {}, "unavailable": {}})
        active = outcome.chosen.get(name, "")
        values = [
            {
                "value": value,
                "words": str(words),
                "count": counts["values"].get(value, 0),
                "active": value == active,
                "url": _query_string(params, **{name: "" if value == active else value}),
            }
            for value, words in spec.values.items()
            if value in counts["values"] or value == active
        ]
        facets.append(
            {
                "name": name,
                "label": str(spec.label),
                "values": values,
                "unavailable": attribute_unavailable_counts(counts["unavailable"]),
            }
        )
    return facets


def _refine_context(*, outcome: SearchOutcome, params: dict) -> dict:
    """The "like this, but ..." box: the refinements as removable chips (applied, or why not),
    the quick suggestions as links, and the current search as the box's hidden fields."""
    texts = [r.text for r in outcome.refinements]
    chips = [
        {
            "text": item.text,
            "label": SUGGESTIONS.get(item.text, item.text),
            "applied": item.applied,
            "colour": item.colour,
            "reason": item.reason,
            "remove_url": _query_string(params, refine=[t for t in texts if t != item.text]),
        }
        for item in outcome.refinements
    ]
    taken = {t.casefold() for t in texts}
    suggestions = (
        [
            {"text": text, "label": label, "url": _query_string(params, refine=[*texts, text])}
            for text, label in SUGGESTIONS.items()
            if text.casefold() not in taken
        ]
        if len(texts) < REFINE_MAX
        else []
    )
    hidden = [
        (key, value)
        for key, values in params.items()
        for value in (values if isinstance(values, list) else [values])
        if value is not None and value is not False and value != ""
    ]
    return {
        "refinements": chips,
        "refine_suggestions": suggestions,
        "refine_hidden": hidden,
        "refine_full": len(texts) >= REFINE_MAX,
        "refine_max_chars": REFINE_MAX_CHARS,
    }


def _query_string(base: dict, **changes) -> str:
    # Not "if v": garment 0 is a real choice.
    params = {
        k: v
        for k, v in {**base, **changes}.items()
        if v is not None and v is not False and v != "" and v != []
    }
    return "?" + urlencode(params, doseq=True)


def _histogram_key(histogram) -> bytes | None:
    return None if histogram is None else np.asarray(histogram, dtype=np.float32).tobytes()


def _rect(box) -> dict | None:
    if not box:
        return None
    x0, y0, x1, y1 = box
    return {"x": x0, "y": y0, "w": x1 - x0, "h": y1 - y0}


def _svg_paths(polygons) -> str:
    """SVG path data ("M x,y L ... Z") for outline polygons in photo pixels."""
    return " ".join("M" + " L".join(f"{x},{y}" for x, y in polygon) + " Z" for polygon in polygons)
