"""Bulk indexing end to end: images/s through the production embedding path, before and after.

    nice -n 19 python -m bench.bulk_index [--products 1000] [--batch 32] [--embedder efficientnet-lite0]
        [--paths before inline pool prefetch] [--torch-threads 2 1] [--rounds 4] [--no-write]

Builds a catalogue of N products in a scratch database of its own (bench_bulk_index) through
the production import code (shop.services.product_upsert + product_image_store): the CC0
clothing photos, reused as often as N needs, each copy made distinct by a JPEG comment
carrying its number (other bytes and SHA-256, the same pixels and decoding cost). Then it
indexes the catalogue as ``reindex`` does, batch after batch, once per path:

- ``before``: the embedding batch as it was before issue 15 (``legacy_compute_batch``
  below: images decoded one after another, then per-product DELETE and UPDATE statements);
- ``inline``: recommender.services.embedding_compute_batch with RECOMMENDER_DECODE_THREADS=0
  (the set-based writes alone);
- ``pool``: the same with RECOMMENDER_DECODE_THREADS (the production setting);
- ``prefetch``: the pool, and the next batch's images prepared on a thread of their own
  while this one is embedded (``prefetch_batches`` below, from the production pieces).
  Measured and not adopted: no better than the pool alone (docs/benchmarks.md, "bulk-index").

``--torch-threads`` runs every path once per torch thread count (torch's default is one per
core): on a shared machine a second torch thread can wait for a busy core at every layer.

The paths take turns: the catalogue is cut into ``--rounds`` slices and every path indexes
every slice (in a rotating order) from scratch (its vectors, colour rows and attributes
deleted, its products marked), so a change in the machine's load falls on all paths alike.
The model is loaded and run once before timing. Stage shares are of the wall time:
decode = read + decode + crop + perceptual hashes + colour + attributes; embed = the
model (its resize and normalisation included); write = the transaction; other = the rest
(loading the batch's rows, flags, the loop). The 1M projection is 1e6 / images/s / 3600
on one worker like this one.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections import defaultdict
from decimal import Decimal

from tqdm import tqdm

from bench.common import ROOT, cc0_photos, markdown_table, median

logger = logging.getLogger("bench.bulk_index")

SCRATCH_DB = "bench_bulk_index"
SOURCE_SLUG = "bench-bulk-index"
PATHS = ("before", "inline", "pool", "prefetch")


def distinct_copy(data: bytes, number: int) -> bytes:
    """The JPEG ``data`` with a comment segment (COM) carrying ``number`` after its start
    marker: other bytes (so another SHA-256 and another product), the same pixels."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    payload = f"bench copy {number}".encode()
    return data[:2] + b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload + data[2:]


def catalogue_build(n: int) -> list[int]:
    """Empty the scratch catalogue and import ``n`` products with distinct photos; their ids."""
    from django.db import connection

    from bench.common import rows_copy
    from bench.index import raw_connect
    from shop.models import Source
    from shop.services import ProductData, product_image_store, product_upsert

    if not connection.settings_dict["NAME"].startswith(("bench_", "test")):
        raise RuntimeError("catalogue_build empties the catalogue: run it on a scratch or test database.")
    conn = raw_connect()
    conn.execute("TRUNCATE shop_product RESTART IDENTITY CASCADE")
    row = conn.execute("SELECT id FROM shop_source WHERE slug = %s", [SOURCE_SLUG]).fetchone()
    if row is None:
        top = conn.execute("SELECT coalesce(max(id), 0) FROM shop_source").fetchone()[0]
        row = rows_copy(
            conn, Source, [{"slug": SOURCE_SLUG, "name": "Bulk index benchmark"}], start_id=top + 1
        )
    conn.close()
    source = Source.objects.get(pk=row[0])
    photos = [path.read_bytes() for path in cc0_photos()]
    ids = []
    for i in tqdm(range(n), desc="import catalogue", leave=False):
        product, _ = product_upsert(
            source=source,
            data=ProductData(
                external_id=f"bulk-{i}", title=f"Bulk {i}", price=Decimal(10 + i % 90), currency="USD"
            ),
        )
        product_image_store(product=product, data=distinct_copy(photos[i % len(photos)], i))
        ids.append(product.pk)
    return ids


def catalogue_unindex(product_ids: list[int]) -> None:
    """Forget what indexing wrote for these products and mark them again, so the next path
    indexes them from scratch (inserts, as a new catalogue is indexed)."""
    from recommender.models import Embedding, ProductColour
    from shop.models import ProductAttribute
    from shop.services import products_mark_for_embedding

    Embedding.objects.filter(product_id__in=product_ids).delete()
    ProductColour.objects.filter(product_id__in=product_ids).delete()
    ProductAttribute.objects.filter(product_id__in=product_ids).delete()
    products_mark_for_embedding(product_ids=product_ids)


def legacy_compute_batch(*, product_ids: list[int], model: str | None = None):
    """recommender.services.embedding_compute_batch as it was before issue 15, kept as the
    baseline (the stages timed as the production code times them): each image decoded,
    cropped and hashed in turn; in the transaction a DELETE and an UPDATE per product."""
    from django.db import transaction
    from django.utils import timezone

    from recommender.colour import rgb_histogram, rgb_stats
    from recommender.duplicates import image_phash, image_phash_fine
    from recommender.embedders import active_model_key, get_embedder
    from recommender.models import Embedding, ProductColour
    from recommender.services import BatchResult, _attribute_records, _product_image, catalogue_crop
    from shop.images import ImageRejected
    from shop.models import Product
    from shop.services import product_attributes_record, product_image_flag

    embedder = get_embedder(model)
    result = BatchResult(model_key=embedder.model_key)
    products = {p.pk: p for p in Product.objects.filter(pk__in=product_ids).select_related("category")}
    result.missing = [pk for pk in product_ids if pk not in products]
    crops, phashes = [], {}
    started = time.perf_counter()
    for pk in product_ids:
        product = products.get(pk)
        if product is None:
            continue
        try:
            image = _product_image(product)
            crop, region = catalogue_crop(
                image=image, category_slug=product.category.slug if product.category else None
            )
            phashes[pk] = (image_phash(image), image_phash_fine(image))
        except ImageRejected as exc:
            product_image_flag(product=product, reason=str(exc), unmark=True)
            result.failed[pk] = str(exc)
            continue
        crops.append((product, crop, region))
    decode = time.perf_counter() - started
    if not crops:
        return result
    started = time.perf_counter()
    vectors = embedder.embed([crop for _, crop, _ in crops])
    result.seconds["embed"] = time.perf_counter() - started
    started = time.perf_counter()
    attributes = [record for product, crop, _ in crops for record in _attribute_records(product, crop)]
    # The colour rows were computed inside the transaction; computed here, so that the
    # write stage holds only the statements, as in the new path.
    colours = []
    for product, crop, _ in crops:
        stats = rgb_stats(crop)
        colours.append(
            ProductColour(
                product=product,
                histogram=rgb_histogram(crop).round(5).tolist(),
                mean_rgb=stats["mean"],
                std_rgb=stats["std"],
                image_sha256=product.image_sha256,
                phash=phashes[product.pk][0],
                phash_fine=phashes[product.pk][1],
            )
        )
    result.seconds["decode"] = decode + time.perf_counter() - started
    clears_flag = embedder.model_key == active_model_key()
    now = timezone.now()
    started = time.perf_counter()
    with transaction.atomic():
        Embedding.objects.bulk_create(
            [
                Embedding(
                    product=product,
                    model_name=embedder.name,
                    model_key=embedder.model_key,
                    region=region,
                    vector=vector,
                    image_sha256=product.image_sha256,
                )
                for (product, _, region), vector in zip(crops, vectors, strict=True)
            ],
            update_conflicts=True,
            unique_fields=["product", "model_key", "region"],
            update_fields=["vector", "image_sha256", "model_name", "updated_at"],
        )
        for product, _, region in crops:
            Embedding.objects.filter(product=product, model_key=embedder.model_key).exclude(
                region=region
            ).delete()
        ProductColour.objects.bulk_create(
            colours,
            update_conflicts=True,
            unique_fields=["product"],
            update_fields=[
                "histogram",
                "mean_rgb",
                "std_rgb",
                "image_sha256",
                "phash",
                "phash_fine",
                "updated_at",
            ],
        )
        product_attributes_record(records=attributes)
        for product, _, _ in crops:
            if clears_flag:
                Product.objects.filter(pk=product.pk, image_sha256=product.image_sha256).update(
                    needs_embedding=False, updated_at=now
                )
            result.embedded.append(product.pk)
    result.seconds["write"] = time.perf_counter() - started
    return result


def prefetch_batches(*, batches: list[list[int]], model: str):
    """embedding_compute_batch for each batch in turn, yielding each result, with the next
    batch's images prepared (recommender.services.images_prepare) on a thread of their own
    while this batch is embedded. Its decode stage is the wait for that thread."""
    from concurrent.futures import ThreadPoolExecutor

    from recommender.embedders import get_embedder
    from recommender.services import _batch_finish, _batch_load, images_prepare

    embedder = get_embedder(model)

    def finish(result, future):
        started = time.perf_counter()
        prepared = future.result()
        result.seconds["decode"] = time.perf_counter() - started
        return _batch_finish(embedder=embedder, result=result, prepared=prepared)

    pending = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch") as ahead:
        for product_ids in batches:
            result, products = _batch_load(product_ids=product_ids, model_key=embedder.model_key)
            future = ahead.submit(images_prepare, products=products)
            if pending is not None:
                yield finish(*pending)
            pending = (result, future)
        if pending is not None:
            yield finish(*pending)


def path_run(path: str, product_ids: list[int], *, batch: int, model: str, threads: int) -> dict:
    """Index ``product_ids`` by ``path`` in batches of ``batch``; wall seconds per stage."""
    from django.conf import settings

    from recommender.services import embedding_compute_batch

    settings.RECOMMENDER_DECODE_THREADS = 0 if path in ("before", "inline") else threads
    batches = [product_ids[i : i + batch] for i in range(0, len(product_ids), batch)]
    stages: dict[str, float] = defaultdict(float)
    embedded = failed = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    if path == "prefetch":
        results = prefetch_batches(batches=batches, model=model)
    else:
        compute = legacy_compute_batch if path == "before" else embedding_compute_batch
        results = (compute(product_ids=ids, model=model) for ids in batches)
    for result in results:
        embedded += len(result.embedded)
        failed += len(result.failed)
        for stage, seconds in result.seconds.items():
            stages[stage] += seconds
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {"path": path, "wall": wall, "cpu": cpu, "embedded": embedded, "failed": failed, **stages}


def report(totals: dict[tuple[str, int], dict], *, threads: int) -> str:
    """The table: one row per (path, torch threads); ``totals`` holds each one's sums and
    its images/s per round."""
    baseline = next(iter(totals.values()))["rates"]
    rows = []
    for (path, torch_threads), t in totals.items():
        images = int(t["embedded"])
        wall = t["wall"]
        per_s = images / wall if wall else float("nan")
        other = wall - t["decode"] - t["embed"] - t["write"]
        ratios = [rate / base for rate, base in zip(t["rates"], baseline, strict=True)]
        rows.append(
            [
                path,
                torch_threads,
                0 if path in ("before", "inline") else threads,
                images,
                per_s,
                1000 / per_s,
                1000 * t["cpu"] / images,
                100 * t["decode"] / wall,
                100 * t["embed"] / wall,
                100 * t["write"] / wall,
                100 * other / wall,
                median(ratios),
                1e6 / per_s / 3600,
            ]
        )
    first = next(iter(totals))
    return markdown_table(
        [
            "path",
            "torch threads",
            "decode threads",
            "images",
            "images/s",
            "ms/image",
            "CPU ms/image",
            "decode+crop+hash %",
            "embed %",
            "DB write %",
            "other %",
            f"× {first[0]} ({first[1]} threads), median of rounds",
            "hours for 1M (1 worker)",
        ],
        rows,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=1000, help="catalogue size")
    parser.add_argument("--batch", type=int, default=None, help="default RECOMMENDER_EMBED_BATCH_SIZE")
    parser.add_argument("--embedder", default="efficientnet-lite0", help="efficientnet-lite0 or resnet50")
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=["before", "pool"])
    parser.add_argument(
        "--torch-threads",
        type=int,
        nargs="+",
        default=None,
        help="torch intra-op threads, each path run with each (default: torch's own, one per core)",
    )
    parser.add_argument(
        "--rounds", type=int, default=4, help="slices of the catalogue the paths alternate over"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="decode threads (default RECOMMENDER_DECODE_THREADS)"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    from bench.common import scratch_database_setup

    scratch_database_setup(SCRATCH_DB)
    import torch
    from django.conf import settings

    settings.RECOMMENDER_DEVICE = "cpu"
    settings.RECOMMENDER_DEMO_FALLBACK = False
    settings.RECOMMENDER_SEGMENT_CATALOGUE = False
    settings.MEDIA_ROOT = ROOT / "var" / "bench" / "media-bulk-index"
    # The batches' own log lines would bury the progress bar.
    logging.getLogger("recommender.services").setLevel(logging.WARNING)
    batch = args.batch or settings.RECOMMENDER_EMBED_BATCH_SIZE
    threads = settings.RECOMMENDER_DECODE_THREADS if args.threads is None else args.threads
    default_threads = torch.get_num_threads()
    variants = [(path, n) for n in (args.torch_threads or [default_threads]) for path in args.paths]
    from bench.retrieval import embedder_prepare

    model_label = embedder_prepare(args.embedder)
    logger.info("Load average at start: %.1f", os.getloadavg()[0])

    ids = catalogue_build(args.products)
    # Load the model and run it once: its first call allocates and picks kernels.
    legacy_compute_batch(product_ids=ids[:batch], model=args.embedder)

    rounds = max(1, min(args.rounds, len(ids) // batch or 1))
    size = -(-len(ids) // rounds)
    slices = [ids[i : i + size] for i in range(0, len(ids), size)]
    totals: dict[tuple[str, int], dict] = {v: defaultdict(float, rates=[]) for v in variants}
    for r, part in enumerate(tqdm(slices, desc="rounds")):
        # A rotating order: no variant always runs first after the reset, or always last.
        order = variants[r % len(variants) :] + variants[: r % len(variants)]
        for path, torch_threads in order:
            torch.set_num_threads(torch_threads)
            catalogue_unindex(part)
            run = path_run(path, part, batch=batch, model=args.embedder, threads=threads)
            rate = run["embedded"] / run["wall"]
            logger.info("round %d %s, %d torch threads: %.2f images/s", r + 1, path, torch_threads, rate)
            totals[(path, torch_threads)]["rates"].append(rate)
            for key in ("wall", "cpu", "embedded", "failed", "decode", "embed", "write"):
                totals[(path, torch_threads)][key] += run.get(key, 0.0)
    torch.set_num_threads(default_threads)
    load = os.getloadavg()[0]
    logger.info("Load average at end: %.1f", load)

    body = (
        f"{args.products} products (CC0 photos, about 400×534, each stored as a distinct file) indexed"
        f" through the production code in batches of {batch}, {model_label}, CPU; the paths alternate over"
        f" {len(slices)} slices of the catalogue, each slice indexed from scratch by every path."
        " *before*: the batch as it was before issue 15 (images decoded in turn; a DELETE and an UPDATE per"
        " product); *inline*: set-based writes, decoding in the worker's thread; *pool*: set-based writes"
        " and the decode pool; *prefetch*: pool, and the next batch prepared while this one is embedded."
        " CPU ms/image: this process, all threads (not PostgreSQL's). Decode share for *prefetch*: only the"
        f" wait for the next batch. Load average at the end: {load:.1f} (a shared machine: the median"
        " ratio of each round is the steadier comparison; the absolute rates move with the load).\n\n"
        + report(totals, threads=threads)
    )
    print(body)
    if not args.no_write:
        from bench.report import section_write

        section_write("bulk-index", body, packages=("torchvision", "Pillow", "efficientnet-lite-pytorch"))


if __name__ == "__main__":
    main()
