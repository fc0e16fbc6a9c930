"""Garment kinds: the shop's categories, aligned with the segmenter's ATR clothes labels.

The slugs are stable identifiers used in URLs, feeds and the recommender's label map;
the names are translated for display.
"""

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
