"""Retrieval quality: does a shopper's photo find the product it shows?

    python -m bench.retrieval --catalog DIR --queries DIR --pairs FILE.csv [--embedder NAME]
        [--segment-queries/--no-segment-queries] [--segment-catalog/--no-segment-catalog]
        [--garment top] [--region auto box whole] [--boxes FILE.csv] [--json]
    nice -n 19 python -m bench.retrieval --self-test
    nice -n 19 python -m bench.retrieval --people 200 --region auto box whole mask

``--region`` measures the path a shopper takes on the Find-similar page, on each query
photo as the page stores it (upload_decode, then the stored JPEG copy):

- ``auto``: the page's default choice (find_similar.detection: the segmenter's largest
  garment when its weights are installed, else the top placed on the person's body, else
  the main object, GrabCut over the whole photo);
- ``box``: the shopper's drag box from ``--boxes`` (header ``query,x0,y0,x1,y1``, in the
  upright photo's pixels), clipped, snapped to the page's grid and refined by GrabCut as
  the page does;
- ``whole``: the whole photo (the page's "Use the whole photo");
- ``mask`` (``--people`` only): the true visible mask of the garment, the ceiling.

The page also preselects the default garment's categories; the benchmark leaves the
filter out so that every region is ranked against the same gallery. ``--json`` prints one
JSON object per variant (region, colour on/off, recall@1/5/10/20, MRR) instead of the table.

``--people N`` builds the stand-in for street photos of people (bench/people.py): N painted
people, each wearing a top, bottoms and shoes cut out of the CC0 photos; the query's
target is its top's catalogue photo, its box the top's bounding box with a shopper's
slack, its mask the top's visible pixels.

The catalogue images are imported as products (shop.services.product_upsert +
product_image_store) into a scratch database and embedded by the production indexing code
(recommender.services.embedding_compute_batch); every query goes through the production
query code (shop.images.image_decode -> optional segmentation -> query_embed ->
similar_products). The pairs file has a header ``query,catalog`` and one row per query:
file names inside --queries and --catalog. Prints recall@1/5/10/20 and MRR (over the top
20; a target ranked lower counts 0).

``--self-test`` builds its own pairs from the CC0 clothing photos: the catalogue is the
clean photos, each query one of them after a random crop, rotation, scale and colour
jitter, pasted onto a busy background (a collage of other photos). It reports every
offline-runnable embedder with and without the colour-histogram term, for the whole query
photo and for the garment's box (what a shopper's drag-a-box crop gives).

``--embedder`` takes several names: each is measured on the same catalogue and queries (with
``--region``, each query's region is cut once and embedded by every model). ``--colour-in-vector``
adds, for each colour weight w, the colour term *inside* the vector instead of the re-rank:
every vector becomes normalise([v, a * c]) with c the colour feature the re-rank uses
(recommender.colour.colour_features) and a = sqrt(w / (1 - w)), so the cosine of two such
vectors is (1 - w) * cos(v) + w * cos(c) over the whole catalogue rather than over the
nearest RECOMMENDER_COLOUR_RERANK_POOL. It is ranked exactly in numpy over the stored vectors
and histograms (the catalogues here are small enough that HNSW with ef_search 100 is exact too).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import random
import shutil
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from bench.common import ROOT, cc0_photos, markdown_table

logger = logging.getLogger("bench.retrieval")

KS = (1, 5, 10, 20)
SELF_TEST_DIR = ROOT / "var" / "bench" / "retrieval-self-test"
PEOPLE_DIR = ROOT / "var" / "bench" / "retrieval-people"
REGIONS = ("auto", "box", "whole", "mask")
REGION_LABELS = {
    "auto": "auto (the page's default)",
    "box": "shopper's box + GrabCut",
    "whole": "whole photo",
    "mask": "true garment mask",
}
# CC0 class folders -> shop category slugs.
CC0_CATEGORY = {
    "dress": "dress",
    "hat": "hat",
    "longsleeve": "top",
    "outwear": "outer",
    "pants": "pants",
    "shirt": "top",
    "shoes": "shoes",
    "shorts": "shorts",
    "skirt": "skirt",
    "t-shirt": "top",
}


@dataclass
class Scores:
    ranks: list[int | None]  # 1-based rank of the target in the top 20, None if absent

    def recall(self, k: int) -> float:
        return float(np.mean([r is not None and r <= k for r in self.ranks])) if self.ranks else 0.0

    @property
    def mrr(self) -> float:
        return float(np.mean([1 / r if r else 0.0 for r in self.ranks])) if self.ranks else 0.0

    def row(self) -> list[float]:
        return [self.recall(k) for k in KS] + [self.mrr]


def pairs_read(path: Path, *, queries: Path, catalog: Path) -> list[tuple[str, str]]:
    """The (query, catalog) file names of a pairs CSV, checked against both folders."""
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or {"query", "catalog"} - set(reader.fieldnames):
            raise SystemExit(
                f"{path} must start with the header line 'query,catalog' (it has {reader.fieldnames}). "
                "Add the header and run again."
            )
        pairs = [(row["query"].strip(), row["catalog"].strip()) for row in reader if row.get("query")]
    missing = [q for q, _ in pairs if not (queries / q).is_file()]
    missing += [c for _, c in pairs if not (catalog / c).is_file()]
    if missing:
        raise SystemExit(
            f"{len(missing)} file(s) named in {path} are not in the folders, e.g. {missing[:3]}. "
            "Fix the names or the --queries/--catalog folders and run again."
        )
    if not pairs:
        raise SystemExit(f"{path} has no pairs. Add lines 'query-file,catalog-file' and run again.")
    return pairs


def catalogue_index(catalog: Path, *, model: str, categories: dict[str, str] | None = None) -> dict[str, int]:
    """Import every image in ``catalog`` as a product and embed it with the production code.

    Returns file name -> product id. Empties the (scratch) catalogue first.
    """
    from django.db import connection

    from bench.common import rows_copy
    from bench.index import raw_connect
    from recommender.services import embedding_compute_batch
    from shop.models import Source
    from shop.services import ProductData, product_image_store, product_upsert

    if not connection.settings_dict["NAME"].startswith(("bench_", "test")):
        raise RuntimeError("catalogue_index empties the catalogue: run it on a scratch or test database.")
    conn = raw_connect()
    conn.execute("TRUNCATE shop_product RESTART IDENTITY CASCADE")
    row = conn.execute("SELECT id FROM shop_source WHERE slug = 'bench-retrieval'").fetchone()
    if row is None:
        top = conn.execute("SELECT coalesce(max(id), 0) FROM shop_source").fetchone()[0]
        row = rows_copy(
            conn, Source, [{"slug": "bench-retrieval", "name": "Retrieval benchmark"}], start_id=top + 1
        )
    conn.close()
    source = Source(pk=row[0], slug="bench-retrieval")
    files = sorted(p for p in catalog.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"))
    ids: dict[str, int] = {}
    for i, path in enumerate(tqdm(files, desc="import catalogue", leave=False)):
        product, _ = product_upsert(
            source=source,
            data=ProductData(
                external_id=path.name,
                title=path.stem,
                price=Decimal(10 + i % 90),
                currency="USD",
                category=(categories or {}).get(path.name, ""),
            ),
        )
        product_image_store(product=product, data=path.read_bytes())
        ids[path.name] = product.pk
    pks = list(ids.values())
    batch = 32
    for start in tqdm(range(0, len(pks), batch), desc=f"embed catalogue ({model})", leave=False):
        result = embedding_compute_batch(product_ids=pks[start : start + batch], model=model)
        if result.failed:
            logger.warning("Not embedded: %s", result.failed)
    return ids


def query_vectors(
    paths: list[Path],
    *,
    model: str,
    segment: bool,
    garment: str | None,
    boxes: dict[str, tuple[int, int, int, int]] | None = None,
):
    """(vector, model key, colour histogram, categories) per query through the production
    query code; ``boxes`` (file name -> x0, y0, x1, y1) stands in for a shopper's crop box."""
    from recommender.services import query_colour, query_embed
    from shop.garments import GARMENT_CATEGORIES
    from shop.images import image_decode

    segmenter = None
    if segment:
        from recommender.segmentation import get_segmenter

        segmenter = get_segmenter()
    out = []
    for path in tqdm(paths, desc=f"queries ({model})", leave=False):
        image = image_decode(path.read_bytes()).image
        mask, categories = None, None
        if boxes is not None and path.name in boxes:
            x0, y0, x1, y1 = boxes[path.name]
            mask = np.zeros((image.height, image.width), dtype=bool)
            mask[y0:y1, x0:x1] = True
        elif segmenter is not None:
            garments = segmenter.segment(image)
            wanted = [g for g in garments if garment in (None, g.kind)]
            if wanted:
                chosen = max(wanted, key=lambda g: g.area_share)
                mask = chosen.mask
        if garment:
            categories = GARMENT_CATEGORIES.get(garment, [garment])
        vector, key = query_embed(image=image, mask=mask, model=model)
        out.append((vector, key, query_colour(image=image, mask=mask), categories))
    return out


def evaluate(queries, targets: list[int], *, colour: bool) -> Scores:
    from recommender.selectors import similar_products

    ranks = []
    for (vector, key, histogram, categories), target in zip(queries, targets, strict=True):
        found = similar_products(
            vector,
            model_key=key,
            categories=categories,
            in_stock_only=False,
            k=max(KS),
            query_histogram=histogram if colour else None,
            # Rank everything: the quality measure must not depend on the display cut-off.
            max_distance=2.0,
        )
        ids = [r.product.pk for r in found]
        ranks.append(ids.index(target) + 1 if target in ids else None)
    return Scores(ranks)


def colour_in_vector(vectors: np.ndarray, histograms, weight: float) -> np.ndarray:
    """Unit vectors with the colour term inside: normalise([v, a * c]) per row, where v is the
    unit embedding, c the unit colour feature of the (3, bins) histogram and a = sqrt(w / (1 - w)),
    so that cosine similarity of two rows is (1 - w) * cos(v, v') + w * cos(c, c')."""
    from recommender.colour import colour_features

    v = np.asarray(vectors, dtype=np.float32)
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    c = colour_features(np.asarray(histograms, dtype=np.float32))
    scale = np.sqrt(weight / (1.0 - weight))
    out = np.concatenate([v, scale * c], axis=1)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def in_vector_scores(
    queries, ids: dict[str, int], targets: list[int], *, model_key: str, weight: float
) -> Scores:
    """Recall with the colour term inside the vector (colour_in_vector) over the stored
    catalogue vectors and histograms of ``model_key``; queries as query_vectors returns them."""
    from recommender.models import Embedding, ProductColour

    pks = list(ids.values())
    stored = dict(
        Embedding.objects.filter(model_key=model_key, product_id__in=pks).values_list("product_id", "vector")
    )
    colours = dict(ProductColour.objects.filter(product_id__in=pks).values_list("product_id", "histogram"))
    rows = [pk for pk in pks if pk in stored and pk in colours]
    # pgvector's field gives a HalfVector, a list or an array depending on the version.
    vectors = [stored[pk].to_list() if hasattr(stored[pk], "to_list") else stored[pk] for pk in rows]
    catalogue = colour_in_vector(np.asarray(vectors, dtype=np.float32), [colours[pk] for pk in rows], weight)
    query = colour_in_vector(np.stack([q[0] for q in queries]), [q[2] for q in queries], weight)
    index = {pk: i for i, pk in enumerate(rows)}
    return ranks_numpy(query, catalogue, [index.get(t, -1) for t in targets], lambda q, c: q @ c.T)


def ranks_numpy(queries: np.ndarray, catalogue: np.ndarray, targets: list[int], score) -> Scores:
    """Rank of each target (a catalogue row) under a scoring function (higher is nearer)."""
    sims = score(queries, catalogue)
    order = np.argsort(-sims, axis=1)[:, : max(KS)]
    ranks = []
    for row, target in zip(order, targets, strict=True):
        hits = np.flatnonzero(row == target)
        ranks.append(int(hits[0]) + 1 if len(hits) else None)
    return Scores(ranks)


def compression_variants(catalogue: np.ndarray, *, rerank: int = 50) -> dict[str, tuple[int, object]]:
    """Ways to store fewer bytes per vector: name -> (payload bytes per vector at this
    dimension, scoring function). PCA is fitted on the catalogue, as it would be in production."""
    dim = catalogue.shape[1]
    mean = catalogue.mean(axis=0)
    _, _, vt = np.linalg.svd(catalogue - mean, full_matrices=False)

    def unit(x):
        return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-12)

    def cosine(q, c):
        return unit(q) @ unit(c).T

    def pca(d):
        basis = vt[:d].T
        return lambda q, c: cosine((q - mean) @ basis, (c - mean) @ basis)

    def binary(centre: bool, rerank_k: int):
        shift = mean if centre else 0.0

        def score(q, c):
            qb, cb = (q - shift) > 0, (c - shift) > 0
            # Hamming similarity = bits that agree.
            agree = qb.astype(np.float32) @ cb.T.astype(np.float32)
            agree += (~qb).astype(np.float32) @ (~cb).T.astype(np.float32)
            if not rerank_k:
                return agree
            exact = cosine(q, c)
            out = np.full_like(exact, -np.inf)
            top = np.argsort(-agree, axis=1)[:, :rerank_k]
            np.put_along_axis(out, top, np.take_along_axis(exact, top, axis=1), axis=1)
            return out

        return score

    variants = {f"full {dim}-d halfvec": (2 * dim, cosine)}
    for d in (512, 256, 128):
        if d < min(dim, len(catalogue)):
            variants[f"PCA → {d}-d halfvec"] = (2 * d, pca(d))
    variants["binary (sign of raw ReLU features), no re-rank"] = (dim // 8, binary(False, 0))
    variants[f"binary (raw), re-rank top {rerank}"] = (dim // 8, binary(False, rerank))
    variants["binary (centred on catalogue mean), no re-rank"] = (dim // 8, binary(True, 0))
    variants[f"binary (centred), re-rank top {rerank}"] = (dim // 8, binary(True, rerank))
    return variants


def compression_table(ids: dict[str, int], vectors_by_variant, targets_by_file, model_key: str) -> list[list]:
    """Recall of each compression on the same queries, in numpy (exact search), for the
    production catalogue vectors."""
    from recommender.models import Embedding

    rows = Embedding.objects.filter(model_key=model_key).values_list("product_id", "vector")
    product_ids, catalogue = [], []
    for pk, vector in rows:
        product_ids.append(pk)
        # pgvector's field gives a HalfVector, a list or an array depending on the version.
        values = vector.to_list() if hasattr(vector, "to_list") else vector
        catalogue.append(np.asarray(values, dtype=np.float32))
    catalogue = np.stack(catalogue)
    row_of = {pk: i for i, pk in enumerate(product_ids)}
    out = []
    variants = compression_variants(catalogue)
    for label, queries in vectors_by_variant.items():
        q = np.stack([v for v, *_ in queries])
        targets = [row_of[t] for t in targets_by_file]
        for name, (payload, score) in variants.items():
            out.append([label, name, payload, *ranks_numpy(q, catalogue, targets, score).row()])
    return out


def self_test_build(*, n_queries: int, catalogue_limit: int | None, seed: int = 0):
    """Write the clean catalogue and distorted queries; returns (catalog dir, queries dir,
    pairs csv, boxes, categories)."""
    from PIL import Image, ImageFilter
    from torchvision import transforms

    rng = random.Random(seed)
    photos = cc0_photos()
    if catalogue_limit:
        photos = sorted(rng.sample(photos, min(catalogue_limit, len(photos))))
    catalog, queries = SELF_TEST_DIR / "catalog", SELF_TEST_DIR / "queries"
    shutil.rmtree(SELF_TEST_DIR, ignore_errors=True)
    catalog.mkdir(parents=True)
    queries.mkdir(parents=True)
    categories = {}
    for p in photos:
        name = f"{p.parent.name}-{p.name}"
        shutil.copyfile(p, catalog / name)
        categories[name] = CC0_CATEGORY.get(p.parent.name, "")
    jitter = transforms.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.04)
    chosen = rng.sample(photos, min(n_queries, len(photos)))
    pairs, boxes = [], {}
    for i, p in enumerate(chosen):
        image = Image.open(p).convert("RGB")
        w, h = image.size
        # Crop 75-95% of each side at a random place, rotate up to 15 degrees, jitter colours.
        cw, ch = int(w * rng.uniform(0.75, 0.95)), int(h * rng.uniform(0.75, 0.95))
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        garment = image.crop((x, y, x + cw, y + ch))
        garment = garment.rotate(
            rng.uniform(-15, 15), resample=Image.BICUBIC, expand=True, fillcolor=(255,) * 3
        )
        garment = jitter(garment)
        # A busy background: a 3x3 collage of other photos, blurred a little, like a street.
        side = 640
        background = Image.new("RGB", (side, side))
        for gy in range(3):
            for gx in range(3):
                tile = Image.open(rng.choice(photos)).convert("RGB").resize((side // 3 + 1, side // 3 + 1))
                background.paste(tile, (gx * side // 3, gy * side // 3))
        background = background.filter(ImageFilter.GaussianBlur(2))
        scale = rng.uniform(0.45, 0.75) * side / max(garment.size)
        garment = garment.resize((max(1, int(garment.width * scale)), max(1, int(garment.height * scale))))
        px, py = rng.randint(0, side - garment.width), rng.randint(0, side - garment.height)
        background.paste(garment, (px, py))
        name = f"q{i:04d}.jpg"
        background.save(queries / name, quality=90)
        boxes[name] = (px, py, px + garment.width, py + garment.height)
        pairs.append((name, f"{p.parent.name}-{p.name}"))
    pairs_path = SELF_TEST_DIR / "pairs.csv"
    with pairs_path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["query", "catalog"])
        writer.writerows(pairs)
    return catalog, queries, pairs_path, boxes, categories


def run(
    *,
    catalog: Path,
    queries_dir: Path,
    pairs_path: Path,
    embedder: str,
    segment_queries: bool,
    segment_catalog: bool,
    garment: str | None,
    colour_options=(False, True),
    boxes=None,
    categories=None,
    compression: list | None = None,
    in_vector_weights: list[float] = (),
) -> list[tuple[str, Scores]]:
    from django.conf import settings

    settings.RECOMMENDER_SEGMENT_CATALOGUE = segment_catalog
    pairs = pairs_read(pairs_path, queries=queries_dir, catalog=catalog)
    ids = catalogue_index(catalog, model=embedder, categories=categories)
    targets = [ids[c] for _, c in pairs]
    paths = [queries_dir / q for q, _ in pairs]
    variants = [("whole photo", None)]
    if boxes:
        variants.append(("garment box", boxes))
    results = []
    by_variant = {}
    for label, variant_boxes in variants:
        vectors = query_vectors(
            paths, model=embedder, segment=segment_queries, garment=garment, boxes=variant_boxes
        )
        by_variant[label] = vectors
        for colour in colour_options:
            name = f"{label}, {'with' if colour else 'no'} colour term"
            results.append((name, evaluate(vectors, targets, colour=colour)))
            logger.info("%s %s: %s", embedder, name, [round(x, 3) for x in results[-1][1].row()])
        for weight in in_vector_weights:
            name = f"{label}, colour term in the vector ({weight:g})"
            results.append(
                (name, in_vector_scores(vectors, ids, targets, model_key=vectors[0][1], weight=weight))
            )
            logger.info("%s %s: %s", embedder, name, [round(x, 3) for x in results[-1][1].row()])
    if compression is not None:
        compression.extend(compression_table(ids, by_variant, targets, by_variant[variants[0][0]][0][1]))
    return results


def boxes_read(path: Path) -> dict[str, tuple[int, int, int, int]]:
    """The shopper's boxes of a CSV with the header ``query,x0,y0,x1,y1``: file name -> box."""
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        wanted = {"query", "x0", "y0", "x1", "y1"}
        if not reader.fieldnames or wanted - set(reader.fieldnames):
            raise SystemExit(
                f"{path} must start with the header line 'query,x0,y0,x1,y1' (it has {reader.fieldnames}). "
                "Add the header and run again."
            )
        boxes = {}
        for line, row in enumerate(reader, start=2):
            if not row.get("query"):
                continue
            try:
                boxes[row["query"].strip()] = tuple(
                    int(round(float(row[k]))) for k in ("x0", "y0", "x1", "y1")
                )
            except (TypeError, ValueError):
                raise SystemExit(
                    f"{path} line {line}: x0, y0, x1, y1 must be numbers (pixels). "
                    "Fix the line and run again."
                ) from None
    return boxes


def photo_as_stored(data: bytes) -> tuple[Image.Image, float]:
    """A query photo as the Find-similar page keeps it: decoded with the upload limits
    (upload_decode: upright, reduced to FIND_SIMILAR_IMAGE_MAX_SIDE) and re-read from the
    stored JPEG copy, which is what garment detection and the region worker open. Returns
    (image, scale from the upright file's pixels to the stored photo's)."""
    from find_similar.uploads import _store_copy, upload_decode

    with Image.open(io.BytesIO(data)) as raw:
        width = raw.width
        if raw.getexif().get(0x0112) in (5, 6, 7, 8):  # EXIF orientations that turn the photo
            width = raw.height
    content, _ = _store_copy(upload_decode(data).image)
    with Image.open(io.BytesIO(content.read())) as stored:
        image = stored.convert("RGB")
    return image, image.width / width


def region_mask(
    image: Image.Image,
    *,
    region: str,
    box: tuple[int, int, int, int] | None = None,
    truth: np.ndarray | None = None,
    timings: list | None = None,
) -> np.ndarray | None:
    """The mask the page searches for ``region`` on a stored photo (None: the whole photo).

    auto: garments_detect + region_default_mask (the page's default choice); box: the
    page's normalisation (clip, snap to the grid) and box_refine; whole: no mask; mask: the
    true garment mask."""
    from types import SimpleNamespace

    from find_similar.detection import garments_detect, region_default_mask
    from find_similar.refine import box_refine
    from find_similar.uploads import Choice, upload_choice_normalize

    if region == "auto":
        started, cpu = time.perf_counter(), time.process_time()
        detected = garments_detect(image=image)
        if timings is not None:
            timings.append(
                (time.perf_counter() - started, detected.segmenter_unavailable, time.process_time() - cpu)
            )
        return region_default_mask(image=image, garments=detected.garments)
    if region == "box":
        upload = SimpleNamespace(width=image.width, height=image.height, garments=[])
        choice = upload_choice_normalize(upload=upload, choice=Choice(box=box))
        return None if choice.box is None else box_refine(image, choice.box)
    if region == "mask":
        return truth
    return None


def region_vectors(
    paths: list[Path],
    *,
    region: str,
    model: str,
    boxes: dict | None = None,
    masks: Path | None = None,
    timings: list | None = None,
    cut: dict | None = None,
):
    """(vector, model key, colour histogram, categories) per query for one --region, through
    the page's own code: the stored copy, the region's mask, query_embed and query_colour.
    ``cut`` keeps (image, mask) per (region, query) so that several embedders share one cut."""
    from recommender.services import query_colour, query_embed

    out = []
    for path in tqdm(paths, desc=f"region {region} ({model})", leave=False):
        if cut is not None and (region, path.name) in cut:
            image, mask = cut[(region, path.name)]
            vector, key = query_embed(image=image, mask=mask, model=model)
            out.append((vector, key, query_colour(image=image, mask=mask), None))
            continue
        image, scale = photo_as_stored(path.read_bytes())
        box = truth = None
        if region == "box":
            box = tuple(round(v * scale) for v in boxes[path.name])
        elif region == "mask":
            with Image.open(masks / f"{path.stem}.png") as m:
                truth = np.asarray(m.convert("L").resize(image.size, Image.Resampling.NEAREST)) > 127
        mask = region_mask(image, region=region, box=box, truth=truth, timings=timings)
        if cut is not None:
            cut[(region, path.name)] = (image, mask)
        vector, key = query_embed(image=image, mask=mask, model=model)
        out.append((vector, key, query_colour(image=image, mask=mask), None))
    return out


@dataclass
class RegionResult:
    region: str
    colour_weight: float  # 0: colour term off
    scores: Scores
    colour_mode: str = "rerank"  # "rerank": re-rank of the nearest; "vector": inside the vector
    embedder: str = ""

    def as_json(self, *, embedder: str) -> dict:
        return {
            "region": self.region,
            "colour": self.colour_weight > 0,
            "colour_weight": self.colour_weight,
            "colour_mode": self.colour_mode if self.colour_weight > 0 else "off",
            "embedder": self.embedder or embedder,
            "queries": len(self.scores.ranks),
            **{f"recall@{k}": round(self.scores.recall(k), 4) for k in KS},
            "mrr": round(self.scores.mrr, 4),
        }


def run_regions(
    *,
    catalog: Path,
    queries_dir: Path,
    pairs_path: Path,
    embedder: str,
    regions: list[str],
    colour_weights: list[float],
    boxes: dict | None = None,
    masks: Path | None = None,
    categories: dict | None = None,
    timings: list | None = None,
    in_vector_weights: list[float] = (),
    cut: dict | None = None,
    label: str = "",
) -> list[RegionResult]:
    """Recall per (region, colour weight) on the same catalogue and queries."""
    from django.conf import settings

    pairs = pairs_read(pairs_path, queries=queries_dir, catalog=catalog)
    if "box" in regions:
        missing = [q for q, _ in pairs if q not in (boxes or {})]
        if missing:
            raise SystemExit(
                f"--region box needs a box for every query; {len(missing)} have none in --boxes, e.g."
                f" {missing[:3]}. Add their lines 'query,x0,y0,x1,y1' and run again."
            )
    if "mask" in regions and masks is None:
        raise SystemExit("--region mask needs the true garment masks: use it with --people.")
    settings.RECOMMENDER_SEGMENT_CATALOGUE = False
    ids = catalogue_index(catalog, model=embedder, categories=categories)
    targets = [ids[c] for _, c in pairs]
    paths = [queries_dir / q for q, _ in pairs]
    results = []
    default_weight = settings.RECOMMENDER_COLOUR_WEIGHT
    try:
        for region in regions:
            vectors = region_vectors(
                paths,
                region=region,
                model=embedder,
                boxes=boxes,
                masks=masks,
                timings=timings if region == "auto" else None,
                cut=cut,
            )
            for weight in colour_weights:
                settings.RECOMMENDER_COLOUR_WEIGHT = weight
                scores = evaluate(vectors, targets, colour=weight > 0)
                results.append(RegionResult(region, weight, scores, embedder=label))
                logger.info(
                    "%s %s colour %s: %s", embedder, region, weight, [round(x, 3) for x in scores.row()]
                )
            for weight in in_vector_weights:
                scores = in_vector_scores(vectors, ids, targets, model_key=vectors[0][1], weight=weight)
                results.append(RegionResult(region, weight, scores, colour_mode="vector", embedder=label))
                logger.info(
                    "%s %s colour in vector %s: %s",
                    embedder,
                    region,
                    weight,
                    [round(x, 3) for x in scores.row()],
                )
    finally:
        settings.RECOMMENDER_COLOUR_WEIGHT = default_weight
    return results


def people_build(
    *, n: int, seed: int = 0, catalogue_limit: int | None = None, folder: Path | None = None, size=(683, 1024)
):
    """Write N painted people (bench/people.py) as queries: the catalogue is every CC0 photo
    (or the targets plus a random sample, ``catalogue_limit`` in all); each query's target
    its top's photo, its box the top's bounding box with a shopper's slack (3-10% of the box
    per side), its mask the top's visible pixels. Returns (catalog dir, queries dir, pairs
    csv, boxes, masks dir, categories)."""
    from bench.people import BOTTOM_FOLDERS, TOP_FOLDERS, person_scene

    folder = folder or PEOPLE_DIR  # read at call time: tests point PEOPLE_DIR at a temporary folder

    rng = random.Random(seed)
    photos = cc0_photos()
    by_folder: dict[str, list[Path]] = {}
    for p in photos:
        by_folder.setdefault(p.parent.name, []).append(p)
    tops = [p for f in TOP_FOLDERS for p in by_folder.get(f, [])]
    bottoms = [p for f in BOTTOM_FOLDERS for p in by_folder.get(f, [])]
    if not tops or not bottoms:
        raise SystemExit(f"--people needs CC0 photos of tops and bottoms in {sorted(by_folder)}.")
    catalog, queries, masks = folder / "catalog", folder / "queries", folder / "masks"
    shutil.rmtree(folder, ignore_errors=True)
    for d in (catalog, queries, masks):
        d.mkdir(parents=True)
    chosen = [rng.choice(tops) for _ in range(n)]
    gallery = photos
    if catalogue_limit and catalogue_limit < len(photos):
        others = [p for p in photos if p not in set(chosen)]
        extra = max(0, catalogue_limit - len(set(chosen)))
        gallery = sorted(set(chosen) | set(rng.sample(others, min(extra, len(others)))))
    categories = {}
    for p in gallery:
        name = f"{p.parent.name}-{p.name}"
        shutil.copyfile(p, catalog / name)
        categories[name] = CC0_CATEGORY.get(p.parent.name, "")
    pairs, boxes = [], {}
    for i, top in enumerate(tqdm(chosen, desc="paint people", leave=False)):
        scene = person_scene(
            top=top,
            bottoms=rng.choice(bottoms),
            shoes=rng.choice(by_folder["shoes"]) if by_folder.get("shoes") else None,
            backgrounds=photos,
            seed=seed * 100_003 + i,
            size=size,
        )
        name = f"p{i:04d}.jpg"
        scene.image.save(queries / name, quality=95)
        mask = scene.masks["top"]
        Image.fromarray(mask.astype(np.uint8) * 255).save(masks / f"p{i:04d}.png")
        ys, xs = np.nonzero(mask)
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        sx, sy = (x1 - x0) * rng.uniform(0.03, 0.1), (y1 - y0) * rng.uniform(0.03, 0.1)
        boxes[name] = (int(x0 - sx), int(y0 - sy), int(x1 + sx), int(y1 + sy))
        pairs.append((name, f"{top.parent.name}-{top.name}"))
    pairs_path = folder / "pairs.csv"
    with pairs_path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["query", "catalog"])
        writer.writerows(pairs)
    with (folder / "boxes.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["query", "x0", "y0", "x1", "y1"])
        writer.writerows([name, *box] for name, box in boxes.items())
    return catalog, queries, pairs_path, boxes, masks, categories


def regions_body(results: list[RegionResult], *, label: str, timings: list, intro: str) -> str:
    from django.conf import settings

    rows = [
        [
            r.embedder or label,
            REGION_LABELS[r.region],
            "off"
            if not r.colour_weight
            else (
                f"on ({r.colour_weight:g})"
                if r.colour_mode == "rerank"
                else f"in the vector ({r.colour_weight:g})"
            ),
            *r.scores.row(),
        ]
        for r in results
    ]
    body = (
        intro
        + "\n\n"
        + markdown_table(
            ["embedder", "query region", "colour term", *(f"recall@{k}" for k in KS), "MRR"], rows
        )
    )
    if timings:
        ms = np.array([t[0] for t in timings]) * 1000
        cpu_ms = np.array([t[2] for t in timings]) * 1000
        weights = "absent" if all(t[1] for t in timings) else "installed"
        # CPU time (this process, all its threads) is what the target counts; the
        # elapsed time also holds the waits of a machine shared with other work.
        body += (
            f"\n\nRegion detection (`find_similar.detection.garments_detect`, segmenter weights "
            f"{weights}), per stored photo of at most {settings.FIND_SIMILAR_IMAGE_MAX_SIDE} px, over"
            f" {len(ms)} photos (the first includes loading the detectors): CPU time median"
            f" {np.median(cpu_ms):.0f} ms, 90th percentile {np.percentile(cpu_ms, 90):.0f} ms; elapsed"
            f" median {np.median(ms):.0f} ms, 90th percentile {np.percentile(ms, 90):.0f} ms."
        )
    return body


def embed_cpu_table(labels: list[tuple[str, str]], images: list[Image.Image], n: int = 16) -> str:
    """CPU milliseconds per image for each embedder on the same query photos: one at a time
    (the Find-similar page) and as one batch of ``n`` (indexing); process CPU time, so a
    shared machine's waits are left out. The first call (model load) is not counted."""
    from recommender.embedders import get_embedder

    sample = images[:n]
    rows = []
    for name, label in labels:
        embedder = get_embedder(name)
        embedder.embed(sample)  # load and warm up (the first calls allocate)
        singles = []
        for image in sample:
            cpu = time.process_time()
            embedder.embed([image])
            singles.append(time.process_time() - cpu)
        cpu = time.process_time()
        embedder.embed(sample)
        batch = (time.process_time() - cpu) / len(sample)
        rows.append([label, len(sample), float(np.median(singles)) * 1000, batch * 1000])
    return "CPU time per image (process time, all threads; the same query photos):\n\n" + markdown_table(
        ["embedder", "images", "CPU ms, one at a time (median)", f"CPU ms, batch of {len(sample)}"], rows
    )


def embedder_prepare(name: str) -> str:
    """Point the settings at weights this machine has; returns the label for the table."""
    from django.conf import settings

    if name == "resnet50":
        from bench.indexing import MODELS_DIR, random_resnet50

        settings.RECOMMENDER_RESNET50_WEIGHTS = str(random_resnet50(MODELS_DIR / "resnet50-random.pt"))
        return "resnet50 (RANDOM weights: sanity line only)"
    return name


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--catalog", type=Path)
    parser.add_argument("--queries", type=Path)
    parser.add_argument("--pairs", type=Path)
    parser.add_argument(
        "--embedder", nargs="+", default=None, help="registry names (default: RECOMMENDER_EMBEDDER)"
    )
    parser.add_argument(
        "--colour-in-vector",
        action="store_true",
        help="also rank with the colour term inside the vector, at each colour weight",
    )
    parser.add_argument("--segment-queries", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument("--segment-catalog", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument("--garment", default=None, help="garment kind to search for (e.g. top)")
    parser.add_argument("--self-test", action="store_true", help="build pairs from the CC0 photos")
    parser.add_argument("--self-test-embedders", nargs="+", default=["efficientnet-lite0", "resnet50"])
    parser.add_argument("--self-test-queries", type=int, default=150)
    parser.add_argument("--self-test-catalogue", type=int, default=None, help="catalogue size (default all)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument(
        "--section",
        default=None,
        help="docs/benchmarks.md section to write (default retrieval, retrieval-people or retrieval-regions)",
    )
    parser.add_argument(
        "--region", nargs="+", choices=REGIONS, default=None, help="query regions as the page cuts them"
    )
    parser.add_argument("--boxes", type=Path, help="CSV 'query,x0,y0,x1,y1': the shopper's boxes")
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per variant instead of the table"
    )
    parser.add_argument("--people", type=int, default=0, metavar="N", help="N painted people as the queries")
    parser.add_argument("--people-seed", type=int, default=0)
    parser.add_argument(
        "--people-catalogue", type=int, default=None, help="catalogue size with --people (default all)"
    )
    parser.add_argument(
        "--colour-weights",
        nargs="+",
        type=float,
        default=None,
        help="colour re-rank weights to measure besides 0 (default RECOMMENDER_COLOUR_WEIGHT)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not (args.self_test or args.people) and not (args.catalog and args.queries and args.pairs):
        parser.error("give --catalog, --queries and --pairs, or --self-test, or --people N")
    if args.boxes and not args.boxes.is_file():
        parser.error(f"--boxes {args.boxes}: no such file")
    if args.region and "box" in args.region and not (args.boxes or args.self_test or args.people):
        parser.error("--region box needs --boxes FILE.csv (header query,x0,y0,x1,y1)")
    if args.region and "mask" in args.region and not args.people:
        parser.error("--region mask needs the true garment masks, which only --people has")

    from bench.common import scratch_database_setup

    # Its own scratch database per kind of run, so that a --people run and a self-test can run at once.
    scratch_database_setup("bench_retrieval_people" if args.people else "bench_retrieval")
    from django.conf import settings

    settings.RECOMMENDER_DEVICE = "cpu"
    settings.RECOMMENDER_DEMO_FALLBACK = False
    settings.MEDIA_ROOT = ROOT / "var" / "bench" / "media-retrieval"
    if args.region or args.people:
        regions_main(args)
        return
    headers = ["embedder", "query", *(f"recall@{k}" for k in KS), "MRR"]
    rows = []
    if args.self_test:
        catalog, queries_dir, pairs_path, boxes, categories = self_test_build(
            n_queries=args.self_test_queries, catalogue_limit=args.self_test_catalogue
        )
        compression: list = []
        for name in args.embedder or args.self_test_embedders:
            label = embedder_prepare(name)
            for variant, scores in run(
                in_vector_weights=[settings.RECOMMENDER_COLOUR_WEIGHT] if args.colour_in_vector else [],
                compression=compression if name == (args.embedder or args.self_test_embedders)[0] else None,
                catalog=catalog,
                queries_dir=queries_dir,
                pairs_path=pairs_path,
                embedder=name,
                segment_queries=False,
                segment_catalog=False,
                garment=None,
                boxes=boxes,
                categories=categories,
            ):
                rows.append([label, variant, *scores.row()])
        n_catalogue = len(list(catalog.iterdir()))
        intro = (
            f"Self-test: catalogue = {n_catalogue} clean CC0 photos; {len(boxes)} queries = one of them"
            " cropped (75–95% per side), rotated (±15°), scaled and colour-jittered, pasted on a blurred"
            " collage of other photos. *whole photo* embeds the query as uploaded; *garment box* crops to"
            " the pasted garment (what the shopper's drag box or a good segmenter gives). Colour term:"
            f" `RECOMMENDER_COLOUR_WEIGHT`={settings.RECOMMENDER_COLOUR_WEIGHT} over the nearest"
            f" {settings.RECOMMENDER_COLOUR_RERANK_POOL}. Query segmentation is off: no clothes-segmentation"
            " weights install offline, and a random-weight segmenter's masks are noise. ResNet50 runs with"
            " random weights (the ImageNet weights cannot be downloaded here): a sanity line, not a result."
        )
    else:
        for name in args.embedder or [settings.RECOMMENDER_EMBEDDER]:
            label = embedder_prepare(name)
            for variant, scores in run(
                catalog=args.catalog,
                queries_dir=args.queries,
                pairs_path=args.pairs,
                embedder=name,
                segment_queries=args.segment_queries,
                segment_catalog=args.segment_catalog,
                garment=args.garment,
            ):
                rows.append([label, variant, *scores.row()])
        intro = f"Catalogue {args.catalog}, queries {args.queries}, pairs {args.pairs}."
    body = intro + "\n\n" + markdown_table(headers, rows)
    if args.self_test and compression:
        body += (
            f"\n\n**Fewer bytes per vector** ({(args.embedder or args.self_test_embedders)[0]}; the same"
            " queries, exact search in numpy over the production catalogue vectors;"
            " PCA fitted on the catalogue; payload = the"
            " vector's bytes in the index before HNSW's graph overhead, which measured ~300–350 B per"
            " vector at m=16 — see the index section):\n\n"
            + markdown_table(
                ["query", "storage", "payload B", *(f"recall@{k}" for k in KS), "MRR"], compression
            )
        )
    print(body)
    if not args.no_write:
        from bench.report import section_write

        section_write(args.section or "retrieval", body, packages=("torchvision", "transformers"))


def regions_main(args) -> None:
    """--region / --people: the Find-similar page's regions, with and without colour."""
    from django.conf import settings

    masks = categories = None
    boxes = boxes_read(args.boxes) if args.boxes else None
    if args.people:
        catalog, queries_dir, pairs_path, built_boxes, masks, categories = people_build(
            n=args.people, seed=args.people_seed, catalogue_limit=args.people_catalogue
        )
        regions = args.region or list(REGIONS)
        intro = (
            f"Painted people (bench/people.py): {args.people} queries, seed {args.people_seed}, each a"
            " 683×1024 photo of a painted person (face, hair, skin, studio or blurred-street"
            " background) wearing a top, bottoms and shoes cut out of the CC0 photos; target = the"
            f" top's catalogue photo; catalogue = {len(categories)} CC0 photos (the targets and others)."
            " *shopper's box* ="
            " the top's bounding box plus 3–10% slack per side; *true garment mask* = the top's"
            " visible pixels. No category filter (every region against the same gallery)."
        )
    elif args.self_test:
        catalog, queries_dir, pairs_path, built_boxes, categories = self_test_build(
            n_queries=args.self_test_queries, catalogue_limit=args.self_test_catalogue
        )
        regions = args.region
        intro = f"Self-test queries ({len(built_boxes)}, see the retrieval section) by query region."
    else:
        catalog, queries_dir, pairs_path, built_boxes = args.catalog, args.queries, args.pairs, None
        regions = args.region or ["auto", "whole"]
        intro = f"Catalogue {args.catalog}, queries {args.queries}, pairs {args.pairs}, boxes {args.boxes}."
    boxes = boxes or built_boxes
    names = args.embedder or [settings.RECOMMENDER_EMBEDDER]
    weights = [0.0, *(args.colour_weights or [settings.RECOMMENDER_COLOUR_WEIGHT])]
    timings: list = []
    cut: dict = {}  # each region is cut once per query; every embedder embeds the same cut
    results: list[RegionResult] = []
    labels = []
    for name in names:
        label = embedder_prepare(name)
        labels.append((name, label))
        results += run_regions(
            catalog=catalog,
            queries_dir=queries_dir,
            pairs_path=pairs_path,
            embedder=name,
            regions=regions,
            colour_weights=list(dict.fromkeys(weights)),
            boxes=boxes,
            masks=masks,
            categories=categories,
            timings=timings if name == names[0] else None,
            in_vector_weights=[w for w in weights if w > 0] if args.colour_in_vector else [],
            cut=cut,
            label=label,
        )
    if args.json:
        for result in results:
            print(json.dumps(result.as_json(embedder=result.embedder)))
        return
    body = regions_body(results, label=labels[0][1], timings=timings, intro=intro)
    if len(names) > 1:
        body += "\n\n" + embed_cpu_table(labels, [image for image, _ in cut.values()])
    print(body)
    if not args.no_write:
        from bench.report import section_write

        section = args.section or ("retrieval-people" if args.people else "retrieval-regions")
        section_write(section, body, packages=("torchvision", "opencv-python-headless"))


if __name__ == "__main__":
    main()
