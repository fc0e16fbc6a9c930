"""Bulk indexing benchmark: images/s and peak memory per model, batch size and threads.

    nice -n 19 python -m bench.indexing

Each configuration runs in a fresh subprocess (so its peak resident memory is its own)
that loads the model through the production code, puts real CC0 photos on white
(recommender.preprocess.garment_on_white, as indexing does), and times
``Embedder.embed`` per batch after one warm-up batch.

Models: efficientnet-lite0 with its real ImageNet weights; ResNet50 with *random* weights
saved to a local file and loaded through RECOMMENDER_RESNET50_WEIGHTS (the real weights
cannot be downloaded here; speed and memory do not depend on the weight values); and a
SegFormer-B2-sized segmenter (hidden sizes 64/128/320/512, depths 3/4/6/3, 18 ATR labels)
with random weights saved with ``save_pretrained`` and loaded through
``recommender.segmentation.segmenter_load``, timed as the model's forward pass on a batch
at its 512 x 512 input, and as ``Segmenter.segment`` (one photo, mask post-processing
included) at batch 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from tqdm import tqdm

from bench.common import ROOT, cc0_photos, markdown_table

logger = logging.getLogger("bench.indexing")

MODELS_DIR = ROOT / "var" / "bench" / "models"


def random_resnet50(path: Path) -> Path:
    """A ResNet50 state dict with random weights (same architecture, same cost)."""
    if not path.exists():
        import torch
        from torchvision.models import resnet50

        path.parent.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(0)
        torch.save(resnet50(weights=None).state_dict(), path)
    return path


def random_segformer_b2(path: Path, *, tiny: bool = False) -> Path:
    """A SegFormer with B2's shape (or a tiny one for smoke tests), random weights, ATR labels,
    saved with save_pretrained next to its image processor."""
    if not (path / "config.json").exists():
        from transformers import SegformerConfig, SegformerForSemanticSegmentation, SegformerImageProcessor

        shape = (
            {"hidden_sizes": [8, 16, 24, 32], "depths": [1, 1, 1, 1], "decoder_hidden_size": 32}
            if tiny
            else {"hidden_sizes": [64, 128, 320, 512], "depths": [3, 4, 6, 3], "decoder_hidden_size": 768}
        )
        from recommender.labels import ATR_LABELS

        config = SegformerConfig(
            **shape,
            num_labels=len(ATR_LABELS),
            id2label=dict(ATR_LABELS),
            label2id={name: i for i, name in ATR_LABELS.items()},
        )
        SegformerForSemanticSegmentation(config).save_pretrained(path)
        SegformerImageProcessor(size={"height": 512, "width": 512}).save_pretrained(path)
    return path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def worker(spec: dict) -> dict:
    """Run one configuration in this process; called in a subprocess by ``main``."""
    import torch

    torch.set_num_threads(spec["threads"])
    from bench.common import scratch_database_setup

    scratch_database_setup(migrate=False)
    from PIL import Image

    from recommender.preprocess import garment_on_white

    photos = [Image.open(p).convert("RGB") for p in cc0_photos(spec["images"])]
    batch = spec["batch"]
    rss_before = peak_rss_mb()
    start = time.perf_counter()
    if spec["model"] == "segmenter":
        from recommender.segmentation import segmenter_load

        seg = segmenter_load(spec["segmenter_dir"])
        load_s = time.perf_counter() - start
        if spec["mode"] == "segment":

            def run(items):
                for image in items:
                    seg.segment(image)
        else:

            def run(items):
                inputs = seg.processor(images=items, return_tensors="pt")
                with torch.inference_mode():
                    seg.model(**inputs)
    else:
        from recommender.embedders import get_embedder

        emb = get_embedder(spec["model"])
        load_s = time.perf_counter() - start
        photos = [garment_on_white(p) for p in photos]

        def run(items):
            emb.embed(items)

    batches = [photos[i : i + batch] for i in range(0, len(photos), batch)]
    run(batches[0])  # warm-up: first-call allocations and kernel selection
    timed = batches[1:] or batches
    start, cpu_start = time.perf_counter(), time.process_time()
    for items in timed:
        run(items)
    took, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    count = sum(len(b) for b in timed)
    return {
        **spec,
        "load_s": load_s,
        "images_per_s": count / took,
        "ms_per_image": took / count * 1000,
        # CPU time (all threads): on a busy shared machine wall time includes waiting for a core.
        "cpu_ms_per_image": cpu / count * 1000,
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_model_mb": rss_before,
    }


def run_subprocess(spec: dict) -> dict:
    env = {**os.environ, "RECOMMENDER_DEVICE": "cpu"}
    if spec.get("resnet_weights"):
        env["RECOMMENDER_RESNET50_WEIGHTS"] = spec["resnet_weights"]
    out = subprocess.run(
        [sys.executable, "-m", "bench.indexing", "--worker", json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"benchmark worker failed for {spec}:\n{out.stderr[-3000:]}")
    return json.loads(lines[-1])


def configurations(args) -> list[dict]:
    specs = []
    for model in args.embedder:
        weights = str(random_resnet50(MODELS_DIR / "resnet50-random.pt")) if model == "resnet50" else ""
        for threads in args.threads:
            for batch in args.batch:
                specs.append(
                    {
                        "model": model,
                        "mode": "embed",
                        "threads": threads,
                        "batch": batch,
                        "images": max(args.images, 2 * batch),
                        "resnet_weights": weights,
                    }
                )
    if args.segmenter:
        seg_dir = str(
            random_segformer_b2(
                MODELS_DIR / ("segformer-tiny" if args.smoke else "segformer-b2"), tiny=args.smoke
            )
        )
        for threads in args.threads:
            specs.append(
                {
                    "model": "segmenter",
                    "mode": "segment",
                    "threads": threads,
                    "batch": 1,
                    "images": args.seg_images + 1,
                    "segmenter_dir": seg_dir,
                }
            )
            for batch in args.seg_batch:
                specs.append(
                    {
                        "model": "segmenter",
                        "mode": "forward",
                        "threads": threads,
                        "batch": batch,
                        "images": 2 * batch,
                        "segmenter_dir": seg_dir,
                    }
                )
    return specs


def report(results: list[dict]) -> str:
    def label(r):
        if r["model"] == "segmenter":
            what = "SegFormer-B2 shape, random weights"
            return f"{what}: " + ("`segment()` (with masks)" if r["mode"] == "segment" else "forward 512×512")
        if r["model"] == "resnet50":
            return "resnet50 (random weights)"
        return r["model"]

    rows = [
        (
            label(r),
            r["threads"],
            r["batch"],
            r["images_per_s"],
            r["ms_per_image"],
            r["cpu_ms_per_image"],
            r["peak_rss_mb"],
            r["load_s"],
        )
        for r in results
    ]
    return (
        "Real CC0 photos (about 400×534), put on white as indexing does; model loaded through the production"
        " code in a fresh process per row (peak RSS = that process's peak resident memory, Python + torch"
        " included). CPU ms/image counts all threads: the machine is shared (see the load average), so wall"
        " time includes waiting for a core; with one thread, CPU ms/image is the idle-machine latency."
        " Embedders: 224×224 input. The first batch is a warm-up and not timed. ResNet50 and the"
        " segmenter use random weights (no hub access here) — the cost does not depend on weight values.\n\n"
        + markdown_table(
            ["model", "threads", "batch", "images/s", "ms/image", "CPU ms/image", "peak RSS MB", "load s"],
            rows,
        )
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--embedder", nargs="+", default=["efficientnet-lite0", "resnet50"])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--images", type=int, default=64, help="photos per embedder configuration")
    parser.add_argument("--segmenter", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--seg-images", type=int, default=2, help="photos for segment() at batch 1")
    parser.add_argument(
        "--seg-batch",
        type=int,
        nargs="+",
        default=[1, 8],
        help="segmenter forward batch sizes (32 takes ~4 minutes per row on 2 cores)",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny segmenter; for the smoke test")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results = []
    for spec in tqdm(configurations(args), desc="configurations"):
        r = run_subprocess(spec)
        logger.info(
            "%s %s threads=%s batch=%s: %.2f images/s, peak %.0f MB",
            r["model"],
            r["mode"],
            r["threads"],
            r["batch"],
            r["images_per_s"],
            r["peak_rss_mb"],
        )
        results.append(r)
    body = report(results)
    print(body)
    if not args.no_write:
        from bench.report import section_write

        section_write("indexing", body, packages=("torchvision", "transformers"))


if __name__ == "__main__":
    main()
