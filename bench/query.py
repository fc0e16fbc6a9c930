"""Query pipeline benchmark: one upload to results, stage by stage, against the original way.

    nice -n 19 python -m bench.query --catalogue 100 1000 10000 --original 100 1000

Our pipeline (the production functions the find-similar flow calls, in order):
decode (`shop.images.image_decode` of the uploaded bytes) -> segmentation
(`recommender.segmentation` Segmenter.segment, SegFormer-B2 shape with random weights:
the real weights cannot be downloaded here, and the cost does not depend on them) ->
embedding (`recommender.services.query_embed`, efficientnet-lite0 with real weights: the
model this machine can run offline) -> kNN (`recommender.selectors.similar_products`).

The original way: for every query, open and embed every catalogue image with the same
embedder, then cosine-compare in a Python loop. It is given our batched embedder (batch
32), which favours it.

Catalogues: shop.Product + recommender.Embedding rows in the scratch database; the
vectors are real efficientnet-lite0 embeddings of the CC0 photos (cycled beyond 713) for
100 and 1,000 products, and synthetic clustered rows (bench/vectors.py) for 10,000 — the
kNN cost depends on the count and dimension, not on where the vectors came from.
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np

from bench.common import ROOT, cc0_photos, markdown_table, median

logger = logging.getLogger("bench.query")

EMBEDDER = "efficientnet-lite0"
CACHE = ROOT / "var" / "bench"


def setup(*, smoke: bool) -> None:
    """Settings for this run, then Django on the scratch database."""
    from bench.common import scratch_database_setup
    from bench.indexing import MODELS_DIR, random_segformer_b2

    scratch_database_setup("bench_query")
    from django.conf import settings

    seg_dir = random_segformer_b2(MODELS_DIR / ("segformer-tiny" if smoke else "segformer-b2"), tiny=smoke)
    settings.RECOMMENDER_SEGMENTER = str(seg_dir)
    settings.RECOMMENDER_EMBEDDER = EMBEDDER
    settings.RECOMMENDER_DEVICE = "cpu"


def cc0_vectors(limit: int | None = None) -> np.ndarray:
    """Production embeddings of the CC0 photos (on white), cached in var/bench."""
    from PIL import Image

    from recommender.embedders import get_embedder
    from recommender.preprocess import garment_on_white

    photos = cc0_photos(limit)
    path = CACHE / f"cc0_{EMBEDDER}_{len(photos)}.npy"
    if path.exists():
        return np.load(path)
    embedder = get_embedder(EMBEDDER)
    out = []
    for start in range(0, len(photos), 32):
        batch = [garment_on_white(Image.open(p).convert("RGB")) for p in photos[start : start + 32]]
        out.append(embedder.embed(batch))
    vectors = np.concatenate(out)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def catalogue_load(n: int, *, real: np.ndarray):
    """A catalogue of ``n`` products with vectors under the active model key; the index."""
    from bench.index import ProductIndex, raw_connect
    from bench.vectors import ClusteredVectors
    from recommender.embedders import get_embedder

    embedder = get_embedder(EMBEDDER)
    if n <= 1000:
        vectors = real[np.arange(n) % len(real)]
    else:
        vectors, _ = ClusteredVectors(embedder.dim).sample(n, seed=5)
    prices = (np.random.default_rng(3).permutation(n) + 1) * 100.0
    conn = raw_connect()
    idx = ProductIndex(conn, embedder.dim, model_name=embedder.name, model_key=embedder.model_key)
    idx.load(vectors, prices)
    idx.build(m=0, ef_construction=0)
    return idx


def stage_times(upload: bytes, repeat: int, seg_repeat: int) -> dict[str, float]:
    """Median milliseconds per stage of our pipeline for one upload."""
    from recommender.embedders import get_embedder
    from recommender.segmentation import get_segmenter
    from recommender.selectors import similar_products
    from recommender.services import query_embed
    from shop.images import image_decode

    segmenter = get_segmenter()
    model_key = get_embedder(EMBEDDER).model_key
    from django.db import connection

    from bench.index import process_cpu_ms

    connection.ensure_connection()
    backend = connection.connection.info.backend_pid
    times: dict[str, list[float]] = {"decode": [], "segmentation": [], "embedding": [], "kNN": []}
    cpu: dict[str, list[float]] = {stage: [] for stage in times}
    # Warm-up: models loaded and first-call costs paid, as in a running worker.
    image = image_decode(upload).image
    garments = segmenter.segment(image)
    vector, _ = query_embed(image=image)
    similar_products(vector, model_key=model_key, k=10)

    def clock() -> tuple[float, float]:
        # Wall time, and CPU time of this process (all threads) plus the database backend.
        return time.perf_counter() * 1000, time.process_time() * 1000 + process_cpu_ms(backend)

    def record(stage, start, end):
        times[stage].append(end[0] - start[0])
        cpu[stage].append(end[1] - start[1])

    for i in range(repeat):
        c0 = clock()
        image = image_decode(upload).image
        c1 = clock()
        if i < seg_repeat:
            garments = segmenter.segment(image)
            record("segmentation", c1, clock())
        # The largest garment found (random weights find arbitrary ones), else the photo.
        mask = max(garments, key=lambda g: g.area_share).mask if garments else None
        c2 = clock()
        vector, key = query_embed(image=image, mask=mask)
        c3 = clock()
        results = similar_products(vector, model_key=key, k=10)
        c4 = clock()
        assert results, "the catalogue returned nothing"
        record("decode", c0, c1)
        record("embedding", c2, c3)
        record("kNN", c3, c4)
    return {stage: median(values) for stage, values in times.items()} | {
        f"{stage} CPU": median(values) for stage, values in cpu.items()
    }


def original_way(upload: bytes, n: int, query_vector: np.ndarray) -> dict[str, float]:
    """Embed all ``n`` catalogue photos for this query and compare in Python (ms)."""
    from PIL import Image

    from recommender.embedders import get_embedder
    from recommender.preprocess import garment_on_white

    embedder = get_embedder(EMBEDDER)
    photos = cc0_photos()
    paths = [photos[i % len(photos)] for i in range(n)]
    start, cpu_start = time.perf_counter(), time.process_time()
    vectors = []
    for i in range(0, n, 32):
        batch = [garment_on_white(Image.open(p).convert("RGB")) for p in paths[i : i + 32]]
        vectors.extend(embedder.embed(batch))
    mid, cpu_mid = time.perf_counter(), time.process_time()
    scores = []
    for idx, v in enumerate(vectors):
        cosine = float(np.dot(query_vector, v) / (np.linalg.norm(query_vector) * np.linalg.norm(v)))
        scores.append((cosine, idx))
    scores.sort(reverse=True)
    top = scores[:10]
    end = time.perf_counter()
    assert len(top) == min(10, n)
    return {
        "embed_catalogue": (mid - start) * 1000,
        "cosine": (end - mid) * 1000,
        "embed_catalogue CPU": (cpu_mid - cpu_start) * 1000,
        "cosine CPU": (time.process_time() - cpu_mid) * 1000,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--catalogue", type=int, nargs="+", default=[100, 1000, 10_000])
    parser.add_argument("--original", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--repeat", type=int, default=7, help="queries timed per catalogue size")
    parser.add_argument("--seg-repeat", type=int, default=2, help="of which segmented (seconds each on CPU)")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny segmenter and few photos; for the smoke test"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    setup(smoke=args.smoke)

    from recommender.services import query_embed
    from shop.images import image_decode

    upload = cc0_photos()[-1].read_bytes()  # a real JPEG, as a shopper would upload it
    real = cc0_vectors(limit=50 if args.smoke else None)
    ours = {}
    for n in args.catalogue:
        catalogue_load(n, real=real)
        ours[n] = stage_times(upload, args.repeat, min(args.seg_repeat, args.repeat))
        logger.info("ours at %s: %s", n, {k: round(v, 1) for k, v in ours[n].items()})
    query_vector, _ = query_embed(image=image_decode(upload).image)
    original = {}
    for n in args.original:
        original[n] = original_way(upload, n, query_vector)
        logger.info("original at %s: %s", n, {k: round(v) for k, v in original[n].items()})

    def table_rows(suffix: str) -> list[tuple]:
        rows = []
        for n in args.catalogue:
            t = {stage: ours[n][stage + suffix] for stage in ("decode", "segmentation", "embedding", "kNN")}
            total = sum(t.values())
            rows.append(
                (
                    f"{n:,}",
                    "ours",
                    t["decode"],
                    t["segmentation"],
                    t["embedding"],
                    t["kNN"],
                    "–",
                    total,
                    "",
                    "",
                )
            )
            if n in original:
                o = {k: original[n][k + suffix] for k in ("embed_catalogue", "cosine")}
                o_total = (
                    t["decode"] + t["segmentation"] + t["embedding"] + o["embed_catalogue"] + o["cosine"]
                )
                o_search = t["embedding"] + o["embed_catalogue"] + o["cosine"]
                rows.append(
                    (
                        f"{n:,}",
                        "original",
                        t["decode"],
                        t["segmentation"],
                        t["embedding"] + o["embed_catalogue"],
                        "–",
                        o["cosine"],
                        o_total,
                        f"{o_total / total:,.1f}×",
                        f"{o_search / (t['embedding'] + t['kNN']):,.0f}×",
                    )
                )
        return rows

    headers = [
        "products",
        "pipeline",
        "decode",
        "segmentation",
        "embedding",
        "kNN",
        "cosine (Python)",
        "total",
        "end-to-end speed-up",
        "search speed-up",
    ]
    body = (
        __doc__.split("\n\n", 2)[2].strip()
        + "\n\nMedian milliseconds per query (segmentation: median of "
        + f"{min(args.seg_repeat, args.repeat)} runs, the other stages of {args.repeat}). The original way"
        " shares our decode and segmentation; its embedding column is the query plus every catalogue photo."
        " *Search speed-up* leaves segmentation and decoding out (they are the same work in both).\n\n"
        + "**Wall clock, ms**\n\n"
        + markdown_table(headers, table_rows(""))
        + "\n\n**CPU time, ms** (this process's threads plus the database backend for kNN: the machine is"
        " shared, see the load average, so wall time includes waiting for a core)\n\n"
        + markdown_table(headers, table_rows(" CPU"))
    )
    print(body)
    if not args.no_write:
        from bench.report import section_write

        section_write("query", body, packages=("torchvision", "transformers", "numpy"))


if __name__ == "__main__":
    main()
