"""Looks fixtures: the Find similar tests' real CC0 catalogue (embedded with the offline
EfficientNet-Lite0 weights), and a painted person in a top, trousers and shoes as an upload."""

from __future__ import annotations

import io

import pytest

from tests.find_similar.support import (  # noqa: F401  (fixtures)
    _fresh_rate_limits,
    _module_catalogue,
    catalogue_fixture,
)
from tests.recommender.scenes import cc0_photos


def outfit_scene(seed: int = 1):
    """A painted person wearing a CC0 T-shirt, trousers and shoes (bench/people.py), with the
    exact mask of every garment."""
    from bench.people import person_scene

    return person_scene(
        top=cc0_photos("t-shirt", 1)[0],
        bottoms=cc0_photos("pants", 1)[0],
        shoes=cc0_photos("shoes", 1)[0],
        backgrounds=cc0_photos("outwear", 2),
        seed=seed,
        size=(400, 600),
        framing="full",
    )


def outfit_jpeg(seed: int = 1) -> bytes:
    buffer = io.BytesIO()
    outfit_scene(seed).image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture
def outfit_upload(db):
    """An upload of the painted outfit, its garments the scene's true masks (so the slots are
    known: top, bottoms, shoes), ready to search."""
    from find_similar.detection import BODY
    from find_similar.models import QueryImage
    from find_similar.refine import mask_box, mask_encode
    from find_similar.uploads import upload_create
    from shop.images import image_decode

    scene = outfit_scene()
    data = outfit_jpeg()
    upload, _created = upload_create(
        decoded=image_decode(data), size_bytes=len(data)
    )  # queued on commit: never
    assert (upload.width, upload.height) == scene.image.size
    garments = []
    for kind in ("top", "bottoms", "shoes"):
        mask = scene.masks[kind]
        garments.append(
            {
                "kind": kind,
                "box": [int(v) for v in mask_box(mask)],
                "score": 0.9,
                "area_share": round(float(mask.mean()), 5),
                "mask": mask_encode(mask),
                "source": BODY,
            }
        )
    upload.garments = garments
    upload.status = QueryImage.Status.READY
    upload.save()
    return upload


@pytest.fixture(autouse=True)
def _english():
    """Each test starts in English: a Korean page requested by an earlier test leaves Korean
    active in this thread, and reverse() would then give /ko/ addresses."""
    from django.utils import translation

    with translation.override("en"):
        yield
