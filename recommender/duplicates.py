"""Near-duplicate product images: the same photo sold by another shop or re-listed under
another id, found by SHA-256 (byte-identical files) or a perceptual hash (the same photo
re-encoded, resized or trimmed by a pixel or two).

The threshold was measured on the 290 CC0 demo photos in demo/catalogue/images with
imagehash.phash (64 bits); Hamming distance from each photo to a transformed copy, and
between every pair of different photos (41,905 pairs):

    re-encoded at JPEG quality 60 ............ max 2, mean 0.3
    resized to 50 % (q85) / 30 % (q90) ....... max 2 / max 2
    cropped by 1 % on each side .............. max 8, p99 6, mean 2.3
    cropped by 2 % / 5 % on each side ........ max 12 / max 24 (pHash is not crop-proof)
    different photos ......................... min 8, 0.1th percentile 14, mean 30.5;
                                               0 pairs at <= 6, 2 at <= 8, 6 at <= 10

6 bits catches every re-encode and resize, and most 1 % trims, with no false match among
the demo photos; 8 would already merge two different pairs of pants.

"The same item" (shop pages: "Also sold at", the "Lowest price" badge) needs more than
"looks alike at 8x8": two shirts of one colour and cut on a shop's plain background, one
striped and one with buttons, are 4 bits apart in the 64-bit hash (and 0.0014 apart in
colour), so the hashes above call them one photo. A 256-bit pHash (hash_size=16) sees those
details. Measured the same way (demo photos; painted shirts in tests/shop/test_same_item.py):

    re-encoded at q60 / resized to 50 % ...... max 8 / max 6 (of 256)
    cropped by 1 % on each side .............. max 28, p99 26
    different demo photos .................... min 74, 0.1th percentile 88
    different painted shirts of one colour ... min 32 (tee vs tee with a pocket), 42 for the
                                               striped vs buttoned pair the 64-bit hash merges;
                                               re-encoded or 1 %-trimmed copies at most 20

so a pair matched on the 64-bit hash is the same item only when its fine hashes are within
NEAR_DUPLICATE_MAX_FINE_BITS (30).

A flat image (one colour, a blank placeholder) has no texture for pHash's median split:
its hash is 8000000000000000 (1 bit set) whatever the colour, whereas every demo photo's
hash has exactly 32 bits set. Hashes with fewer than MIN_INFORMATIVE_BITS set are
therefore never matched on pHash (byte-identical files still match on SHA-256). Re-run the numbers
(both hash sizes) with ``python -m recommender.duplicates demo/catalogue/images``.
"""

from __future__ import annotations

import itertools

import imagehash
import numpy as np
from PIL import Image

from recommender.colour import colour_distance

# Hamming distance (bits of 64) at or below which two pHashes are the same photo; see above.
NEAR_DUPLICATE_MAX_BITS = 6
# Set bits below which a pHash says "featureless image" rather than "this photo"; see above.
MIN_INFORMATIVE_BITS = 16
# Bits (of 256) within which the fine hashes of a pHash match must also be; see above.
NEAR_DUPLICATE_MAX_FINE_BITS = 30
# pHash reads luminance only, so the same shot in another colour (a colour variant, a
# different product) often hashes alike: a match must also be close in colour
# (recommender.colour.colour_distance of the garment histograms). The bound sits above what
# re-encoding or resizing a photo changes and below what turning its hue does; no script in the
# repo measures the hue variants yet, so measure before changing it (`python -m
# recommender.duplicates FOLDER` prints the re-encode and crop distances of the hashes).
NEAR_DUPLICATE_MAX_COLOUR_DISTANCE = 0.015


def image_phash(image: Image.Image) -> str:
    """The 64-bit perceptual hash of an image, as 16 hex digits."""
    return str(imagehash.phash(image))


def image_phash_fine(image: Image.Image) -> str:
    """The 256-bit perceptual hash (16x16 DCT) of an image, as 64 hex digits."""
    return str(imagehash.phash(image, hash_size=16))


def phash_distance(a: str, b: str) -> int:
    """Hamming distance between two hashes from image_phash."""
    # The bits that differ, counted on the integers: the same number as imagehash's
    # ImageHash subtraction, without building two boolean arrays per comparison (the product
    # page compares every pair of its candidates).
    return (int(a, 16) ^ int(b, 16)).bit_count()


def phash_informative(phash: str) -> bool:
    """Whether the hash describes a textured image (not a flat colour or blank)."""
    return bool(phash) and bin(int(phash, 16)).count("1") >= MIN_INFORMATIVE_BITS


def is_near_duplicate(
    *,
    sha256_a: str,
    phash_a: str,
    sha256_b: str,
    phash_b: str,
    colour_a=None,
    colour_b=None,
    max_bits: int = NEAR_DUPLICATE_MAX_BITS,
    fine_a: str | None = None,
    fine_b: str | None = None,
) -> bool:
    """Same file, or perceptual hashes within ``max_bits`` and (when both RGB histograms are
    given) colours within NEAR_DUPLICATE_MAX_COLOUR_DISTANCE. Blank values never match (a
    product not hashed yet is not anyone's duplicate), nor do featureless images' hashes.

    With fine hashes (image_phash_fine; pass "" for one not taken yet), a pHash match also
    needs both, within NEAR_DUPLICATE_MAX_FINE_BITS: the test for "the same item"."""
    if sha256_a and sha256_a == sha256_b:
        return True
    if not (phash_informative(phash_a) and phash_informative(phash_b)):
        return False
    if phash_distance(phash_a, phash_b) > max_bits:
        return False
    if fine_a is not None or fine_b is not None:
        if not (fine_a and fine_b) or phash_distance(fine_a, fine_b) > NEAR_DUPLICATE_MAX_FINE_BITS:
            return False
    if colour_a is not None and colour_b is not None:
        distance = colour_distance(np.asarray(colour_a), np.asarray(colour_b))
        return distance <= NEAR_DUPLICATE_MAX_COLOUR_DISTANCE
    return True


# The 64 bits are indexed in this many blocks of 16 (near_duplicate_groups).
HASH_BLOCKS = 4


def _block_flips(*, width: int, radius: int) -> list[int]:
    """XOR masks of every way to flip up to ``radius`` of ``width`` bits (0 first)."""
    flips = [0]
    for count in range(1, radius + 1):
        for bits in itertools.combinations(range(width), count):
            flips.append(sum(1 << bit for bit in bits))
    return flips


def _candidate_pairs(values: np.ndarray, *, max_bits: int) -> np.ndarray:
    """(k, 2) index pairs i < j whose 64-bit values are within ``max_bits``: each block's
    values are sorted once, and every item looks up its block within the pigeonhole radius."""
    width = 64 // HASH_BLOCKS
    radius = max_bits // HASH_BLOCKS
    found = []
    for block in range(HASH_BLOCKS):
        keys = ((values >> np.uint64(block * width)) & np.uint64((1 << width) - 1)).astype(np.int64)
        order = np.argsort(keys, kind="stable")
        # A table over all 2**16 block values: where each value's items start in ``order``.
        sizes = np.bincount(keys, minlength=1 << width)
        offsets = np.cumsum(sizes) - sizes
        for flip in _block_flips(width=width, radius=radius):
            probes = keys ^ flip
            low, counts = offsets[probes], sizes[probes]
            if not counts.any():
                continue
            # Expand each item's [low, high) range of matches into (item, match) pairs.
            firsts = np.repeat(np.arange(len(values)), counts)
            starts = np.repeat(low - np.cumsum(counts) + counts, counts)
            seconds = order[starts + np.arange(counts.sum())]
            keep = firsts < seconds
            firsts, seconds = firsts[keep], seconds[keep]
            close = np.bitwise_count(values[firsts] ^ values[seconds]) <= max_bits
            found.append(np.stack([firsts[close], seconds[close]], axis=1))
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    return np.unique(np.concatenate(found), axis=0)


def near_duplicate_groups(
    items, *, max_bits: int = NEAR_DUPLICATE_MAX_BITS, require_fine: bool = True
) -> list[list[int]]:
    """Groups (each of 2 or more ids, sorted) of items whose photos are near duplicates.

    ``items``: (id, sha256, phash, histogram or None, fine hash). Pairs are decided by
    is_near_duplicate, the alternatives' test plus the fine hash (a pHash match without both
    fine hashes is no match; ``require_fine=False``: the 64-bit test alone), and a group grows
    by matching any member (as there).

    The whole catalogue is not compared pair by pair. The hashes are indexed in HASH_BLOCKS
    blocks of 16 bits; two hashes within max_bits differ in at most max_bits // HASH_BLOCKS
    bits in at least one block (pigeonhole), so looking up each block's values within that
    radius finds every candidate pair (6 bits: radius 1, 17 look-ups a block, vectorised).
    Equal SHA-256s are candidates too. Measured with ``python -m recommender.duplicates
    --groups 100000``: 100,000 hashes grouped in 8.6 s (10,000 in 0.6 s) on a shared 2-core
    machine at load average 13.
    """
    items = list(items)
    parent = list(range(len(items)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union_if_same(i: int, j: int) -> None:
        if find(i) == find(j):
            return
        _, sha_a, phash_a, colour_a, fine_a = items[i]
        _, sha_b, phash_b, colour_b, fine_b = items[j]
        if is_near_duplicate(
            sha256_a=sha_a,
            phash_a=phash_a,
            colour_a=colour_a,
            sha256_b=sha_b,
            phash_b=phash_b,
            colour_b=colour_b,
            max_bits=max_bits,
            fine_a=(fine_a or "") if require_fine else None,
            fine_b=(fine_b or "") if require_fine else None,
        ):
            parent[find(i)] = find(j)

    by_sha: dict[str, int] = {}
    for index, (_, sha256, *_rest) in enumerate(items):
        if sha256:
            if sha256 in by_sha:
                union_if_same(by_sha[sha256], index)
            else:
                by_sha[sha256] = index

    hashed = [index for index, (_, _, phash, *_rest) in enumerate(items) if phash_informative(phash)]
    values = np.array([int(items[index][2], 16) for index in hashed], dtype=np.uint64)
    for first, second in _candidate_pairs(values, max_bits=max_bits).tolist():
        union_if_same(hashed[first], hashed[second])
    groups: dict[int, list[int]] = {}
    for index, item in enumerate(items):
        groups.setdefault(find(index), []).append(item[0])
    return sorted(sorted(ids) for ids in groups.values() if len(ids) > 1)


def _measure(folder: str) -> None:  # pragma: no cover - an operator's tool
    """Print the distances the threshold above is based on, for a folder of photos."""
    import io
    from pathlib import Path

    def reencode(im, quality, scale=1.0):
        if scale != 1.0:
            im = im.resize((max(1, int(im.width * scale)), max(1, int(im.height * scale))))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=quality)
        return Image.open(buf).convert("RGB")

    def crop(im, share):
        dx, dy = int(im.width * share), int(im.height * share)
        return im.crop((dx, dy, im.width - dx, im.height - dy))

    transforms = {
        "q60": lambda im: reencode(im, 60),
        "50% q85": lambda im: reencode(im, 85, 0.5),
        "crop 1%": lambda im: crop(im, 0.01),
        "crop 2%": lambda im: crop(im, 0.02),
    }
    for size in (8, 16):  # the 64-bit hash, then the fine 256-bit one
        hashes, same = [], {name: [] for name in transforms}
        for path in sorted(Path(folder).rglob("*.jpg")):
            image = Image.open(path).convert("RGB")
            own = imagehash.phash(image, hash_size=size)
            hashes.append(own)
            for name, transform in transforms.items():
                same[name].append(own - imagehash.phash(transform(image), hash_size=size))
        print(f"{size * size}-bit pHash")
        for name, values in same.items():
            print(
                f"{name}: max {max(values)}, p99 {np.percentile(values, 99):.0f}, mean {np.mean(values):.1f}"
            )
        different = np.array([a - b for a, b in itertools.combinations(hashes, 2)])
        print(
            f"different photos: min {different.min()}, 0.1th percentile "
            f"{np.percentile(different, 0.1):.0f}, mean {different.mean():.1f}, pairs {len(different)}"
        )


def _time_groups(count: int) -> None:  # pragma: no cover - an operator's tool
    """Time near_duplicate_groups on ``count`` random hashes, 1 % of them with a near copy."""
    import random
    import time

    rng = random.Random(17)
    items = []
    for index in range(count):
        value = 0
        while value.bit_count() < MIN_INFORMATIVE_BITS * 2 - 4:  # like a photo's: about 32 set
            value = rng.getrandbits(64)
        items.append((index, f"sha-{index}", f"{value:016x}", None, ""))
        if index % 100 == 0:
            copy = value ^ (1 << rng.randrange(64))
            items.append((count + index, f"copy-{index}", f"{copy:016x}", None, ""))
    start = time.perf_counter()
    groups = near_duplicate_groups(items, require_fine=False)
    print(f"{len(items)} hashes: {len(groups)} groups in {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":  # pragma: no cover
    import sys

    if sys.argv[1] == "--groups":
        _time_groups(int(sys.argv[2]))
    else:
        _measure(sys.argv[1])
