"""The vision-language model's cost: images/s when indexing a second vector per product, and the
latency of embedding a shopper's description (what a search box would wait for).

    nice -n 19 python -m bench.words

FashionCLIP's weights cannot be fetched here, so the model is a CLIPModel of FashionCLIP's shape
(transformers' CLIPConfig defaults: ViT-B/32 image tower at 224 x 224, a 12-layer 512-wide text
tower with a 77-token window, 512-d projection) with random weights, saved with save_pretrained
and loaded through the production loader (RECOMMENDER_FASHION_CLIP, get_embedder): the cost
does not depend on the weight values. Its tokenizer is a one-token-per-letter stand-in, so a
description's token count is set directly: 8 tokens (a few words of CLIP's byte-pair vocabulary)
and 77 (the window; longer text is cut there). Photos: the CC0 photos put on white as indexing does.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from pathlib import Path

from bench.common import ROOT, cc0_photos, markdown_table

MODELS_DIR = ROOT / "var" / "bench" / "models"


def random_clip(path: Path, *, tiny: bool = False) -> Path:
    """A CLIPModel of FashionCLIP's shape (or a tiny one, for the smoke test), random weights,
    saved with its processor; the tokenizer has one token per letter."""
    if (path / "model.safetensors").exists():
        return path
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = {ch: i for i, ch in enumerate(letters)}
    vocab.update({f"{ch}</w>": len(letters) + i for i, ch in enumerate(letters)})
    vocab["<|startoftext|>"], vocab["<|endoftext|>"] = len(vocab), len(vocab) + 1
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[])
    text = {
        "vocab_size": len(vocab),
        "bos_token_id": vocab["<|startoftext|>"],
        "eos_token_id": vocab["<|endoftext|>"],
        "pad_token_id": vocab["<|endoftext|>"],
    }
    vision = {}
    if tiny:
        small = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
        text.update(small, max_position_embeddings=16)
        vision.update(small, image_size=32, patch_size=8)
    torch.manual_seed(0)
    config = CLIPConfig(text_config=text, vision_config=vision, projection_dim=512)
    path.mkdir(parents=True, exist_ok=True)
    CLIPModel(config).save_pretrained(path)
    side = config.vision_config.image_size
    images = CLIPImageProcessor(size={"shortest_edge": side}, crop_size={"height": side, "width": side})
    CLIPProcessor(image_processor=images, tokenizer=tokenizer).save_pretrained(path)
    return path


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(*, model_dir: Path, images: int, batches: list[int], queries: int, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    os.environ["RECOMMENDER_FASHION_CLIP"] = str(model_dir)
    os.environ["RECOMMENDER_DEVICE"] = "cpu"
    from bench.common import scratch_database_setup

    scratch_database_setup(migrate=False)
    from django.conf import settings
    from PIL import Image

    from recommender.embedders import get_embedder
    from recommender.preprocess import garment_on_white

    settings.RECOMMENDER_FASHION_CLIP = str(model_dir)
    start = time.perf_counter()
    embedder = get_embedder("fashion-clip")
    load_s = time.perf_counter() - start
    photos = [garment_on_white(Image.open(p).convert("RGB")) for p in cc0_photos(images)]
    image_rows = []
    for batch in batches:
        groups = [photos[i : i + batch] for i in range(0, len(photos), batch)]
        embedder.embed(groups[0])  # warm-up
        timed = groups[1:] or groups
        start, cpu = time.perf_counter(), time.process_time()
        for group in timed:
            embedder.embed(group)
        took, cpu = time.perf_counter() - start, time.process_time() - cpu
        count = sum(len(g) for g in timed)
        image_rows.append((batch, count / took, took / count * 1000, cpu / count * 1000))
    text_rows = []
    window = embedder.max_text_tokens
    for tokens in sorted({min(8, window), window}):
        text = "a" * (tokens - 2)  # one token a letter, plus start and end
        assert len(embedder.tokenizer(text)["input_ids"]) == tokens
        embedder.embed_text([text])  # warm-up
        times, cpus = [], []
        for _ in range(queries):
            start, cpu = time.perf_counter(), time.process_time()
            embedder.embed_text([text])
            times.append((time.perf_counter() - start) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        times.sort()
        text_rows.append(
            (tokens, statistics.median(times), times[int(0.95 * (len(times) - 1))], statistics.median(cpus))
        )
    return {
        "load_s": load_s,
        "images": image_rows,
        "texts": text_rows,
        "peak_rss_mb": _peak_rss_mb(),
        "threads": threads,
    }


def report(result: dict, *, tiny: bool) -> str:
    shape = (
        "tiny CLIP (smoke test)"
        if tiny
        else "FashionCLIP's shape (ViT-B/32 + 12-layer text tower), random weights"
    )
    return (
        f"Model: {shape}, loaded through the production loader in {result['load_s']:.1f} s; "
        f"{result['threads']} torch threads; peak RSS {result['peak_rss_mb']:.0f} MB. The machine is shared "
        "(see the load average): CPU ms counts all threads.\n\n"
        "**Indexing: the second vector per product** (photos on white, first batch a warm-up)\n\n"
        + markdown_table(
            ["batch", "images/s", "ms/image", "CPU ms/image"],
            [(b, ips, ms, cpu) for b, ips, ms, cpu in result["images"]],
        )
        + "\n\n**A description** (one query, what a search box waits for before the index lookup)\n\n"
        + markdown_table(["tokens", "median ms", "p95 ms", "median CPU ms"], result["texts"])
    )


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=40, help="photos embedded per batch size")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--queries", type=int, default=30, help="timed descriptions per length")
    # One thread: what a web process embedding a query would use; on a busy machine two OpenMP
    # threads spin waiting for each other and the wall time says more about the load than the model.
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="tiny model; for the smoke test")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    model_dir = random_clip(
        MODELS_DIR / ("clip-tiny" if args.smoke else "fashion-clip-shape"), tiny=args.smoke
    )
    result = measure(
        model_dir=model_dir,
        images=max(args.images, 2 * max(args.batch)),
        batches=args.batch,
        queries=args.queries,
        threads=args.threads,
    )
    body = report(result, tiny=args.smoke)
    print(body)
    if not args.no_write:
        from bench.report import section_write

        section_write("words", body, packages=("transformers",))
    return body


if __name__ == "__main__":
    main()
