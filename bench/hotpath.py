"""Hot-path experiments: each candidate speed-up as a before/after ratio, in one run.

    nice -n 19 python -m bench.hotpath

On the production embedders (loaded through recommender.embedders.get_embedder) and real
CC0 photos put on white: autograd on vs ``torch.no_grad`` vs ``torch.inference_mode``,
batch 1 vs 32, 1 vs 2 threads, channels_last memory format, and a cached vs a fresh model
load; on a SegFormer-B2-shaped segmenter (random weights), a 384 px instead of 512 px
input. Variants are timed in alternation (A B A B ...) and the median kept, so a burst of
load from other processes hits both sides alike.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time

import numpy as np

from bench.common import cc0_photos, markdown_table

logger = logging.getLogger("bench.hotpath")


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def alternate(variants: dict, rounds: int) -> dict[str, float]:
    """Median seconds of each variant, run in alternation ``rounds`` times."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            times[name].append(_timed(fn))
    return {name: statistics.median(values) for name, values in times.items()}


def embedder_rows(name: str, photos, *, rounds: int, batch: int) -> list[tuple]:
    import torch

    from recommender.embedders import get_embedder

    start = time.perf_counter()
    emb = get_embedder(name)
    first_load = time.perf_counter() - start
    cached_load = _timed(lambda: get_embedder(name))
    module = emb.module
    tensors = torch.stack([emb._transform(p) for p in photos[:batch]])
    one = tensors[:1]

    def forward(x, *, mode="inference", channels_last=False, model=module):
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if mode == "grad":
            return model(x)
        ctx = torch.inference_mode() if mode == "inference" else torch.no_grad()
        with ctx:
            return model(x)

    module_cl = None
    import copy

    module_cl = copy.deepcopy(module).to(memory_format=torch.channels_last)
    forward(tensors)  # warm-up
    forward(tensors, channels_last=True, model=module_cl)
    per = len(tensors)
    t = alternate(
        {
            "grad": lambda: forward(tensors, mode="grad"),
            "no_grad": lambda: forward(tensors, mode="no_grad"),
            "inference": lambda: forward(tensors),
            "channels_last": lambda: forward(tensors, channels_last=True, model=module_cl),
        },
        rounds,
    )
    t_one = alternate({"batch1": lambda: [forward(one) for _ in range(per)]}, max(1, rounds // 2))["batch1"]
    threads = torch.get_num_threads()
    thread_times = {}
    for n in (1, 2):
        torch.set_num_threads(n)
        thread_times[n] = alternate({"x": lambda: forward(tensors)}, max(1, rounds // 2))["x"]
    torch.set_num_threads(threads)
    preprocess = _timed(lambda: [emb._transform(p) for p in photos[:batch]])
    ips = lambda seconds: per / seconds  # noqa: E731
    label = name if name != "resnet50" else "resnet50 (random weights)"
    return [
        (
            label,
            "autograd on → inference_mode",
            ips(t["grad"]),
            ips(t["inference"]),
            t["grad"] / t["inference"],
        ),
        (
            label,
            "no_grad → inference_mode",
            ips(t["no_grad"]),
            ips(t["inference"]),
            t["no_grad"] / t["inference"],
        ),
        (
            label,
            "contiguous → channels_last",
            ips(t["inference"]),
            ips(t["channels_last"]),
            t["inference"] / t["channels_last"],
        ),
        (label, f"batch 1 → batch {per}", ips(t_one), ips(t["inference"]), t_one / t["inference"]),
        (
            label,
            "1 thread → 2 threads",
            ips(thread_times[1]),
            ips(thread_times[2]),
            thread_times[1] / thread_times[2],
        ),
        (
            label,
            "model load: fresh → cached (ms, not images/s)",
            first_load * 1000,
            cached_load * 1000,
            first_load / max(cached_load, 1e-6),
        ),
        (
            label,
            f"preprocess (resize+normalise) vs model, batch {per} (images/s)",
            ips(preprocess),
            ips(t["inference"]),
            float("nan"),
        ),
    ]


def segmenter_rows(seg_dir: str, photos, *, rounds: int) -> list[tuple]:
    import torch

    from recommender.segmentation import segmenter_load

    seg = segmenter_load(seg_dir)
    image = photos[0]
    sizes = {}
    for side in (512, 384):
        inputs = seg.processor(images=[image], size={"height": side, "width": side}, return_tensors="pt")
        sizes[side] = inputs

    def run(side):
        with torch.inference_mode():
            return seg.model(**sizes[side]).logits

    run(512)
    t = alternate({"512": lambda: run(512), "384": lambda: run(384)}, rounds)
    # Agreement of the two label maps (only meaningful with real weights: reported, flagged).
    a = run(512).argmax(1)[0].numpy()
    b = torch.nn.functional.interpolate(run(384), size=a.shape, mode="bilinear").argmax(1)[0].numpy()
    agreement = float(np.mean(a == b))
    return [
        (
            "SegFormer-B2 shape (random weights)",
            f"input 512 → 384 px (label agreement {agreement:.2f}, random weights: not a quality measure)",
            1 / t["512"],
            1 / t["384"],
            t["512"] / t["384"],
        )
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--embedder", nargs="+", default=["efficientnet-lite0", "resnet50"])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--segmenter", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--smoke", action="store_true", help="tiny segmenter; for the smoke test")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from bench.common import scratch_database_setup

    scratch_database_setup(migrate=False)
    from django.conf import settings
    from PIL import Image

    from bench.indexing import MODELS_DIR, random_resnet50, random_segformer_b2
    from recommender.preprocess import garment_on_white

    settings.RECOMMENDER_DEVICE = "cpu"
    if "resnet50" in args.embedder:
        settings.RECOMMENDER_RESNET50_WEIGHTS = str(random_resnet50(MODELS_DIR / "resnet50-random.pt"))
    photos = [garment_on_white(Image.open(p).convert("RGB")) for p in cc0_photos(args.batch)]
    rows = []
    for name in args.embedder:
        rows += embedder_rows(name, photos, rounds=args.rounds, batch=args.batch)
    if args.segmenter:
        seg_dir = random_segformer_b2(
            MODELS_DIR / ("segformer-tiny" if args.smoke else "segformer-b2"), tiny=args.smoke
        )
        rows += segmenter_rows(str(seg_dir), [Image.open(p).convert("RGB") for p in cc0_photos(1)], rounds=2)
    body = (
        __doc__.split("\n\n", 2)[2].strip()
        + "\n\n"
        + markdown_table(["model", "change", "before (images/s)", "after (images/s)", "speed-up ×"], rows)
    )
    print(body)
    if not args.no_write:
        from bench.report import section_write

        section_write("hotpath", body, packages=("torchvision", "transformers"))


if __name__ == "__main__":
    main()
