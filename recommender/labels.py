"""The segmenter's labels and how they map to garment kinds and shop categories.

The default segmenter (mattmdjaga/segformer_b2_clothes) predicts the 18 ATR labels
below; body parts and hair are not garments and are never offered as queries.
"""

from __future__ import annotations

# ATR label id -> name, as in the model card's config.json (id2label).
ATR_LABELS: dict[int, str] = {
    0: "Background",
    1: "Hat",
    2: "Hair",
    3: "Sunglasses",
    4: "Upper-clothes",
    5: "Skirt",
    6: "Pants",
    7: "Dress",
    8: "Belt",
    9: "Left-shoe",
    10: "Right-shoe",
    11: "Face",
    12: "Left-leg",
    13: "Right-leg",
    14: "Left-arm",
    15: "Right-arm",
    16: "Bag",
    17: "Scarf",
}

# ATR label name (lower case) -> garment kind. Left and right shoes are one garment.
LABEL_TO_GARMENT: dict[str, str] = {
    "hat": "hat",
    "sunglasses": "sunglasses",
    "upper-clothes": "top",
    "skirt": "skirt",
    "pants": "pants",
    "dress": "dress",
    "belt": "belt",
    "left-shoe": "shoes",
    "right-shoe": "shoes",
    "bag": "bag",
    "scarf": "scarf",
}

# Garment kinds in the order a shopper expects to see them on a photo (head to toe).
GARMENT_KINDS: tuple[str, ...] = (
    "hat",
    "sunglasses",
    "scarf",
    "top",
    "dress",
    "belt",
    "skirt",
    "pants",
    "bottoms",
    "bag",
    "shoes",
)


def garment_for_label(label: str) -> str | None:
    """The garment kind for a segmenter label name, or None for background/body parts."""
    return LABEL_TO_GARMENT.get(label.strip().lower().replace("_", "-").replace(" ", "-"))
