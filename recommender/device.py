"""Which torch device models run on.

Resolved only when a model is loaded, which happens lazily inside a worker's child
process: CUDA must never be initialised in a Celery parent before it forks (a forked
child cannot use the parent's CUDA context).
"""

from __future__ import annotations

from django.conf import settings


def device_resolve() -> str:
    """RECOMMENDER_DEVICE: "cpu", "cuda" (or "cuda:N"), or "auto" (CUDA when present)."""
    import torch

    wanted = (settings.RECOMMENDER_DEVICE or "auto").lower()
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if wanted.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(
            "RECOMMENDER_DEVICE asks for CUDA but no CUDA device is available. "
            "Set RECOMMENDER_DEVICE=cpu or auto."
        )
    return wanted
