"""Garment kinds: the shop's categories, aligned with the segmenter's ATR clothes labels.

The slugs are stable identifiers used in URLs, feeds and the recommender's label map;
the names are translated for display. The one vocabulary of garments: category names,
which categories a garment on a photo is searched in, and a garment's own name.
"""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# slug -> display name, in the order shoppers expect to see them.
GARMENT_KINDS: dict[str, str] = {
    "top": _("Tops"),
    "outer": _("Outerwear"),
    "pants": _("Pants"),
    "shorts": _("Shorts"),
    "skirt": _("Skirts"),
    "dress": _("Dresses"),
    "shoes": _("Shoes"),
    "bag": _("Bags"),
    "hat": _("Hats"),
    "scarf": _("Scarves"),
    "belt": _("Belts"),
    "sunglasses": _("Sunglasses"),
}


# A garment kind found on a photo -> the category slugs searched for it. The segmenter
# (recommender/labels.py maps its labels to these kinds) cannot tell a jacket from a shirt
# ("upper-clothes") or shorts from trousers ("pants").
GARMENT_CATEGORIES: dict[str, list[str]] = {
    "top": ["top", "outer"],
    "pants": ["pants", "shorts"],
    # Placed on the body without a segmenter (recommender/regions.py), which cannot tell them apart.
    "bottoms": ["pants", "shorts", "skirt"],
    "skirt": ["skirt"],
    "dress": ["dress"],
    "shoes": ["shoes"],
    "bag": ["bag"],
    "hat": ["hat"],
    "scarf": ["scarf"],
    "belt": ["belt"],
    "sunglasses": ["sunglasses"],
}


def garment_label(kind: str) -> str:
    """One garment of a kind, as a photo's garment is named ("Top"; the categories are plural)."""
    labels = {
        "top": gettext("Top"),
        "pants": gettext("Pants"),
        "bottoms": gettext("Bottoms"),
        "skirt": gettext("Skirt"),
        "dress": gettext("Dress"),
        "shoes": gettext("Shoes"),
        "bag": gettext("Bag"),
        "hat": gettext("Hat"),
        "scarf": gettext("Scarf"),
        "belt": gettext("Belt"),
        "sunglasses": gettext("Sunglasses"),
    }
    return labels.get(kind) or str(GARMENT_KINDS.get(kind, kind))
