"""The look's knapsack is exact: compared with trying every combination on small random
instances (seeded), through both of its dynamic programmes."""

from __future__ import annotations

import random

import pytest

from looks.knapsack import VALUE_SCALE, Candidate, Slot, look_brute_force, look_solve


def _instance(rng: random.Random, *, unit: int) -> tuple[list[Slot], int]:
    slots = []
    for _ in range(rng.randint(1, 4)):
        candidates = [
            Candidate(price=rng.randint(0, 60) * unit, similarity=round(rng.random(), 6), key=i)
            for i in range(rng.randint(1, 5))
        ]
        fixed = rng.randrange(len(candidates)) if rng.random() < 0.15 else None
        floor = rng.choice([None, None, 0.5])  # sometimes a slot's own minimum similarity
        slots.append(
            Slot(candidates=candidates, optional=rng.random() < 0.3, fixed=fixed, min_similarity=floor)
        )
    budget = rng.randint(0, 150) * unit + rng.randint(0, unit - 1)
    return slots, budget


@pytest.mark.parametrize("dense_max_cells", [10**9, 0], ids=["dense", "sparse"])
@pytest.mark.parametrize("unit", [1, 100, 1_000, 7])
def test_exact_against_brute_force_on_random_instances(dense_max_cells, unit):
    rng = random.Random(17 * unit + dense_max_cells % 97)
    feasible = infeasible = 0
    for _ in range(300):
        slots, budget = _instance(rng, unit=unit)
        min_similarity = rng.choice([0.0, 0.0, 0.3])
        expected = look_brute_force(slots=slots, budget=budget, min_similarity=min_similarity)
        got = look_solve(
            slots=slots, budget=budget, min_similarity=min_similarity, dense_max_cells=dense_max_cells
        )
        if expected is None:
            infeasible += 1
            assert not got.feasible
            continue
        feasible += 1
        assert got.feasible and got.method == ("dense" if dense_max_cells else "sparse")
        value, price = expected
        # The same best similarity, and the same (cheapest) price for it.
        assert round(got.total_similarity * VALUE_SCALE) == value
        assert got.total_price == price <= budget
        # The choice is real: one allowed candidate per slot (or empty where allowed), adding up.
        chosen = [(s, i) for s, i in zip(slots, got.choice, strict=True)]
        assert sum(s.candidates[i].price for s, i in chosen if i is not None) == price
        for slot, index in chosen:
            if slot.fixed is not None:
                assert index == slot.fixed
            elif index is None:
                assert slot.optional
            else:
                floor = min_similarity if slot.min_similarity is None else slot.min_similarity
                assert slot.candidates[index].similarity >= floor
    assert feasible > 100 and infeasible > 5  # both kinds of instance were exercised


def test_no_combination_fits_says_what_the_cheapest_look_costs():
    slots = [
        Slot(candidates=[Candidate(30000, 0.9), Candidate(20000, 0.5)]),
        Slot(candidates=[Candidate(50000, 0.8), Candidate(45000, 0.7)]),
        Slot(candidates=[Candidate(90000, 0.9)], optional=True),
    ]
    solution = look_solve(slots=slots, budget=60000)
    assert not solution.feasible and solution.cheapest_total == 65000
    fits = look_solve(slots=slots, budget=65000)
    assert fits.feasible and fits.choice == [1, 1, None] and fits.total_price == 65000


def test_a_slot_without_candidates_has_no_cheapest_look():
    solution = look_solve(slots=[Slot(candidates=[Candidate(100, 0.9)]), Slot(candidates=[])], budget=1000)
    assert not solution.feasible and solution.cheapest_total is None
    # Unless it may be left empty.
    solution = look_solve(
        slots=[Slot(candidates=[Candidate(100, 0.9)]), Slot(candidates=[], optional=True)], budget=1000
    )
    assert solution.feasible and solution.choice == [0, None]


def test_min_similarity_and_fixed_picks():
    slots = [
        Slot(candidates=[Candidate(100, 0.95), Candidate(10, 0.2)]),
        Slot(candidates=[Candidate(100, 0.9), Candidate(10, 0.85)], fixed=1),
    ]
    assert look_solve(slots=slots, budget=200).choice == [0, 1]
    # Below the minimum similarity the cheap one is not considered, even if nothing else fits.
    assert not look_solve(slots=slots, budget=50, min_similarity=0.5).feasible
    assert look_solve(slots=slots, budget=50).choice == [1, 1]


def test_refuses_negative_input():
    with pytest.raises(ValueError):
        look_solve(slots=[], budget=-1)
    with pytest.raises(ValueError):
        look_solve(slots=[Slot(candidates=[Candidate(-5, 0.5)])], budget=10)
