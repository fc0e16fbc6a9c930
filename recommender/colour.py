"""Colour statistics: per-channel RGB histograms of a garment, ignoring the white
background, and a distance between them for the colour term of the ranking."""

from __future__ import annotations

import numpy as np
from PIL import Image

# Pixels this close to pure white are background painted by garment_on_white (or the
# white studio backdrop of a catalogue shot), not garment colour.
WHITE_THRESHOLD = 245


def garment_pixels(image: Image.Image, mask: np.ndarray | None = None) -> np.ndarray:
    """The garment's RGB pixels as an (n, 3) uint8 array: inside the mask when given,
    otherwise every pixel that is not near-white. Falls back to all pixels if that
    leaves none (a white garment on white)."""
    pixels = np.asarray(image.convert("RGB"))
    if mask is not None:
        selected = pixels[np.asarray(mask, dtype=bool)]
    else:
        selected = pixels[~(pixels >= WHITE_THRESHOLD).all(axis=-1)]
    if len(selected) == 0:
        selected = pixels.reshape(-1, 3)
    return selected.reshape(-1, 3)


def rgb_histogram(image: Image.Image, mask: np.ndarray | None = None, bins: int = 32) -> np.ndarray:
    """A (3, bins) float32 array: the R, G and B histograms of the garment, each row
    summing to 1."""
    return _histogram(garment_pixels(image, mask), bins)


def rgb_stats(image: Image.Image, mask: np.ndarray | None = None) -> dict:
    """Mean and standard deviation per channel (0-255), kept with the histogram for plots."""
    return _stats(garment_pixels(image, mask))


def rgb_histogram_and_stats(image: Image.Image, bins: int = 32) -> tuple[np.ndarray, dict]:
    """rgb_histogram and rgb_stats of the whole image (the same numbers), picking out the
    garment's pixels once instead of twice (an embedding batch needs both)."""
    pixels = garment_pixels(image)
    return _histogram(pixels, bins), _stats(pixels)


def _histogram(pixels: np.ndarray, bins: int) -> np.ndarray:
    hist = np.stack(
        [np.bincount((pixels[:, c].astype(np.int64) * bins) // 256, minlength=bins) for c in range(3)]
    ).astype(np.float32)
    return hist / hist.sum(axis=1, keepdims=True)


def _stats(pixels: np.ndarray) -> dict:
    pixels = pixels.astype(np.float32)
    return {
        "mean": [round(float(v), 2) for v in pixels.mean(axis=0)],
        "std": [round(float(v), 2) for v in pixels.std(axis=0)],
    }


# Histograms are blurred across neighbouring bins before comparing: two photos of the
# same red under slightly different light land in adjacent bins and must still match.
SMOOTHING_BINS = 1.5  # Gaussian sigma, in bins (of 32)


def _smoothing_matrix(bins: int) -> np.ndarray:
    """``row @ M`` blurs a histogram row with a Gaussian of SMOOTHING_BINS over 7 bins, zero
    beyond the ends (the same numbers as convolving the zero-padded row), so a whole stack
    of histograms is smoothed in one product."""
    offsets = np.arange(-3, 4)
    kernel = np.exp(-(offsets**2) / (2 * SMOOTHING_BINS**2))
    kernel /= kernel.sum()
    matrix = np.zeros((bins, bins))
    for i in range(bins):
        for offset, weight in zip(offsets, kernel, strict=True):
            if 0 <= i + offset < bins:
                matrix[i + offset, i] = weight
    return matrix


_SMOOTHING = {32: _smoothing_matrix(32)}


def _smooth(hist: np.ndarray) -> np.ndarray:
    """Smooth the last axis of (..., bins) histograms; each row then sums to 1."""
    bins = hist.shape[-1]
    matrix = _SMOOTHING.get(bins)
    if matrix is None:
        matrix = _SMOOTHING[bins] = _smoothing_matrix(bins)
    smoothed = np.clip(hist @ matrix, 0, None)
    return smoothed / np.maximum(smoothed.sum(axis=-1, keepdims=True), 1e-12)


def colour_feature(hist: np.ndarray) -> np.ndarray:
    """The (smoothed) histogram as a unit vector of square roots of the frequencies: the
    dot product of two of these is the mean Bhattacharyya coefficient of the channels,
    so 1 - dot is a colour distance in [0, 1] like the embedding's cosine distance."""
    return colour_features(np.asarray(hist).reshape(1, 3, -1))[0]


def colour_features(hists) -> np.ndarray:
    """colour_feature of each of n histograms at once: an (n, 3 * bins) float32 array."""
    hists = np.asarray(hists, dtype=np.float32)
    hists = hists.reshape(len(hists), 3, -1)
    features = np.sqrt(_smooth(hists.astype(np.float64))).reshape(len(hists), -1).astype(np.float32)
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return features / np.where(norms > 0, norms, 1)


def colour_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine distance between two histograms' colour features (0 = identical colours)."""
    return float(colour_distances(a, [b])[0])


def colour_distances(query: np.ndarray, others) -> np.ndarray:
    """colour_distance from ``query`` to each of ``others`` (n histograms), in one pass."""
    if len(others) == 0:
        return np.zeros(0, dtype=np.float32)
    features = colour_features(
        [np.asarray(query).reshape(3, -1), *(np.asarray(o).reshape(3, -1) for o in others)]
    )
    return np.maximum(0.0, 1.0 - features[1:] @ features[0])
