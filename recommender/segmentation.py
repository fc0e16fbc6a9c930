"""Garment segmentation with a SegFormer trained on the ATR clothes labels.

RECOMMENDER_SEGMENTER is a Hugging Face model id (default mattmdjaga/segformer_b2_clothes)
or a local directory saved with ``save_pretrained``; it is loaded with transformers'
image processor and ``SegformerForSemanticSegmentation``. Weights are only read from
disk (the HF cache or the directory): ``manage.py fetch_models`` downloads them, so a
page or a worker never waits on the hub.

Licence caveat for the default model: its card says MIT in the metadata but points to
NVIDIA's SegFormer licence (non-commercial). Swap it with RECOMMENDER_SEGMENTER.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from PIL import Image

from recommender.errors import OFFLINE_HINT, ModelUnavailable
from recommender.labels import GARMENT_KINDS, garment_for_label

logger = logging.getLogger(__name__)

# Photos are segmented at most this large (longest side, pixels); the label map is then
# scaled back to the photo. The model itself works at 512 x 512, so more is wasted work,
# and 18 upsampled logit planes of a 12 MP photo would take ~860 MB.
SEGMENT_MAX_SIDE = 1024
# Within a garment, connected pieces smaller than this share of its largest piece are
# stray pixels (a "pants" speck on a shadow), not a second garment.
FRAGMENT_SHARE = 0.1


# The default segmenter and the commit of its Hugging Face repository that fetch_models downloads
# and workers load. Pinned so that a change pushed to that repository (new weights, new code,
# a pickle in place of safetensors) reaches no server until someone moves this line. The hash is
# that of a snapshot of this repository seen in a Hugging Face cache; this machine cannot reach
# the hub to compare it with the latest commit: check it on the model's "Files and versions"
# page when you update it. RECOMMENDER_SEGMENTER_REVISION overrides it.
DEFAULT_SEGMENTER = "mattmdjaga/segformer_b2_clothes"
DEFAULT_SEGMENTER_REVISION = "584abc1e1d260e23c0fc627c5217a09b2b461046"


class SegmenterUnavailable(ModelUnavailable):
    """The segmenter's weights are missing or are not an ATR clothes model."""


def segmenter_revision(source: str) -> str | None:
    """The hub revision to fetch and load ``source`` at: RECOMMENDER_SEGMENTER_REVISION, else the
    pinned commit for the default model; None (the hub's "main") for any other id."""
    if settings.RECOMMENDER_SEGMENTER_REVISION:
        return settings.RECOMMENDER_SEGMENTER_REVISION
    return DEFAULT_SEGMENTER_REVISION if source == DEFAULT_SEGMENTER else None


@dataclass(frozen=True)
class Garment:
    kind: str  # one of labels.GARMENT_KINDS
    mask: np.ndarray  # bool, H x W of the photo
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive), in photo pixels
    area_share: float  # mask pixels / photo pixels
    score: float  # mean confidence (softmax probability) over the mask


def _drop_fragments(mask: np.ndarray) -> np.ndarray:
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 2:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= FRAGMENT_SHARE * areas.max()) + 1
    return np.isin(labels, keep)


def garments_from_label_map(
    label_map: np.ndarray,
    confidence: np.ndarray,
    id2label: dict[int, str],
    *,
    min_area_share: float,
) -> list[Garment]:
    """Garments from a per-pixel label map (ids) and the per-pixel confidence.

    Labels that map to the same kind (left and right shoe) are merged; stray fragments
    and garments covering less than ``min_area_share`` of the photo are dropped. Order:
    head to toe (labels.GARMENT_KINDS).
    """
    total = label_map.size
    by_kind: dict[str, np.ndarray] = {}
    for label_id in np.unique(label_map):
        kind = garment_for_label(id2label.get(int(label_id), ""))
        if kind is None:
            continue
        mask = label_map == label_id
        by_kind[kind] = by_kind[kind] | mask if kind in by_kind else mask
    garments = []
    for kind in GARMENT_KINDS:
        if kind not in by_kind:
            continue
        mask = _drop_fragments(by_kind[kind])
        area = int(mask.sum())
        if area == 0 or area / total < min_area_share:
            continue
        ys, xs = np.nonzero(mask)
        garments.append(
            Garment(
                kind=kind,
                mask=mask,
                box=(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1),
                area_share=area / total,
                score=float(confidence[mask].mean()),
            )
        )
    return garments


class Segmenter:
    def __init__(self, *, processor, model, device: str, source: str):
        self.processor = processor
        self.model = model.to(device).eval()
        self.device = device
        self.source = source
        self.id2label = {int(k): v for k, v in model.config.id2label.items()}

    def label_map(self, image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
        """Per-pixel label ids and confidence at the (possibly reduced) working size."""
        import torch

        inputs = self.processor(images=image, return_tensors="pt").to(self.device)
        with torch.inference_mode():
            logits = self.model(**inputs).logits
            # Upsample the logits (not the argmax) to the image, as the model card does.
            logits = torch.nn.functional.interpolate(
                logits, size=(image.height, image.width), mode="bilinear", align_corners=False
            )
            probs = logits.softmax(dim=1)[0]
            confidence, labels = probs.max(dim=0)
        return labels.cpu().numpy(), confidence.float().cpu().numpy()

    def segment(self, image: Image.Image) -> list[Garment]:
        """The garments found on the photo, head to toe."""
        image = image.convert("RGB")
        work = image
        if max(image.size) > SEGMENT_MAX_SIDE:
            work = image.copy()
            work.thumbnail((SEGMENT_MAX_SIDE, SEGMENT_MAX_SIDE), Image.Resampling.BILINEAR)
        labels, confidence = self.label_map(work)
        if work.size != image.size:
            labels = np.asarray(Image.fromarray(labels.astype(np.uint8)).resize(image.size, Image.NEAREST))
            confidence = np.asarray(Image.fromarray(confidence).resize(image.size, Image.BILINEAR))
        return garments_from_label_map(
            labels, confidence, self.id2label, min_area_share=settings.RECOMMENDER_MIN_GARMENT_SHARE
        )

    def __repr__(self) -> str:
        return f"<Segmenter {self.source} on {self.device}>"


def segmenter_load(source: str, *, device: str = "cpu", local_files_only: bool = True) -> Segmenter:
    """Load a SegFormer clothes segmenter from a HF id (cache only, by default) or a
    local directory. Raises SegmenterUnavailable with what to run or set."""
    from transformers import AutoImageProcessor, SegformerForSemanticSegmentation

    # A hub id is read at its pinned commit (a local folder has no revisions); weights only from
    # safetensors: a pytorch_model.bin is a pickle, and unpickling runs code from the file.
    revision = None if Path(source).is_dir() else segmenter_revision(source)
    try:
        processor = AutoImageProcessor.from_pretrained(
            source, local_files_only=local_files_only, revision=revision
        )
        model = SegformerForSemanticSegmentation.from_pretrained(
            source, local_files_only=local_files_only, revision=revision, use_safetensors=True
        )
    except (OSError, ValueError) as exc:
        at = f" at revision {revision}" if revision else ""
        raise SegmenterUnavailable(
            f"The garment segmenter {source!r}{at} could not be loaded "
            f"({str(exc).splitlines()[0][:200]}). It must have its weights as safetensors "
            "(model.safetensors; a pytorch_model.bin is refused because loading it can run code). "
            + OFFLINE_HINT
            + " (setting: RECOMMENDER_SEGMENTER, a Hugging Face id or a directory saved with "
            "save_pretrained; RECOMMENDER_SEGMENTER_REVISION, the hub commit)"
        ) from exc
    labels = {garment_for_label(name) for name in model.config.id2label.values()} - {None}
    if not labels:
        raise SegmenterUnavailable(
            f"The model {source!r} does not predict clothes labels (its labels are "
            f"{sorted(model.config.id2label.values())[:8]}...). Point RECOMMENDER_SEGMENTER at a "
            "SegFormer trained on the ATR clothes labels, such as mattmdjaga/segformer_b2_clothes."
        )
    return Segmenter(processor=processor, model=model, device=device, source=source)


_lock = threading.Lock()
_loaded: dict[tuple[str, str], Segmenter] = {}


def get_segmenter() -> Segmenter:
    """The configured segmenter, loaded once per process (lazily: never in a Celery
    parent before it forks)."""
    from recommender.device import device_resolve

    source, device = settings.RECOMMENDER_SEGMENTER, device_resolve()
    with _lock:
        segmenter = _loaded.get((source, device))
        if segmenter is None:
            logger.info("Loading segmenter %s on %s", source, device)
            segmenter = segmenter_load(source, device=device)
            _loaded[(source, device)] = segmenter
    return segmenter


def segmenter_available() -> bool:
    """Whether get_segmenter() would succeed (loads it if needed); the UI uses this to say
    "garment detection is unavailable" instead of failing."""
    try:
        get_segmenter()
    except SegmenterUnavailable:
        return False
    return True
