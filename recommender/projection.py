"""A PCA projection of one model key's vectors, searched by a smaller HNSW index.

Why: ResNet50's 2048 half floats are 4 KB a vector, and its HNSW graph ~8 KB a vector
(docs/benchmarks.md "index"): 8 GB at a million products, which must sit in memory to be
fast. Pooled CNN features live in far fewer dimensions than they have, so the first 512
principal components keep almost all of their geometry in 1 KB. The search walks the small
graph for a few times more candidates than it needs and ranks those on the full vectors
(recommender.selectors._nearest_rows), so the order shown is the full model's.

The projection is data, not code: fitted on the catalogue's own vectors by
``manage.py fit_projection`` and stored in ``recommender.Projection``; ``ReducedVector``
holds each embedding's coordinates. A refit rewrites every row in the transaction that stores
the new projection, so a search never mixes two projections; vectors written while it runs
wait on the projection's row lock (``projection_for_write``) and then use the new one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction
from pgvector import HalfVector

from recommender.embedders import active_embedder_name, active_model_key
from recommender.embedders.registry import REGISTRY, embedder_spec
from recommender.models import Embedding, Projection, ReducedVector

logger = logging.getLogger(__name__)

# Vectors read and rewritten per round trip: 2,000 x 4 KB is 8 MB in memory at a time.
BATCH = 2000


@dataclass(frozen=True)
class Fitted:
    """A projection ready to apply: ``(vectors - mean) @ components.T``."""

    model_key: str
    mean: np.ndarray  # (dim_in,) float32
    components: np.ndarray  # (dim_out, dim_in) float32, orthonormal rows
    version: str  # the stored row's updated_at: a refit changes it

    def apply(self, vectors) -> np.ndarray:
        data = np.asarray(vectors, dtype=np.float32)
        if data.ndim == 1:
            data = data[None, :]
        if len(data) == 1:
            # A search's one query: einsum's own loop, ~0.3 ms on one core. A BLAS product is
            # as fast but leaves BLAS threads spinning on the other cores afterwards, which on
            # 2 cores took the database's CPU and doubled the search's latency (bench.ann).
            return np.einsum("ij,nj->ni", self.components, data - self.mean)
        return (data - self.mean) @ self.components.T


def pca_fit(vectors: np.ndarray, dim_out: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Mean, top ``dim_out`` principal directions (rows) and the share of variance they keep.

    The covariance is dim_in x dim_in (2048² for ResNet50) whatever the sample size, and
    an eigendecomposition of it costs seconds, where an SVD of the whole sample would grow
    with it."""
    data = np.asarray(vectors, dtype=np.float32)
    if data.shape[0] < 2:
        raise ValueError("a projection needs at least 2 vectors to fit on")
    mean = data.mean(axis=0)
    centred = data - mean
    covariance = (centred.T @ centred).astype(np.float64) / (data.shape[0] - 1)
    values, directions = np.linalg.eigh(covariance)  # ascending
    top = np.argsort(values)[::-1][:dim_out]
    total = float(values.clip(min=0).sum())
    kept = float(values[top].clip(min=0).sum() / total) if total > 0 else 1.0
    return mean.astype(np.float32), directions[:, top].T.astype(np.float32), kept


def _fitted(row) -> Fitted:
    model_key, dim_in, dim_out, mean, components, updated_at = row
    return Fitted(
        model_key=model_key,
        mean=np.frombuffer(bytes(mean), dtype="<f4").copy(),
        components=np.frombuffer(bytes(components), dtype="<f4").reshape(dim_out, dim_in).copy(),
        version=updated_at.isoformat(),
    )


# Decoded projections by (model key, version): the components are 4 MB for ResNet50 and a
# search reads only the version (in the round trip it makes anyway).
_CACHE: dict[tuple[str, str], Fitted] = {}


def _load(model_key: str, *, lock: str = "") -> Fitted | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT updated_at FROM recommender_projection WHERE model_key = %s " + lock, [model_key]
        )
        found = cursor.fetchone()
        if found is None:
            return None
        version = found[0].isoformat()
        cached = _CACHE.get((model_key, version))
        if cached is not None:
            return cached
        cursor.execute(
            "SELECT model_key, dim_in, dim_out, mean, components, updated_at FROM recommender_projection"
            " WHERE model_key = %s",
            [model_key],
        )
        fitted = _fitted(cursor.fetchone())
    _CACHE.clear()  # a refit or another key: keep one decoded projection per process
    _CACHE[(model_key, fitted.version)] = fitted
    return fitted


def projection_for_search(model_key: str, version: str) -> Fitted | None:
    """The projection a search's round trip saw (its ``version``), decoded once per process."""
    cached = _CACHE.get((model_key, version))
    if cached is not None:
        return cached
    fitted = _load(model_key)
    return fitted if fitted is not None and fitted.version == version else None


def projection_for_write(model_key: str) -> Fitted | None:
    """The projection new vectors of ``model_key`` must be stored with, read under a share
    lock: call it inside the transaction that writes them, so a refit (which holds the row
    for update while it rewrites every vector) cannot commit between the two."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("projection_for_write must run inside the transaction that writes the vectors")
    return _load(model_key, lock="FOR SHARE")


def _rows_rewrite(fitted: Fitted, *, only_missing: bool, progress: Callable[[int], None] | None) -> int:
    """Project the key's embeddings (those without coordinates, or all of them after deleting
    the old ones) and COPY their coordinates in, BATCH vectors per round trip."""
    rows = Embedding.objects.filter(model_key=fitted.model_key)
    if only_missing:
        rows = rows.filter(reduced__isnull=True)
    else:
        ReducedVector.objects.filter(model_key=fitted.model_key).delete()
    ids = list(rows.order_by("id").values_list("id", flat=True))
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: COPY is not part of the DB-API
        for start in range(0, len(ids), BATCH):
            found = list(
                Embedding.objects.filter(id__in=ids[start : start + BATCH]).values_list(
                    "id", "product_id", "model_name", "vector"
                )
            )
            if found:
                coordinates = fitted.apply(np.array([row[-1] for row in found], dtype=np.float32))
                with raw.copy(
                    "COPY recommender_reducedvector (embedding_id, product_id, model_name, model_key, vector)"
                    " FROM STDIN"
                ) as copy:
                    for (pk, product_id, name, _), point in zip(found, coordinates, strict=True):
                        copy.write_row((pk, product_id, name, fitted.model_key, HalfVector(point).to_text()))
            if progress is not None:
                progress(len(ids[start : start + BATCH]))
    return len(ids)


@dataclass
class FitResult:
    projection: Projection
    rewritten: int
    caught_up: int


def projection_fit(
    *,
    model: str | None = None,
    model_key: str | None = None,
    sample: int = 50_000,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> FitResult:
    """Fit a PCA on up to ``sample`` of the vectors of ``model`` (None: the active model) under
    ``model_key`` (None: the model's current key) and store every row's coordinates, in one
    transaction. ``total`` is told how many rows will be rewritten, ``progress`` how many
    were, batch by batch."""
    name = model or active_embedder_name()
    spec = embedder_spec(name)
    dim_out = spec.compressed_dim
    if not dim_out:
        with_one = ", ".join(other.name for other in REGISTRY.values() if other.compressed_dim)
        raise ValueError(f"{name} has no compressed index; models with one: {with_one}")
    model_key = model_key or active_model_key(name)
    with transaction.atomic():
        # Writers of new vectors wait here (projection_for_write) until the commit.
        Projection.objects.select_for_update().filter(model_key=model_key).first()
        ids = np.array(
            Embedding.objects.filter(model_key=model_key).order_by("id").values_list("id", flat=True),
            dtype=np.int64,
        )
        if len(ids) <= dim_out:
            raise ValueError(
                f"{len(ids)} {model_key} vectors: a {dim_out}-dimension projection needs more than {dim_out}"
            )
        chosen = np.sort(np.random.default_rng(seed).choice(ids, size=min(sample, len(ids)), replace=False))
        vectors = []
        for start in range(0, len(chosen), BATCH):
            found = Embedding.objects.filter(id__in=chosen[start : start + BATCH].tolist())
            vectors.extend(found.values_list("vector", flat=True))
        mean, components, kept = pca_fit(np.array(vectors, dtype=np.float32), dim_out)
        projection, _ = Projection.objects.update_or_create(
            model_key=model_key,
            defaults={
                "model_name": name,
                "dim_in": spec.dim,
                "dim_out": dim_out,
                "mean": mean.astype("<f4").tobytes(),
                "components": components.astype("<f4").tobytes(),
                "fitted_rows": len(vectors),
                "explained_variance": kept,
            },
        )
        fitted = Fitted(
            model_key=model_key, mean=mean, components=components, version=projection.updated_at.isoformat()
        )
        if total is not None:
            total(len(ids))
        rewritten = _rows_rewrite(fitted, only_missing=False, progress=progress)
    # Rows committed by a writer that started before this fit's projection existed carry no
    # coordinates (it found no projection to apply): fill them in now.
    with transaction.atomic():
        Projection.objects.select_for_update().filter(model_key=model_key).first()
        caught_up = _rows_rewrite(fitted, only_missing=True, progress=None)
    logger.info(
        "Projection %s: %d -> %d dimensions, %.1f%% of the variance, %d rows rewritten (%d caught up)",
        model_key,
        spec.dim,
        dim_out,
        kept * 100,
        rewritten,
        caught_up,
    )
    return FitResult(projection=projection, rewritten=rewritten, caught_up=caught_up)
