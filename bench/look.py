"""Complete the look within a budget: the exact knapsack (looks/knapsack.py) on the page's
worst case and beyond.

    nice -n 10 python -m bench.look [--slots 6] [--candidates 50] [--repeat 200] [--no-write]

Random seeded instances: ``--slots`` garments x ``--candidates`` candidates each, with
similarities in 0.3..1 and prices drawn the way the catalogue writes them. Three price
shapes, because the dynamic programme's size follows the budget divided by the prices'
common divisor: Korean prices in hundreds of won (the demo's), in single won (no common
divisor: the sparse programme), and dollar prices in cents. Each instance is solved once to
warm up, then ``--repeat`` times; p50 and p95 of one solve. Target: p95 under 50 ms for
6 x 50. Writes its section of docs/benchmarks.md unless --no-write.
"""

from __future__ import annotations

import argparse
import random
import time

from bench.common import markdown_table, percentile
from looks.knapsack import DENSE_MAX_CELLS, Candidate, Slot, look_solve

TARGET_MS = 50.0

# (label, price of one candidate, budget): minor units.
SHAPES = {
    "KRW, prices in ₩100 steps, budget ₩300,000": (lambda r: r.randint(50, 1500) * 100, 300_000),
    "KRW, prices in ₩1 steps, budget ₩300,000": (lambda r: r.randint(5_000, 150_000), 300_000),
    "USD, prices in cents, budget $500.00": (lambda r: r.randint(999, 19_999), 50_000),
}


def instance(seed: int, *, slots: int, candidates: int, price) -> list[Slot]:
    rng = random.Random(seed)
    return [
        Slot(
            candidates=[
                Candidate(price=price(rng), similarity=round(rng.uniform(0.3, 1.0), 4), key=k)
                for k in range(candidates)
            ]
        )
        for _ in range(slots)
    ]


# What the page runs, and each programme forced (the dense one only a few times: it is slow
# where the sparse one is chosen).
VARIANTS = {
    "as the page runs it": (DENSE_MAX_CELLS, 1),
    "dense forced": (10**12, 20),
    "sparse forced": (0, 1),
}


def run(*, slots: int, candidates: int, repeat: int, instances: int = 5) -> list[tuple]:
    rows = []
    for label, (price, budget) in SHAPES.items():
        for variant, (cells, fewer) in VARIANTS.items():
            rows.append(
                _row(
                    label,
                    variant,
                    price,
                    budget,
                    cells,
                    slots,
                    candidates,
                    max(3, repeat // fewer),
                    instances,
                )
            )
    return rows


def _row(label, variant, price, budget, cells, slots, candidates, repeat, instances) -> tuple:
    times, methods, feasible = [], set(), 0
    for seed in range(instances):
        problem = instance(seed, slots=slots, candidates=candidates, price=price)
        solution = look_solve(slots=problem, budget=budget, dense_max_cells=cells)  # warm-up
        methods.add(solution.method or "-")
        feasible += solution.feasible
        for _ in range(repeat):
            start = time.perf_counter()
            look_solve(slots=problem, budget=budget, dense_max_cells=cells)
            times.append((time.perf_counter() - start) * 1000)
    p50, p95 = percentile(times, 50), percentile(times, 95)
    return (
        label,
        variant,
        f"{slots} x {candidates}",
        "/".join(sorted(methods)),
        str(repeat * instances),
        f"{feasible}/{instances}",
        f"{p50:.2f}",
        f"{p95:.2f}",
        "yes" if p95 < TARGET_MS else "NO",
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, default=6)
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    rows = run(slots=args.slots, candidates=args.candidates, repeat=args.repeat)
    headers = (
        "prices",
        "run",
        "garments x candidates",
        "programme",
        "solves",
        "looks that fit",
        "p50 ms",
        "p95 ms",
        "< 50 ms",
    )
    table = markdown_table(headers, rows)
    print(table)
    if not args.no_write:
        from bench.report import section_write

        body = (
            "### Complete the look: exact knapsack (looks/knapsack.py)\n\n"
            f"One solve, {args.repeat} times on each of 5 seeded random instances per price shape. "
            "Exact: prices in minor units divided by their common divisor, no bucketing; the dense "
            "programme when budget / divisor is small, the sparse (Pareto) one otherwise.\n\n" + table
        )
        section_write("look", body, packages=("numpy",))


if __name__ == "__main__":
    main()
