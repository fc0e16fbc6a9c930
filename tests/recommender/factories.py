"""Factories for recommender rows (vectors written directly, for search tests)."""

from __future__ import annotations

import numpy as np

from recommender.models import Embedding


def embedding_create(*, product, vector, model_name="efficientnet-lite0", version="test", region="full"):
    vector = np.asarray(vector, dtype=np.float32)
    return Embedding.objects.create(
        product=product,
        model_name=model_name,
        model_key=f"{model_name}@{version}",
        region=region,
        vector=vector / np.linalg.norm(vector),
    )


def random_unit_vectors(n: int, dim: int, *, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
