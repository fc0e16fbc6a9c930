"""The Embedder: a loaded image model that turns garment crops into unit vectors, and, for
a vision-language model, words into unit vectors in the same space."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from recommender.errors import ModelUnavailable

logger = logging.getLogger(__name__)

# ImageNet statistics: both registered models were trained on ImageNet with them.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def file_tag(path: Path) -> str:
    """A short tag for a local weights file: its size and the hash of its first MiB
    (enough to tell files apart without reading hundreds of MB)."""
    digest = hashlib.sha256(str(path.stat().st_size).encode())
    with path.open("rb") as fh:
        digest.update(fh.read(1 << 20))
    return digest.hexdigest()[:10]


class EmbedderUnavailable(ModelUnavailable):
    """The embedder's weights are missing or wrong; the message says what to do."""


@dataclass
class ModelParts:
    """What a registry loader returns for a model that needs more than a module mapping
    ImageNet-normalised (n, 3, 224, 224) batches to vectors: its own normalisation and input
    size, and for a vision-language model a text tower and its tokenizer."""

    module: object  # torch module: pixel batch -> (n, dim)
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    input_size: int = 224
    text_module: object | None = None  # torch module: (input_ids, attention_mask) -> (n, dim)
    tokenizer: object | None = None
    max_text_tokens: int | None = None


class Embedder:
    """A loaded model. ``embed`` takes images already put on white (preprocess.py) and
    returns an (n, dim) float32 array of L2-normalised vectors."""

    def __init__(
        self,
        *,
        name: str,
        version: str,
        dim: int,
        module,
        device: str,
        input_size: int = 224,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        text_module=None,
        tokenizer=None,
        max_text_tokens: int | None = None,
    ):
        import torch
        from torchvision import transforms

        self.name = name
        self.version = version
        self.dim = dim
        self.device = device
        self.input_size = input_size
        self.module = module.to(device).eval()
        self.text_module = text_module.to(device).eval() if text_module is not None else None
        self.tokenizer = tokenizer
        self.max_text_tokens = max_text_tokens
        self._torch = torch
        self._transform = transforms.Compose(
            [
                transforms.Resize(
                    (input_size, input_size), interpolation=transforms.InterpolationMode.BICUBIC
                ),
                transforms.ToTensor(),
                transforms.Normalize(mean, std),
            ]
        )

    @property
    def model_key(self) -> str:
        """Name and weights version, stored with each vector: vectors with different
        keys are never compared."""
        return f"{self.name}@{self.version}"

    def embed(self, images: list[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        torch = self._torch
        batch = torch.stack([self._transform(image.convert("RGB")) for image in images]).to(self.device)
        with torch.inference_mode():
            return self._unit_rows(
                self.module(batch),
                len(images),
                source="weights produce",
                fix="the weights file is for this model",
            )

    @property
    def embeds_text(self) -> bool:
        return self.text_module is not None and self.tokenizer is not None

    def embed_text(self, texts: list[str]) -> np.ndarray:
        """An (n, dim) float32 array of L2-normalised text vectors, in the space of this
        model's image vectors. Texts longer than the text tower's window are cut at its
        last token (truncation), never refused."""
        if not self.embeds_text:
            raise EmbedderUnavailable(f"The {self.name} model embeds images only, not words.")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        torch = self._torch
        tokens = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_text_tokens,
            return_tensors="pt",
        ).to(self.device)
        with torch.inference_mode():
            features = self.text_module(tokens["input_ids"], tokens["attention_mask"])
            return self._unit_rows(
                features, len(texts), source="text tower produces", fix="the model folder holds this model"
            )

    def _unit_rows(self, features, n: int, *, source: str, fix: str) -> np.ndarray:
        """A tower's output as (n, dim) float32 rows of unit length; a tower whose vectors are
        not this model's dimension is refused, saying what to check."""
        torch = self._torch
        rows = torch.nn.functional.normalize(features.float().reshape(n, -1), dim=1)
        out = rows.cpu().numpy().astype(np.float32)
        if out.shape[1] != self.dim:
            raise EmbedderUnavailable(
                f"The {self.name} {source} {out.shape[1]}-d vectors, not {self.dim}-d. Check that {fix}."
            )
        return out

    def __repr__(self) -> str:
        return f"<Embedder {self.model_key} dim={self.dim} on {self.device}>"
