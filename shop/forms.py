from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from shop.garments import GARMENT_KINDS


class ProductFilterForm(forms.Form):
    """The browse page's query string. Invalid values are dropped, never a server error."""

    # "" is the default order: best match first when searching, newest first otherwise.
    SORT_CHOICES = [
        ("newest", _("Newest")),
        ("price_asc", _("Price: low to high")),
        ("price_desc", _("Price: high to low")),
    ]

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    category = forms.ChoiceField(label=_("Category"), required=False)
    brand = forms.ChoiceField(label=_("Brand"), required=False)
    price_min = forms.DecimalField(
        label=_("Minimum price"), required=False, min_value=0, max_digits=12, decimal_places=2
    )
    price_max = forms.DecimalField(
        label=_("Maximum price"), required=False, min_value=0, max_digits=12, decimal_places=2
    )
    # The shopper's currency: price bounds and price sorts apply within it (no conversion).
    currency = forms.ChoiceField(label=_("Currency"), required=False)
    in_stock = forms.BooleanField(label=_("In stock only"), required=False)
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
