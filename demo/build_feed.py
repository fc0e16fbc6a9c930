"""Build the demo catalogue shipped in demo/catalogue/: a CC0 photo subset and its feed.

    .venv/bin/python demo/build_feed.py [--photos ../shared/data/clothing-cc0]

With --photos it (re)selects about 30 photos per class from the CC0 clothing dataset,
re-encodes them small enough that the whole folder stays under 10 MB, and copies the
licence. Without it, it regenerates feed.csv from the photos already in the repository.
Brands, titles, prices and stock are generated from a fixed seed, so the same photos
always give the same feed (the pages say these are demo data).
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
from pathlib import Path

from PIL import Image, ImageOps

HERE = Path(__file__).resolve().parent
CATALOGUE = HERE / "catalogue"
IMAGES = CATALOGUE / "images"
PER_CLASS = 30
# Longest side in pixels and JPEG quality: the dataset's photos are ~400x534; this keeps
# ~300 photos under 10 MB while a product page still shows them sharply.
MAX_SIDE = 480
QUALITY = 78
SEED = 20261127

# Dataset class -> (shop Category slug, title nouns, KRW price range).
CLASSES: dict[str, tuple[str, list[str], tuple[int, int]]] = {
    "longsleeve": ("top", ["long-sleeve tee", "long-sleeve top", "jersey top"], (19_000, 59_000)),
    "shirt": ("top", ["shirt", "button-down shirt", "oxford shirt"], (29_000, 89_000)),
    "t-shirt": ("top", ["T-shirt", "crew-neck tee", "graphic tee"], (12_900, 39_000)),
    "outwear": ("outer", ["jacket", "coat", "parka", "windbreaker"], (59_000, 259_000)),
    "pants": ("pants", ["trousers", "chinos", "jeans", "slacks"], (29_000, 119_000)),
    "shorts": ("shorts", ["shorts", "denim shorts", "bermuda shorts"], (15_900, 49_000)),
    "skirt": ("skirt", ["skirt", "pleated skirt", "midi skirt"], (25_000, 89_000)),
    "dress": ("dress", ["dress", "shirt dress", "wrap dress"], (39_000, 169_000)),
    "shoes": ("shoes", ["sneakers", "loafers", "trainers", "boots"], (39_000, 199_000)),
    "hat": ("hat", ["cap", "bucket hat", "beanie"], (9_900, 45_000)),
}
ADJECTIVES = ["Classic", "Relaxed", "Everyday", "Essential", "Washed", "Soft", "Slim", "Oversized", "Light"]
# Invented brand names: the demo must not suggest real shops sell these photos.
BRANDS = [
    "Hanul Studio",
    "Morning Thread",
    "Northpine",
    "Gray Harbor",
    "Daon Works",
    "Mellow Field",
    "Urban Loom",
    "Sora & Co.",
    "Plain Ground",
    "Blue Maru",
]
SOLD_OUT_SHARE = 0.06
COLUMNS = [
    "external_id",
    "title",
    "brand",
    "category",
    "price",
    "currency",
    "product_url",
    "image",
    "in_stock",
]


def photos_select(source: Path) -> None:
    """Copy PER_CLASS photos per class (sorted names, so the choice is stable), re-encoded."""
    if IMAGES.exists():
        shutil.rmtree(IMAGES)
    for cls in CLASSES:
        files = sorted(p for split in ("test", "validation") for p in (source / split / cls).glob("*.jpg"))
        files = sorted(files, key=lambda p: p.name)[:PER_CLASS]
        out_dir = IMAGES / cls
        out_dir.mkdir(parents=True)
        for path in files:
            with Image.open(path) as img:
                img = ImageOps.exif_transpose(img).convert("RGB")
                img.thumbnail((MAX_SIDE, MAX_SIDE))
                img.save(out_dir / path.name, "JPEG", quality=QUALITY, optimize=True, progressive=True)
    shutil.copy(source / "LICENSE", CATALOGUE / "LICENSE")


def feed_rows() -> list[dict[str, str]]:
    rng = random.Random(SEED)
    rows = []
    for cls, (category, nouns, (low, high)) in CLASSES.items():
        for path in sorted((IMAGES / cls).glob("*.jpg")):
            price = rng.randrange(low, high + 1)
            # Korean shops price in round hundreds, often just under a thousand.
            price = max(low, round(price, -3) - rng.choice([0, 0, 100, 1000]))
            rows.append(
                {
                    "external_id": f"demo-{cls}-{path.stem[:8]}",
                    "title": f"{rng.choice(ADJECTIVES)} {rng.choice(nouns)}",
                    "brand": rng.choice(BRANDS),
                    "category": category,
                    "price": str(price),
                    "currency": "KRW",
                    "product_url": "",
                    "image": path.relative_to(CATALOGUE).as_posix(),
                    "in_stock": "false" if rng.random() < SOLD_OUT_SHARE else "true",
                }
            )
    # Mixed order, so "newest first" on the demo's home page shows every kind of garment.
    random.Random(SEED + 1).shuffle(rows)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--photos", type=Path, help="the clothing-cc0 dataset folder to (re)select photos from"
    )
    args = parser.parse_args()
    if args.photos:
        photos_select(args.photos)
    rows = feed_rows()
    with open(CATALOGUE / "feed.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    size = sum(p.stat().st_size for p in CATALOGUE.rglob("*") if p.is_file())
    print(f"{len(rows)} products, catalogue folder {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
