"""Writes for looks: create one from an upload, get its garments' vectors, and choose (or
re-choose, around the shopper's own picks) one product per garment within the budget."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import get_currency_precision
from django.db import transaction
from django.utils import timezone

from find_similar.models import QueryImage, QueryRegion
from find_similar.uploads import (
    region_choice,
    upload_region,
    upload_region_request,
    upload_region_timed_out,
)
from looks.knapsack import Candidate, Slot, Solution, look_solve
from looks.models import Look, LookSlot
from looks.selectors import candidate_similarity

logger = logging.getLogger(__name__)

# A slot's pick meaning "leave this garment empty".
EMPTY = "empty"


@transaction.atomic
def look_create(
    *,
    upload: QueryImage,
    keys: list[str],
    budget: Decimal,
    currency: str,
    min_similarity: int = 0,
    in_stock_only: bool = True,
    brand=None,
    allow_empty: bool = False,
) -> Look:
    """A look over ``keys`` (region keys of the upload, find_similar.uploads.region_key), not yet
    chosen: its page gets the regions' vectors and chooses."""
    look = Look.objects.create(
        upload=upload,
        budget=budget,
        currency=currency,
        min_similarity=min_similarity,
        in_stock_only=in_stock_only,
        brand=brand,
        allow_empty=allow_empty,
    )
    LookSlot.objects.bulk_create(
        [
            LookSlot(
                look=look,
                position=position,
                region_key=key,
                kind=upload.garments[int(key[1:])]["kind"] if key.startswith("g") else "",
            )
            for position, key in enumerate(keys)
        ]
    )
    return look


@dataclass
class Regions:
    ready: dict[str, QueryRegion]
    pending: bool = False
    error: str = ""  # a failed region's message (stored in English, gettext_noop) or "unavailable"


def look_regions(*, look: Look, slots: list[LookSlot]) -> Regions:
    """The vectors of the look's garments and boxes, computed once per upload and model on the
    query worker exactly as Find similar's (find_similar.uploads); missing ones are queued
    (in-process without a broker). A failed or timed-out one is deleted, so the next visit
    tries again. Raises QueueUnavailable when the broker does not take a task."""
    out = Regions(ready={})
    for slot in slots:
        if slot.region_key in out.ready:
            continue
        choice = region_choice(slot.region_key)
        region = upload_region(upload=look.upload, choice=choice)
        if region is None:
            region = upload_region_request(upload=look.upload, choice=choice)
        if region.status == QueryRegion.Status.READY:
            out.ready[slot.region_key] = region
        elif region.status == QueryRegion.Status.PENDING and not upload_region_timed_out(region):
            out.pending = True
        else:
            out.error = out.error or (region.error or "timeout")
            region.delete()
    return out


def minor_units(*, currency: str, amounts: list[Decimal]) -> int:
    """The factor to the currency's minor units (KRW 1, USD 100: CLDR via Babel); the price
    column's cents where an amount has more decimals than the currency (never rounded)."""
    try:
        factor = 10 ** get_currency_precision(currency)
    except Exception:  # an unknown code: the column's two decimals
        factor = 100
    if any((amount * factor) % 1 for amount in amounts):
        factor = 100
    return factor


@dataclass
class Plan:
    solution: Solution
    factor: int  # minor units per unit of the currency
    chosen: dict  # position -> SimilarProduct or None (empty), for the garments to store
    honoured: dict  # position -> the shopper's pick that was kept (SimilarProduct or None: empty)
    over_budget: bool = False  # the shopper's picks alone cost more than the budget


def look_plan(
    *, look: Look, slots: list[LookSlot], candidates: dict[int, list], picks: dict | None = None
) -> Plan:
    """The most similar look within the budget (the exact knapsack, looks.knapsack), not stored.

    ``picks``: the shopper's swaps, {position: product id or EMPTY}; those garments keep that
    pick and the others are chosen around them. Without one, a garment's earlier pin is kept
    while its product is still a candidate. A garment without candidates is left empty.
    """
    picks = picks or {}
    # Prices in the look's currency (looks.selectors.look_candidates converts and rounds them).
    amounts = [look.budget] + [item.look_price for items in candidates.values() for item in items]
    factor = minor_units(currency=look.currency, amounts=amounts)
    problem, honoured = [], {}
    for slot in slots:
        items = candidates.get(slot.position, [])
        options = [
            Candidate(price=int(item.look_price * factor), similarity=candidate_similarity(item), key=item)
            for item in items
        ]
        keys = [item.product.pk for item in items]
        wanted = picks.get(slot.position)
        if wanted is None and slot.pinned:
            wanted = slot.product_id if slot.product_id else EMPTY
        if wanted == EMPTY:
            problem.append(Slot(candidates=[], optional=True))
            honoured[slot.position] = None
        elif wanted is not None and wanted in keys:
            problem.append(Slot(candidates=options, fixed=keys.index(wanted)))
            honoured[slot.position] = items[keys.index(wanted)]
        else:  # no pick, or a pick that is no longer a candidate (sold out, another brand)
            problem.append(Slot(candidates=options, optional=look.allow_empty or not options))
    budget = int(look.budget * factor // 1)
    solution = look_solve(slots=problem, budget=budget, min_similarity=look.min_similarity / 100)
    if solution.feasible:
        chosen = {
            slot.position: problem[s].candidates[index].key if index is not None else None
            for s, (slot, index) in enumerate(zip(slots, solution.choice, strict=True))
        }
    else:
        # Nothing fits: only the shopper's own picks are stored (the page says by how much they
        # are over); the other garments stay as they were (on a first choice: none yet).
        chosen = dict(honoured)
    return Plan(
        solution=solution,
        factor=factor,
        chosen=chosen,
        honoured=honoured,
        over_budget=not solution.feasible and bool(picks),
    )


def look_choose(
    *, look: Look, slots: list[LookSlot], candidates: dict[int, list], picks: dict | None = None
) -> Plan:
    """Plan the look (look_plan) and store the chosen products, their prices as chosen and the
    shopper's pins."""
    plan = look_plan(look=look, slots=slots, candidates=candidates, picks=picks)
    with transaction.atomic():
        for slot in slots:
            # Every garment is saved: "Choose again" drops pins even where nothing fits.
            if slot.position in plan.chosen:
                item = plan.chosen[slot.position]
                slot.product = item.product if item is not None else None
                slot.product_title = item.product.title[:500] if item is not None else ""
                slot.price = item.look_price if item is not None else None  # in the look's currency
                slot.similarity = candidate_similarity(item) if item is not None else None
                slot.pinned = slot.position in plan.honoured
            slot.save()
        look.solved_at = timezone.now()
        look.save(update_fields=["solved_at", "updated_at"])
    logger.info(
        "Look %s chosen: %s", look.pk, plan.solution.method if plan.solution.feasible else "nothing fits"
    )
    return plan
