"""Which garments Find similar offers on a photo, and which one it searches first.

The garment segmenter (recommender.segmentation) when its weights are installed; when they are not,
or when it finds nothing, the regions placed on a person's body without downloaded
weights (recommender.regions); with neither, no garments, and the page searches the main object
(a box over the whole photo refined by GrabCut). The upload page and
``python -m bench.retrieval --region auto`` both go through here, so the benchmark
measures exactly what a shopper gets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from find_similar.refine import box_refine, mask_decode, mask_encode
from recommender.query import garments_find

# Where a garment came from, stored with it on the upload.
SEGMENTER = "segmenter"
BODY = "body"  # placed on the body (recommender.regions)


@dataclass
class Detected:
    garments: list[dict] = field(default_factory=list)  # as stored on QueryImage.garments
    segmenter_unavailable: bool = False


def garments_detect(*, image: Image.Image) -> Detected:
    """The garments to offer on ``image``, in the form QueryImage.garments stores:
    {kind, box, score, area_share, mask (RLE), source}."""
    found = garments_find(image=image)
    detected = Detected(segmenter_unavailable=found.segmenter_unavailable)
    detected.garments = [
        {
            "kind": g.kind,
            "box": [int(v) for v in g.box],
            "score": round(float(g.score), 4),
            "area_share": round(float(g.area_share), 5),
            "mask": mask_encode(g.mask),
            "source": found.source,
        }
        for g in found.garments
    ]
    return detected


def garment_default(garments: list[dict]) -> int | None:
    """The garment searched before the shopper picks one: the largest the segmenter found
    (the likeliest subject). Of the regions placed on a body, the top: it hangs right under
    the face that placed it, while the lower regions add the error of every head height
    down to them (on painted people the top's median IoU with the true garment is 0.88, the
    bottoms' 0.59: tests/recommender/test_regions.py); None without garments."""
    if not garments:
        return None
    if all(g.get("source") == BODY for g in garments):
        tops = [i for i, g in enumerate(garments) if g["kind"] == "top"]
        if tops:
            return tops[0]
    return max(range(len(garments)), key=lambda i: garments[i]["area_share"])


def region_default_mask(*, image: Image.Image, garments: list[dict]) -> np.ndarray:
    """The mask the page searches by default: the default garment's, else the main object
    (GrabCut over the whole photo)."""
    index = garment_default(garments)
    if index is not None:
        return mask_decode(garments[index]["mask"])
    return box_refine(image, (0, 0, image.width, image.height))
