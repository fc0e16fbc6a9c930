"""What Find similar (and the looks built on it) may ask of the recommender: the one door.

Find garments on a photo, embed a region of it exactly as the catalogue was embedded, its
colours, the products nearest to a vector with filters, and a region's vector moved by words
under the text model (query_refine). Everything else in the
recommender (indexing, storage, the alternatives) is its own business; import-linter's
"find-similar-through-query-api" contract keeps the apps above to this module.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from recommender.embedders import EmbedderUnavailable, active_model_key, text_model_name
from recommender.errors import ModelUnavailable
from recommender.models import ProductColour
from recommender.segmentation import Garment
from recommender.selectors import SimilarProduct, similar_attribute_counts, similar_products
from recommender.words import query_refine

logger = logging.getLogger(__name__)

__all__ = [
    "EmbedderUnavailable",
    "Found",
    "Garment",
    "ModelUnavailable",
    "SimilarProduct",
    "active_model_key",
    "garments_find",
    "product_histograms",
    "query_refine",
    "region_colour",
    "region_embed",
    "similar_attribute_counts",
    "similar_products",
    "text_model_name",
]


@dataclass
class Found:
    garments: list[Garment] = field(default_factory=list)
    source: str = "segmenter"  # "segmenter", or "body": placed on the person (regions.py)
    segmenter_unavailable: bool = False


def garments_find(*, image: Image.Image) -> Found:
    """The garments on a photo: the segmenter's when its weights are installed; when they are
    not, or it finds nothing, regions placed on a person's body (recommender.regions)."""
    from recommender.regions import garment_regions_propose
    from recommender.segmentation import SegmenterUnavailable, get_segmenter

    found = Found()
    try:
        segmenter = get_segmenter()
    except SegmenterUnavailable as exc:
        logger.warning("Garment detection unavailable, placing garments on the body instead: %s", exc)
        found.segmenter_unavailable = True
    else:
        found.garments = segmenter.segment(image)
    if not found.garments:
        found.garments, found.source = garment_regions_propose(image=image), "body"
    return found


def region_embed(*, image: Image.Image, mask: np.ndarray | None = None, model: str | None = None):
    """A region's vector, embedded exactly as the catalogue is (services.query_embed):
    (vector, model_key). Raises ModelUnavailable when the weights are missing."""
    from recommender.services import query_embed

    return query_embed(image=image, mask=mask, model=model)


def region_colour(*, image: Image.Image, mask: np.ndarray | None = None) -> np.ndarray:
    """A region's RGB histogram (3 x 32), on the same crop as the catalogue's."""
    from recommender.services import query_colour

    return query_colour(image=image, mask=mask)


def product_histograms(*, product_ids) -> dict[int, np.ndarray]:
    """The catalogue's RGB histograms of these products (those that have one)."""
    rows = ProductColour.objects.filter(product_id__in=list(product_ids)).values_list(
        "product_id", "histogram"
    )
    return {pk: np.asarray(histogram) for pk, histogram in rows}
