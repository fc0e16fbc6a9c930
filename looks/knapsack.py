"""Complete the look within a budget: an exact multiple-choice knapsack.

Each slot (a garment on the photo) has candidates, each with a price in the currency's minor
units (won; cents) and a similarity. Choose one candidate per slot (or nothing, where a slot
may be left empty) so that the prices sum to at most the budget and the similarities sum to
the most. Ties go to the cheaper look.

Exactness. Everything is an integer: prices in minor units, similarities in millionths
(``VALUE_SCALE``; the page shows whole percents, so nothing the shopper can see is rounded
away). Prices are divided by the greatest common divisor ``g`` of all candidate prices: every
sum of prices is a multiple of ``g``, so ``sum <= budget`` exactly when
``sum / g <= budget // g``. Nothing is bucketed or rounded, so the answer is the true optimum,
not an approximation (tests/looks/test_knapsack.py checks it against brute force).

Two dynamic programmes over those prices, both exact:

* dense: one array cell per reachable total ``0 .. budget // g`` (numpy, one vector operation
  per candidate). Used when the array stays under ``dense_max_cells`` cells (small budgets
  over coarse prices, e.g. ₩50,000 in ₩100 steps: 501 cells).
* sparse: only the Pareto-optimal (total price, total similarity) states are kept, so the
  work follows the number of distinct useful totals, not the budget's size. Used otherwise,
  in particular when the prices share no large divisor (₩12,345 against ₩1,000,000, or
  prices in cents), where the dense array would be huge; bucketing the prices to shrink it
  would lose exactness, this does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import gcd

import numpy as np

# Similarities are compared in millionths (integers), so sums are exact.
VALUE_SCALE = 1_000_000
# Above this many cells (budget // g + 1, per slot) the sparse programme is used. Measured in
# bench/look.py on 6 garments x 50 candidates: at 3,001 cells (₩100 steps, ₩300,000) the
# sparse one is already about twice as fast, at 50,001 (cents, $500) some 30 times.
DENSE_MAX_CELLS = 1_000
_NEG = np.int64(-(1 << 60))  # "unreachable": far below any sum of values


@dataclass(frozen=True)
class Candidate:
    price: int  # minor units (won, cents), >= 0
    similarity: float  # 0..1
    key: object = None  # the caller's id (a product pk)


@dataclass
class Slot:
    candidates: list[Candidate]
    optional: bool = False  # may be left empty
    fixed: int | None = None  # index into candidates: the shopper's own pick, kept as it is
    min_similarity: float | None = None  # this slot's own minimum (else look_solve's)


@dataclass
class Solution:
    feasible: bool
    choice: list[int | None] = field(default_factory=list)  # candidate index per slot, None: empty
    total_price: int = 0
    total_similarity: float = 0.0
    # When nothing fits: the price of the cheapest look that fills every slot that must be
    # filled (None when some such slot has no candidate at all).
    cheapest_total: int | None = None
    method: str = ""  # "dense" or "sparse", for the benchmark


def look_solve(
    *,
    slots: list[Slot],
    budget: int,
    min_similarity: float = 0.0,
    dense_max_cells: int = DENSE_MAX_CELLS,
) -> Solution:
    """The most similar look whose price is at most ``budget`` (minor units).

    ``min_similarity``: candidates below it are not considered (a fixed pick always is); a
    slot's own ``min_similarity`` replaces it for that slot.
    A slot with ``fixed`` set keeps that candidate; an ``optional`` slot may be left empty
    (similarity 0, price 0). Raises ValueError on a negative budget or price.
    """
    if budget < 0:
        raise ValueError("the budget must be 0 or more")
    options: list[list[tuple[int, int, int | None]]] = []  # per slot: (price, value, index)
    for slot in slots:
        if slot.fixed is not None:
            c = slot.candidates[slot.fixed]
            allowed = [(c.price, _value(c.similarity), slot.fixed)]
        else:
            floor = min_similarity if slot.min_similarity is None else slot.min_similarity
            allowed = [
                (c.price, _value(c.similarity), i)
                for i, c in enumerate(slot.candidates)
                if c.similarity >= floor
            ]
            if slot.optional:
                allowed.append((0, 0, None))
        if any(price < 0 for price, _v, _i in allowed):
            raise ValueError("prices must be 0 or more")
        options.append(allowed)
    cheapest = None if any(not o for o in options) else sum(min(p for p, _v, _i in o) for o in options)
    if cheapest is None or cheapest > budget:
        return Solution(feasible=False, cheapest_total=cheapest)
    if not slots:
        return Solution(feasible=True, method="dense")

    divisor = 0
    for allowed in options:
        for price, _v, _i in allowed:
            divisor = gcd(divisor, price)
    divisor = divisor or 1  # every price 0
    capacity = budget // divisor
    # No total above the dearest possible look is ever needed.
    capacity = min(capacity, sum(max(p for p, _v, _i in o) for o in options) // divisor)
    scaled = [[(p // divisor, v, i) for p, v, i in allowed] for allowed in options]
    if capacity + 1 <= dense_max_cells:
        picks, method = _dense(scaled, capacity), "dense"
    else:
        picks, method = _sparse(scaled, capacity), "sparse"
    choice = [options[s][k][2] for s, k in enumerate(picks)]
    total_price = sum(options[s][k][0] for s, k in enumerate(picks))
    total_value = sum(options[s][k][1] for s, k in enumerate(picks))
    return Solution(
        feasible=True,
        choice=choice,
        total_price=total_price,
        total_similarity=total_value / VALUE_SCALE,
        cheapest_total=cheapest,
        method=method,
    )


def _value(similarity: float) -> int:
    return round(float(similarity) * VALUE_SCALE)


def _dense(options: list[list[tuple[int, int, int | None]]], capacity: int) -> list[int]:
    """best[c]: the most value with total price at most c. One row of back-pointers per slot."""
    best = np.zeros(capacity + 1, dtype=np.int64)  # no slot yet: value 0 at every total
    pointers = []
    for allowed in options:
        row = np.full(capacity + 1, _NEG, dtype=np.int64)
        pick = np.full(capacity + 1, -1, dtype=np.int32)
        for k, (price, value, _index) in enumerate(allowed):
            if price > capacity:
                continue
            candidate = best[: capacity + 1 - price] + value
            target = row[price:]
            better = candidate > target  # strictly: the first of equal options wins
            target[better] = candidate[better]
            pick[price:][better] = k
        pointers.append(pick)
        best = row
    top = best[capacity]
    # The cheapest total reaching the best value (best is non-decreasing in the total).
    total = int(np.argmax(best >= top))
    picks = []
    for s in range(len(options) - 1, -1, -1):
        k = int(pointers[s][total])
        picks.append(k)
        total -= options[s][k][0]
    return picks[::-1]


def _sparse(options: list[list[tuple[int, int, int | None]]], capacity: int) -> list[int]:
    """Pareto states (total, value), totals rising and values strictly rising."""
    totals = np.zeros(1, dtype=np.int64)
    values = np.zeros(1, dtype=np.int64)
    history = []  # per slot: (parent state, option) of each state
    for allowed in options:
        prices = np.array([p for p, _v, _i in allowed], dtype=np.int64)
        gains = np.array([v for _p, v, _i in allowed], dtype=np.int64)
        all_totals = (totals[:, None] + prices[None, :]).ravel()
        all_values = (values[:, None] + gains[None, :]).ravel()
        parents = np.repeat(np.arange(totals.size), prices.size)
        picks = np.tile(np.arange(prices.size), totals.size)
        keep = all_totals <= capacity
        all_totals, all_values = all_totals[keep], all_values[keep]
        parents, picks = parents[keep], picks[keep]
        # By total, then the best value first, then the earlier option (as the dense one).
        order = np.lexsort((picks, -all_values, all_totals))
        all_totals, all_values = all_totals[order], all_values[order]
        parents, picks = parents[order], picks[order]
        running = np.maximum.accumulate(all_values)
        previous = np.concatenate(([_NEG], running[:-1]))
        frontier = all_values > previous  # better than every cheaper state
        totals, values = all_totals[frontier], all_values[frontier]
        history.append((parents[frontier], picks[frontier]))
    state = int(values.size - 1)  # the most value (and, values rising, the cheapest such)
    picks_out = []
    for parents, picks in reversed(history):
        picks_out.append(int(picks[state]))
        state = int(parents[state])
    return picks_out[::-1]


def look_brute_force(
    *, slots: list[Slot], budget: int, min_similarity: float = 0.0
) -> tuple[int, int] | None:
    """(total value in millionths, total price) of the best look by trying every combination;
    None when nothing fits. For tests on small instances only."""
    from itertools import product as combinations

    options = []
    for slot in slots:
        if slot.fixed is not None:
            c = slot.candidates[slot.fixed]
            options.append([(c.price, _value(c.similarity))])
            continue
        floor = min_similarity if slot.min_similarity is None else slot.min_similarity
        allowed = [(c.price, _value(c.similarity)) for c in slot.candidates if c.similarity >= floor]
        if slot.optional:
            allowed.append((0, 0))
        options.append(allowed)
    best = None
    for combo in combinations(*options):
        price = sum(p for p, _v in combo)
        value = sum(v for _p, v in combo)
        if price <= budget and (best is None or (value, -price) > (best[0], -best[1])):
            best = (value, price)
    return best
