"""The attribute vocabulary: what the catalogue can say about a product's look.

One place for the names, their values and their words (English, translated to Korean), so
the store's constraints, the admin, the facets and the methods that compute them agree.
Which method computes what lives with the methods (recommender.attributes); the catalogue
only records, per attribute, the method that would compute it offline, so a page can say why
a value is missing rather than leave it out.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class AttributeSpec:
    name: str
    label: str
    values: dict[str, str]  # value -> its words, in the vocabulary's order
    # Shown as a filter on the browse page (values with counts).
    facet: bool = False


PATTERN = "pattern"
COLOUR = "colour"
HOOD = "hood"
LOGO = "logo"
SLEEVE = "sleeve"
NECKLINE = "neckline"

_YES_NO = {"yes": _("Yes"), "no": _("No")}

ATTRIBUTES: dict[str, AttributeSpec] = {
    spec.name: spec
    for spec in (
        AttributeSpec(
            COLOUR,
            _("Colour"),
            {
                "black": _("Black"),
                "white": _("White"),
                "grey": _("Grey"),
                "beige": _("Beige"),
                "brown": _("Brown"),
                "red": _("Red"),
                "orange": _("Orange"),
                "yellow": _("Yellow"),
                "green": _("Green"),
                "blue": _("Blue"),
                "navy": _("Navy"),
                "purple": _("Purple"),
                "pink": _("Pink"),
            },
            facet=True,
        ),
        AttributeSpec(
            PATTERN,
            _("Pattern"),
            {
                "plain": _("Plain"),
                "striped": _("Striped"),
                "checked": _("Checked"),
                "floral": _("Floral"),
                "dotted": _("Dotted"),
                "graphic": _("Graphic print"),
            },
            facet=True,
        ),
        AttributeSpec(HOOD, _("Hood"), dict(_YES_NO)),
        AttributeSpec(LOGO, _("Visible logo"), dict(_YES_NO)),
        AttributeSpec(
            SLEEVE,
            _("Sleeve length"),
            {"none": _("Sleeveless"), "short": _("Short sleeves"), "long": _("Long sleeves")},
        ),
        AttributeSpec(
            NECKLINE,
            _("Neckline"),
            {
                "crew": _("Crew neck"),
                "v_neck": _("V-neck"),
                "collar": _("Collar"),
                "turtleneck": _("Turtleneck"),
            },
        ),
    )
}

# What ``ProductAttribute.method`` says of an unavailable value (value ""), and the words
# pages give for it.
VLM_METHOD = "vision-language model"
UNAVAILABLE_REASONS = {VLM_METHOD: _("Not available yet: this needs the vision-language model.")}
UNAVAILABLE_DEFAULT = _("Not available yet.")

FACETS = [name for name, spec in ATTRIBUTES.items() if spec.facet]


def attribute_value_label(name: str, value: str) -> str:
    """The words for a stored value ("striped" -> "Striped"); an unknown value as stored."""
    spec = ATTRIBUTES.get(name)
    return str(spec.values.get(value, value)) if spec else value


def attribute_unavailable_reason(method: str) -> str:
    """Why an attribute has no value, in the reader's language."""
    return str(UNAVAILABLE_REASONS.get(method, UNAVAILABLE_DEFAULT))


def attribute_unavailable_counts(by_method: dict[str, int]) -> list[tuple[str, int]]:
    """How many products have no value, per reason shown (methods that share a reason add up),
    sorted: what a facet says under its values, on browse and on Find similar."""
    by_reason: dict[str, int] = {}
    for method, n in by_method.items():
        reason = attribute_unavailable_reason(method)
        by_reason[reason] = by_reason.get(reason, 0) + n
    return sorted(by_reason.items())
