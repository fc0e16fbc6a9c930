"""The Embedder: a loaded image model that turns garment crops into unit vectors."""

from __future__ import annotations

import logging

import numpy as np
from PIL import Image

from recommender.errors import ModelUnavailable

logger = logging.getLogger(__name__)

# ImageNet statistics: both registered models were trained on ImageNet with them.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class EmbedderUnavailable(ModelUnavailable):
    """The embedder's weights are missing or wrong; the message says what to do."""


class Embedder:
    """A loaded model. ``embed`` takes images already put on white (preprocess.py) and
    returns an (n, dim) float32 array of L2-normalised vectors."""

    def __init__(self, *, name: str, version: str, dim: int, module, device: str, input_size: int = 224):
        import torch
        from torchvision import transforms

        self.name = name
        self.version = version
        self.dim = dim
        self.device = device
        self.input_size = input_size
        self.module = module.to(device).eval()
        self._torch = torch
        self._transform = transforms.Compose(
            [
                transforms.Resize(
                    (input_size, input_size), interpolation=transforms.InterpolationMode.BICUBIC
                ),
                transforms.ToTensor(),
                transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
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
            features = self.module(batch).float()
            features = torch.nn.functional.normalize(features.reshape(len(images), -1), dim=1)
        out = features.cpu().numpy().astype(np.float32)
        if out.shape[1] != self.dim:
            raise EmbedderUnavailable(
                f"The {self.name} weights produce {out.shape[1]}-d vectors, not {self.dim}-d. "
                "Check that the weights file is for this model."
            )
        return out

    def __repr__(self) -> str:
        return f"<Embedder {self.model_key} dim={self.dim} on {self.device}>"
