"""Refine a photo search in words: "like this, but in green", "with a hood", "without a logo".

Each refinement is a short phrase from the result page's query string (SearchForm.refine).
With the vision-language model on, the region's photo vector under that model is moved by
the words (recommender.query.query_refine, weights in settings) and that model's index is
searched. Offline, colour words still work: they keep the products whose colour attribute
(shop.ProductAttribute, computed from the photo's pixels) is that colour; every other phrase
is shown as unavailable with its reason, never silently dropped.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
from django.core.cache import cache
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from find_similar.models import QueryImage, QueryRegion
from recommender.query import (
    EmbedderUnavailable,
    ModelUnavailable,
    active_model_key,
    query_refine,
    region_embed,
    text_model_name,
)
from shop.attributes import ATTRIBUTES, COLOUR

logger = logging.getLogger(__name__)

# Suggestions shown under the box: the phrase searched (English, which the text tower reads)
# and its words on the page, in the shopper's language.
SUGGESTIONS = {
    "in green": gettext_lazy("in green"),
    "with a hood": gettext_lazy("with a hood"),
    "without a logo": gettext_lazy("without a logo"),
    "shorter": gettext_lazy("shorter"),
}
# Everyday Korean colour words besides the catalogue's own labels (블랙, 그린, ...; their
# translations in locale/ko), so "초록색" and "그린" both mean green.
_KO_COLOUR_WORDS = {
    "black": ("검정", "검은", "검정색"),
    "white": ("흰", "하얀", "흰색", "하양"),
    "grey": ("회색",),
    "brown": ("갈색",),
    "red": ("빨강", "빨간", "빨간색", "빨강색"),
    "orange": ("주황", "주황색"),
    "yellow": ("노랑", "노란", "노란색", "노랑색"),
    "green": ("초록", "초록색", "녹색"),
    "blue": ("파랑", "파란", "파란색", "파랑색"),
    "navy": ("남색",),
    "purple": ("보라", "보라색"),
    "pink": ("분홍", "분홍색"),
}
_EN_COLOUR_WORDS = {"gray": "grey"}
# "in green", "green", "in a green colour", "green one"; Korean "초록색으로", "그린 색상".
_FILLER = re.compile(r"^(?:in|a|an|the|colou?r|one|please|으로|로|색상|색깔|컬러)$")


@dataclass
class Refinement:
    text: str  # as the shopper typed it (cleaned)
    remove: bool = False  # "without a logo": move away from "a logo"
    phrase: str = ""  # the words embedded ("a logo" for "without a logo")
    colour: str | None = None  # a catalogue colour value when the phrase is a colour word
    applied: bool = False
    reason: str = ""  # why it was not applied, for the shopper


def colour_vocabulary() -> dict[str, str]:
    """Colour words (English and Korean, lower case) -> the catalogue's colour value."""
    words = dict(_EN_COLOUR_WORDS)
    with translation.override("ko"):
        for value, label in ATTRIBUTES[COLOUR].values.items():
            words[value] = value
            words[str(label).lower()] = value
    with translation.override("en"):
        for value, label in ATTRIBUTES[COLOUR].values.items():
            words[str(label).lower()] = value
    for value, extra in _KO_COLOUR_WORDS.items():
        for word in extra:
            words[word] = value
    return words


def _colour_of(phrase: str, vocabulary: dict[str, str]) -> str | None:
    """The colour a phrase asks for when it is only a colour word with fillers ("in green")."""
    tokens = re.findall(r"\w+", phrase.lower())
    colours = set()
    for token in tokens:
        if token in vocabulary:
            colours.add(vocabulary[token])
            continue
        # Korean particles stick to the word: "초록색으로", "그린으로".
        stem = re.sub("(?:으로|로|색으로|색)$", "", token)
        if stem in vocabulary:
            colours.add(vocabulary[stem])
        elif not _FILLER.match(token):
            return None
    return colours.pop() if len(colours) == 1 else None


def refinements_read(texts: list[str]) -> list[Refinement]:
    """The form's cleaned phrases as refinements (side, phrase, colour), not yet applied."""
    vocabulary = colour_vocabulary()
    read = []
    for text in texts:
        lowered = text.lower()
        match = re.match(r"^(?:without|no|not)\s+(.+)$", lowered) or re.match(
            r"^(.+?)\s*(?:없이|없는)$", lowered
        )
        remove = match is not None
        phrase = match.group(1) if match else text
        colour = None if remove else _colour_of(phrase, vocabulary)
        read.append(Refinement(text=text, remove=remove, phrase=phrase, colour=colour))
    return read


def _unavailable_reason() -> str:
    return _(
        "Not applied: this needs the vision-language model, which is not installed on this shop. "
        "Colour words such as “in green” still work."
    )


# Seconds a region's vector under the text model is kept: refinements typed one after another
# on the same region embed it once.
REGION_TEXT_VECTOR_SECONDS = 60 * 60


def region_text_vector(*, upload: QueryImage, region: QueryRegion, mask) -> tuple[np.ndarray, str]:
    """The region's photo vector under the text model, cached per region and model key.

    The region's own vector (region.vector) is the image model's and is never mixed with
    words; a cached vector from an older version of the text model is not reused either: the
    key names the model's current version, and the stored key is checked again.
    """
    from find_similar.uploads import upload_image

    name = text_model_name()
    key = active_model_key(name)
    cache_key = f"fs-region-text:v1:{region.pk}:{key}"
    cached = cache.get(cache_key)
    if cached is not None and cached.get("model_key") == key:
        return np.asarray(cached["vector"], dtype=np.float32), key
    if region.model_key == key and region.vector is not None:
        # The region was embedded with the text model itself (it is the image model too).
        vector = np.asarray(getattr(region.vector, "to_list", lambda: region.vector)(), dtype=np.float32)
    else:
        vector, key = region_embed(image=upload_image(upload), mask=mask, model=name)
    cache.set(
        cache_key, {"model_key": key, "vector": np.asarray(vector).tolist()}, REGION_TEXT_VECTOR_SECONDS
    )
    return np.asarray(vector, dtype=np.float32), key


@dataclass
class Refined:
    refinements: list[Refinement]
    colours: list[str]  # colour filter for the offline path
    query: tuple[np.ndarray, str] | None = None  # (vector, model key) when composed with words


def refinements_apply(
    *, upload: QueryImage, region: QueryRegion, mask, refinements: list[Refinement]
) -> Refined:
    """How a search is moved by ``refinements``: a composed vector under the text model when
    it is on and reads the words, else a colour filter from the colour words, with every
    other refinement marked unavailable with its reason."""
    if not refinements:
        return Refined(refinements=[], colours=[])
    try:
        name = text_model_name()
    except EmbedderUnavailable as exc:
        logger.error("Refining in words by the text model is off: %s", exc)
        name = None
    reason = _unavailable_reason()
    if name is not None:
        try:
            photo, key = region_text_vector(upload=upload, region=region, mask=mask)
            found = query_refine(
                photo=photo,
                photo_model_key=key,
                add=[r.phrase for r in refinements if not r.remove],
                remove=[r.phrase for r in refinements if r.remove],
            )
        except (ModelUnavailable, EmbedderUnavailable) as exc:
            logger.error("Refining in words is unavailable: %s", exc)
            found = None
        except ValueError as exc:  # the words cancel the photo out
            logger.info("Refinement not applied: %s", exc)
            found = None
        if found is not None and found.available:
            for item in refinements:
                item.applied = True
            return Refined(refinements=refinements, colours=[], query=(found.vector, found.model_key))
        if found is not None and found.reason:
            reason = found.reason
    colours = []
    for item in refinements:
        if item.colour:
            item.applied = True
            colours.append(item.colour)
        else:
            item.reason = reason
    # Two different colours ("red", "in navy") mean either: the filter keeps both.
    return Refined(refinements=refinements, colours=sorted(set(colours)))
