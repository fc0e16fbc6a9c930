from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext_lazy as _

from shop.attributes import ATTRIBUTES, COLOUR, PATTERN
from shop.garments import GARMENT_KINDS
from shop.services import PRICE_MAX


def price_from_query(value) -> Decimal | None:
    """A price bound read from a query string (``?max_price=``), or None when it is not one.

    Finite and not negative, else None (the filter is ignored, as for a typo). A bound above
    PRICE_MAX, the most a price column holds, means the same as PRICE_MAX, so it is clamped:
    ``1e200000`` would otherwise reach PostgreSQL and overflow its numeric type. Two decimals,
    like the prices it is compared with (``1e-200000`` overflows too).
    """
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number < 0:
        return None
    return min(number, PRICE_MAX).quantize(Decimal("0.01"))


class PriceBoundField(forms.DecimalField):
    """A price filter's bound: a number of 0 or more (else the field's error). Above PRICE_MAX it
    means "no bound" and is clamped, so no value reaches the database out of range."""

    def __init__(self, **kwargs):
        super().__init__(min_value=Decimal(0), **kwargs)

    def to_python(self, value):
        number = super().to_python(value)  # "", None: None; not a number: "invalid"
        if number is None or not number.is_finite() or number < 0:
            return number  # validate() reports NaN and infinities, the min_value check negatives
        return min(number, PRICE_MAX).quantize(Decimal("0.01"))


class ProductFilterForm(forms.Form):
    """The browse page's query string. Invalid values are dropped, never a server error."""

    # "" is the default order: best match first when searching, newest first otherwise.
    SORT_CHOICES = [
        ("newest", _("Newest")),
        ("price_asc", _("Price: low to high")),
        ("price_desc", _("Price: high to low")),
    ]

    # 200: room for a description (shop/search.py); longer is refused with the form's notice.
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    category = forms.ChoiceField(label=_("Category"), required=False)
    brand = forms.ChoiceField(label=_("Brand"), required=False)
    price_min = PriceBoundField(label=_("Minimum price"), required=False)
    price_max = PriceBoundField(label=_("Maximum price"), required=False)
    # The shopper's currency: price bounds and price sorts apply within it (no conversion).
    currency = forms.ChoiceField(label=_("Currency"), required=False)
    in_stock = forms.BooleanField(label=_("In stock only"), required=False)
    # Attribute facets (shop.attributes): links with counts on the page, hidden fields here.
    colour = forms.ChoiceField(
        label=ATTRIBUTES[COLOUR].label, required=False, choices=[("", ""), *ATTRIBUTES[COLOUR].values.items()]
    )
    pattern = forms.ChoiceField(
        label=ATTRIBUTES[PATTERN].label,
        required=False,
        choices=[("", ""), *ATTRIBUTES[PATTERN].values.items()],
    )
    sort = forms.ChoiceField(label=_("Sort by"), required=False)

    def __init__(self, *args, brands=(), currencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.currencies = list(currencies)
        self.fields["currency"].choices = [(c, c) for c in self.currencies]
        self.fields["category"].choices = [("", _("All categories")), *GARMENT_KINDS.items()]
        self.fields["brand"].choices = [("", _("All brands")), *((b.slug, b.name) for b in brands)]
        searching = bool(str(self.data.get("q", "")).strip())
        default = ("", _("Best match")) if searching else ("", _("Newest"))
        self.fields["sort"].choices = [
            default,
            *(c for c in self.SORT_CHOICES if searching or c[0] != "newest"),
        ]

    def clean_q(self) -> str:
        # Control characters cannot be typed into the box: a query of only those is no query.
        text = "".join(ch if ch.isprintable() else " " for ch in self.cleaned_data.get("q") or "")
        return " ".join(text.split())

    def clean(self):
        data = super().clean()
        low, high = data.get("price_min"), data.get("price_max")
        if low is not None and high is not None and low > high:
            # Someone typed the range the wrong way round; they meant the same range.
            data["price_min"], data["price_max"] = high, low
        return data

    def filters(self) -> dict:
        """The valid values only: a bad field is ignored (and shown as an error), the rest apply."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        filters = {name: cleaned.get(name) for name in self.fields if name not in self.errors}
        # No (valid) choice: the catalogue's most common currency.
        filters["currency"] = filters.get("currency") or (self.currencies[0] if self.currencies else None)
        return filters
