"""Product attributes that need no model weights: the garment's colour name, and stripes or
checks read from the image's spectrum.

Both run on the crop the catalogue is embedded from (preprocess.garment_on_white): the
garment cut out on white when catalogue segmentation is on, else the whole shot padded to a
square on white. The shipped photos are mostly *not* studio shots (garments on beds, floors
and carpets), so "ignore the white" alone leaves the background in: both methods look at the
middle of the picture, where the garment is; the colour is white-balanced on the photo's
brightest patch first. Attributes that need the vision-language model (hood, logo, sleeve, neckline, and
floral / dotted / graphic prints) are recorded as unavailable with that reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from recommender.colour import WHITE_THRESHOLD
from shop.attributes import ATTRIBUTES, COLOUR, PATTERN, VLM_METHOD

# Method names stored with each value (ProductAttribute.method); a new version of a method
# gets a new name, so stored values say what made them.
COLOUR_METHOD = "colour-names-v1"
PATTERN_METHOD = "spectrum-v1"


@dataclass(frozen=True)
class AttributeGuess:
    name: str
    value: str  # "" = unavailable
    score: float | None
    method: str


# --- Where the garment is ---------------------------------------------------------------------

# The middle of the picture, as a share of each side of the photo: the garment fills it in
# nearly every shipped photo (on hangers, folded, laid flat), while the backdrop fills the
# border. (Also leaving out the border's common colours as a backdrop model was tried while
# tuning, and named fewer colours right on the labelled set; it was dropped.)
CENTRE_SHARE = 0.5
# Working size of the picture's longer side: enough for the colour and for stripes a few
# pixels wide, cheap to transform.
WORK_SIDE = 256


def _photo_box(pixels: np.ndarray) -> tuple[int, int, int, int]:
    """The bounding box of what is not near-white: the photo inside garment_on_white's padding."""
    content = ~(pixels >= WHITE_THRESHOLD).all(axis=-1)
    if not content.any():
        return 0, 0, pixels.shape[1], pixels.shape[0]
    ys, xs = np.nonzero(content)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _work_pixels(image: Image.Image) -> np.ndarray:
    rgb = image.convert("RGB")
    if max(rgb.size) > WORK_SIDE:
        rgb = rgb.copy()
        rgb.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BILINEAR)
    return np.asarray(rgb)


def photo_middle(image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """(the photo inside the white padding, its middle) as (h, w, 3) uint8 arrays."""
    pixels = _work_pixels(image)
    x0, y0, x1, y1 = _photo_box(pixels)
    photo = pixels[y0:y1, x0:x1]
    h, w = photo.shape[:2]
    my, mx = round(h * (1 - CENTRE_SHARE) / 2), round(w * (1 - CENTRE_SHARE) / 2)
    return photo, photo[my : h - my, mx : max(w - mx, mx + 1)][: max(h - 2 * my, 1)]


def srgb_to_lab(rgb) -> np.ndarray:
    """CIE L*a*b* (D65) of sRGB values (..., 3) in 0-255."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    xyz = c @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1
    )


# --- Colour name ------------------------------------------------------------------------------

# Reference colours (sRGB) of each name: the nearest reference in CIE Lab names a pixel. A few
# per name cover its light and dark shades (olive and mint are greens, light blue is blue).
COLOUR_REFERENCES: dict[str, list[tuple[int, int, int]]] = {
    "black": [(15, 15, 18), (40, 40, 44)],
    "white": [(248, 248, 248), (228, 228, 222)],
    "grey": [(90, 90, 92), (128, 128, 130), (175, 175, 175)],
    "beige": [(222, 205, 175), (200, 180, 150)],
    "brown": [(100, 65, 40), (140, 95, 60)],
    "red": [(200, 30, 40), (150, 20, 35), (220, 70, 60)],
    "orange": [(230, 120, 30), (190, 90, 50)],
    "yellow": [(240, 210, 40), (210, 165, 40)],
    "green": [(40, 150, 60), (100, 110, 60), (120, 200, 170)],
    "blue": [(40, 90, 200), (120, 160, 220), (60, 110, 150)],
    "navy": [(25, 32, 70), (45, 55, 95)],
    "purple": [(120, 50, 140), (150, 90, 170)],
    "pink": [(240, 160, 175), (220, 60, 130)],
}
ACHROMATIC = ("black", "white", "grey")
_NAMES = np.array([name for name, refs in COLOUR_REFERENCES.items() for _ in refs])
_REFERENCE_LAB = srgb_to_lab(np.array([ref for refs in COLOUR_REFERENCES.values() for ref in refs]))
assert set(COLOUR_REFERENCES) == set(ATTRIBUTES[COLOUR].values)

# The tuning below was chosen on the labelled set (bench/data/attribute_labels.csv; the
# numbers are bench/attributes.py's), so expect less on other photos.
# White balance: each channel is scaled so this percentile of the photo becomes white (a
# white shirt in a dim room is grey otherwise): 81 of 148 colours right against 72 without
# (bench/attributes.py; white's recall 0.53 against 0.18).
WHITE_PATCH_PERCENTILE = 97
# The bright patch counts as white (a tinted light, not a coloured garment) when its channels
# differ by at most this share of the brightest, and no channel is raised more than MAX_GAIN
# times (a navy sweater filling the frame must not turn blue).
WHITE_PATCH_MAX_TINT = 0.25
MAX_GAIN = 1.3
# Hue differences count this many times a lightness difference: shades and shadows change
# lightness more than hue.
CHROMA_WEIGHT = 2.0
# When at least this share of the garment's pixels have a colour (not black, white or grey),
# the most common colour names it: shadows and highlights are grey, not the garment.
CHROMATIC_SHARE = 0.25
# A "black" garment whose dark pixels lean blue (median b* below this) is navy.
NAVY_MAX_B = -3.0


def white_balance_gains(photo: np.ndarray) -> np.ndarray:
    """Per-channel gains that make the photo's bright patch white, at most MAX_GAIN each. A
    bright patch that is itself a colour (a red shirt filling the frame) is no white to
    balance on: then only brightness is corrected."""
    white = np.maximum(np.percentile(photo.reshape(-1, 3), WHITE_PATCH_PERCENTILE, axis=0), 1.0)
    if (white.max() - white.min()) / white.max() > WHITE_PATCH_MAX_TINT:
        white = np.full(3, white.max())
    return np.minimum(255.0 / white, MAX_GAIN)


def colour_names(pixels) -> np.ndarray:
    """The colour name of each of (n, 3) sRGB pixels."""
    lab = srgb_to_lab(np.asarray(pixels).reshape(-1, 3))
    weights = np.array([1.0, CHROMA_WEIGHT, CHROMA_WEIGHT])
    distances = (((lab[:, None, :] - _REFERENCE_LAB[None, :, :]) * weights) ** 2).sum(axis=-1)
    return _NAMES[distances.argmin(axis=1)]


def colour_name(image: Image.Image, *, white_balance: bool = True) -> AttributeGuess:
    """The garment's dominant colour name; the score is the share of its pixels so named.
    (``white_balance`` off is for measuring what it adds.)"""
    photo, middle = photo_middle(image)
    gains = white_balance_gains(photo) if white_balance else np.ones(3)
    pixels = np.clip(middle.reshape(-1, 3) * gains, 0, 255)
    names = colour_names(pixels)
    chromatic = ~np.isin(names, ACHROMATIC)
    pool = names[chromatic] if chromatic.mean() >= CHROMATIC_SHARE else names[~chromatic]
    values, counts = np.unique(pool, return_counts=True)
    name = str(values[counts.argmax()])
    score = counts.max() / len(names)
    if name == "black":
        dark = srgb_to_lab(pixels[names == "black"])
        if np.median(dark[:, 2]) < NAVY_MAX_B:
            name = "navy"
    return AttributeGuess(COLOUR, name, round(float(score), 3), COLOUR_METHOD)


# --- Pattern from the spectrum ----------------------------------------------------------------

# The middle of the garment is resampled to this square before the transform.
SPECTRUM_SIDE = 128
# Frequencies (cycles across the square) that can be stripes: below the lower bound is the
# garment's shape and shading, above the upper one the weave and JPEG noise.
SPECTRUM_BAND = (4, 40)
ANGLE_BINS = 36  # 5 degrees each, over 0-180


@dataclass(frozen=True)
class SpectrumFeatures:
    peak_ratio: float  # strongest orientation's energy / the median orientation's
    second_ratio: float  # the strongest orientation roughly at right angles to it / the median
    angle: float  # degrees, of the strongest orientation
    contrast: float  # standard deviation of the grey middle (0-255)


def spectrum_features(image: Image.Image) -> SpectrumFeatures:
    _, middle = photo_middle(image)
    grey = Image.fromarray(middle).convert("L").resize((SPECTRUM_SIDE, SPECTRUM_SIDE))
    g = np.asarray(grey, dtype=np.float64)
    contrast = float(g.std())
    g = g - g.mean()
    window = np.outer(np.hanning(SPECTRUM_SIDE), np.hanning(SPECTRUM_SIDE))
    power = np.abs(np.fft.fftshift(np.fft.fft2(g * window))) ** 2
    centre = SPECTRUM_SIDE // 2
    yy, xx = np.mgrid[:SPECTRUM_SIDE, :SPECTRUM_SIDE] - centre
    radius = np.hypot(xx, yy)
    band = (radius >= SPECTRUM_BAND[0]) & (radius <= SPECTRUM_BAND[1])
    angles = (np.degrees(np.arctan2(yy, xx)) % 180)[band]
    bins = np.minimum((angles / (180 / ANGLE_BINS)).astype(int), ANGLE_BINS - 1)
    # The strongest frequency per orientation: stripes put a sharp peak there, texture spreads.
    energy = np.zeros(ANGLE_BINS)
    np.maximum.at(energy, bins, power[band])
    median = float(np.median(energy)) or 1.0
    top = int(energy.argmax())
    across = [(top + ANGLE_BINS // 2 + d) % ANGLE_BINS for d in (-2, -1, 0, 1, 2)]
    return SpectrumFeatures(
        peak_ratio=float(energy[top] / median),
        second_ratio=float(energy[across].max() / median),
        angle=top * 180 / ANGLE_BINS,
        contrast=contrast,
    )


# Thresholds on the features above. Measured on the labelled set (bench/attributes.py): at
# these, "striped" was right 4 times in 4 (of 10 striped garments) and "checked" never fired
# (14 checked garments); at a stripe ratio of 100, 7 of 15 "striped" were right (the other
# 8: six plain garments, two prints) and 3 of 3 "checked" (of 14). Too little to show
# shoppers: the spectrum's pattern is off unless RECOMMENDER_PATTERN_FROM_SPECTRUM is set,
# and pattern is otherwise left to the vision-language model.
STRIPE_MIN_RATIO = 500.0
CHECK_MIN_SECOND_RATIO = 10.0


def pattern_from_spectrum(image: Image.Image) -> AttributeGuess:
    """Striped or checked when the spectrum has a strong periodic peak (two at right angles:
    checked); otherwise unavailable, as plain and prints need the vision-language model."""
    features = spectrum_features(image)
    if features.peak_ratio >= STRIPE_MIN_RATIO:
        value = "checked" if features.second_ratio >= CHECK_MIN_SECOND_RATIO else "striped"
        score = min(1.0, features.peak_ratio / (10 * STRIPE_MIN_RATIO))
        return AttributeGuess(PATTERN, value, round(score, 3), PATTERN_METHOD)
    return AttributeGuess(PATTERN, "", None, VLM_METHOD)


def attributes_compute(image: Image.Image, *, pattern_from_spectrum_on: bool = False) -> list[AttributeGuess]:
    """Every attribute of the vocabulary for one crop: what runs offline is computed, the rest
    is unavailable, naming the vision-language model that would compute it."""
    guesses = {COLOUR: colour_name(image)}
    if pattern_from_spectrum_on:
        guesses[PATTERN] = pattern_from_spectrum(image)
    return [guesses.get(name) or AttributeGuess(name, "", None, VLM_METHOD) for name in ATTRIBUTES]
