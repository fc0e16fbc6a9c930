"""Words in the vision-language model's space: a shopper's description as a vector, and a
photo's vector moved by words ("like this, but in green").

The text model (RECOMMENDER_TEXT_MODEL, recommender/embedders/clip.py) embeds words into the
space of its own image vectors; they are compared with the catalogue's vectors under that
model's key only, never with the image model's. Every way words cannot be used (no text model,
missing weights, an empty query, a language its text tower does not read) comes back as a
reason with a sentence for the shopper, never as an exception or silently ignored words.

Korean: CLIP text towers, FashionCLIP's included, are trained on English captions with an
English byte-pair vocabulary. A query with Hangul gets the "language" reason (the shop's title
and brand match still finds Korean titles) unless the configured text model lists "ko" among
its languages (a multilingual tower or a translating front end registered later).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from recommender.embedders import (
    EmbedderUnavailable,
    active_model_key,
    embedder_spec,
    get_embedder,
    text_model_name,
)

logger = logging.getLogger(__name__)

# Issue 16: a query over 200 characters gives normal results, never an error. Longer input is
# cut here, and the tokenizer cuts again at the text tower's window (77 tokens for CLIP).
TEXT_QUERY_MAX_CHARS = 200
# Hangul syllables, jamo and compatibility jamo.
_HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
# Seconds a query's vector stays cached: a description typed again skips the text tower.
TEXT_VECTOR_CACHE_SECONDS = 60 * 60


class Reason:
    """Why words gave no vector (TextVector.code)."""

    EMPTY = "empty"  # nothing to search for: show the normal listing
    OFF = "off"  # no text model configured
    MISSING = "missing"  # configured, but its weights are not installed
    LANGUAGE = "language"  # a language its text tower does not read (Korean)


@dataclass(frozen=True)
class TextVector:
    vector: np.ndarray | None  # unit vector, or None with a reason
    model_key: str | None  # the key it is comparable with
    text: str = ""  # the words embedded (cleaned, cut to TEXT_QUERY_MAX_CHARS)
    code: str | None = None  # a Reason; None when there is a vector
    reason: str | None = None  # a sentence for the shopper

    @property
    def available(self) -> bool:
        return self.vector is not None


def has_hangul(text: str) -> bool:
    return bool(_HANGUL.search(text))


def text_clean(text: str | None) -> str:
    """Whitespace collapsed, control characters dropped, cut to TEXT_QUERY_MAX_CHARS."""
    text = "".join(ch if ch.isprintable() else " " for ch in (text or ""))
    return " ".join(text.split())[:TEXT_QUERY_MAX_CHARS].strip()


def _unavailable(code: str, text: str, model_key: str | None = None) -> TextVector:
    reasons = {
        Reason.EMPTY: _("Type a few words to search by description."),
        Reason.OFF: _(
            "Searching by what the photos show is turned off on this shop; product titles and brands "
            "are still searched."
        ),
        Reason.MISSING: _(
            "Searching by what the photos show is unavailable because its model is not installed; "
            "product titles and brands are still searched."
        ),
        Reason.LANGUAGE: _(
            "Searching by what the photos show understands English words only; Korean words still "
            "match product titles and brands."
        ),
    }
    return TextVector(vector=None, model_key=model_key, text=text, code=code, reason=reasons[code])


def text_embed(*, text: str | None) -> TextVector:
    """The description ``text`` as a unit vector of the text model, or the reason there is none.

    Loads the text model in this process on first use (once per process); a query typed again
    within TEXT_VECTOR_CACHE_SECONDS is read from the cache instead. Nonsense gives a vector
    like any other words (the ranking is then arbitrary but the page works).
    """
    clean = text_clean(text)
    if not clean:
        return _unavailable(Reason.EMPTY, clean)
    try:
        name = text_model_name()
    except EmbedderUnavailable as exc:  # misconfigured: the start-up check says the same
        logger.error("Searching by description is off: %s", exc)
        return _unavailable(Reason.OFF, clean)
    if name is None:
        return _unavailable(Reason.OFF, clean)
    spec = embedder_spec(name)
    if has_hangul(clean) and "ko" not in spec.text_languages:
        return _unavailable(Reason.LANGUAGE, clean)
    if not spec.weights_ready():
        return _unavailable(Reason.MISSING, clean)
    key = active_model_key(name)
    cache_key = "text-vector:v1:" + hashlib.sha256(f"{key}\n{clean}".encode()).hexdigest()
    cached = cache.get(cache_key)
    if cached is not None:
        return TextVector(vector=np.asarray(cached, dtype=np.float32), model_key=key, text=clean)
    try:
        embedder = get_embedder(name)
        vector = embedder.embed_text([clean])[0]
    except EmbedderUnavailable as exc:
        logger.error("Searching by description is unavailable: %s", exc)
        return _unavailable(Reason.MISSING, clean, key)
    cache.set(cache_key, vector.tolist(), TEXT_VECTOR_CACHE_SECONDS)
    return TextVector(vector=vector, model_key=embedder.model_key, text=clean)


def text_vector(text: str | None) -> np.ndarray | None:
    """The description as a unit vector of the text model, or None (text_embed says why)."""
    return text_embed(text=text).vector


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm < 1e-6:
        raise ValueError("the composed vector has no direction (the words cancel the photo out)")
    return (vector / norm).astype(np.float32)


def query_compose(
    *,
    photo: np.ndarray,
    add: Sequence[np.ndarray] = (),
    remove: Sequence[np.ndarray] = (),
    text_weight: float | None = None,
    negative_weight: float | None = None,
) -> np.ndarray:
    """A photo's vector moved by words: photo + text_weight * each added word's vector
    - negative_weight * each removed word's, then L2-normalised. Pure and deterministic
    (float64 sums in the given order); all vectors must come from one model (same dimension).

    Weights default to RECOMMENDER_COMPOSE_TEXT_WEIGHT and RECOMMENDER_COMPOSE_NEGATIVE_WEIGHT.
    Raises ValueError on vectors of different dimensions, non-finite values, or a result of
    zero length.
    """
    text_weight = settings.RECOMMENDER_COMPOSE_TEXT_WEIGHT if text_weight is None else text_weight
    negative_weight = (
        settings.RECOMMENDER_COMPOSE_NEGATIVE_WEIGHT if negative_weight is None else negative_weight
    )
    base = np.asarray(photo, dtype=np.float64).reshape(-1)
    total = base / max(float(np.linalg.norm(base)), 1e-12)
    for vectors, weight in ((add, float(text_weight)), (remove, -float(negative_weight))):
        for vector in vectors:
            word = np.asarray(vector, dtype=np.float64).reshape(-1)
            if word.shape != total.shape:
                raise ValueError(
                    f"a word vector has {word.shape[0]} dimensions and the photo's {total.shape[0]}: "
                    "embed both with the same model"
                )
            total = total + weight * word / max(float(np.linalg.norm(word)), 1e-12)
    if not np.all(np.isfinite(total)):
        raise ValueError("a vector holds values that are not finite numbers")
    return _unit(total)


def query_refine(
    *, photo: np.ndarray, photo_model_key: str, add: Sequence[str] = (), remove: Sequence[str] = ()
) -> TextVector:
    """A photo search moved by words ("in green", "with a hood"; ``remove``: "a logo" for
    "without a logo"), or the reason it cannot be.

    ``photo`` must be the region's vector under the text model (services.query_embed with
    model=text_model_name()); a vector of another model raises ValueError, so a refinement is
    recomputed on a model change rather than mixed. Words that give no vector make the whole
    refinement unavailable, with their reason: none is silently dropped.
    """
    moved: dict[str, list[np.ndarray]] = {"add": [], "remove": []}
    for side, words in (("add", add), ("remove", remove)):
        for word in words:
            found = text_embed(text=word)
            if not found.available:
                if found.code == Reason.EMPTY:
                    continue
                return found
            if found.model_key != photo_model_key:
                raise ValueError(
                    f"the photo was embedded with {photo_model_key} and the words with "
                    f"{found.model_key}: recompute the photo with the text model"
                )
            moved[side].append(found.vector)
    vector = query_compose(photo=photo, add=moved["add"], remove=moved["remove"])
    return TextVector(vector=vector, model_key=photo_model_key, text=" ".join([*add, *remove]))
