"""Factories for recommender rows (vectors written directly, for search tests)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import numpy as np

from recommender.models import Embedding
from shop.models import Category, Product
from tests.shop.factories import ProductFactory, category


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


def products_with_vectors(
    vectors: np.ndarray,
    *,
    model_name: str,
    model_key: str,
    category_of: Callable[[int], Category] | None = None,
) -> list[Product]:
    """One product per vector (priced 1000 + its index, in ``category_of(index)``, else "top"),
    with that vector under ``model_key``: bulk-inserted, for tests of the search itself."""
    template = ProductFactory(price=Decimal("1000"))
    top = category("top")
    products = Product.objects.bulk_create(
        [
            Product(
                source=template.source,
                external_id=f"vec-{i}",
                title=f"Vector {i}",
                category=category_of(i) if category_of else top,
                price=Decimal(1000 + i),
                image=f"products/vec{i}.jpg",
            )
            for i in range(len(vectors))
        ]
    )
    template.delete()
    Embedding.objects.bulk_create(
        [
            Embedding(product=p, model_name=model_name, model_key=model_key, vector=v)
            for p, v in zip(products, vectors, strict=True)
        ]
    )
    return products
