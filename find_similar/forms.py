"""Forms of the Find similar pages: the upload, and the search (garment or box, filters)."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from find_similar.uploads import upload_decode
from shop.attributes import ATTRIBUTES, COLOUR, PATTERN
from shop.forms import PriceBoundField
from shop.images import DecodedImage, ImageRejected
from shop.models import Category
from shop.selectors import brands_with_products


class UploadForm(forms.Form):
    photo = forms.FileField(
        label=gettext_lazy("Photo"),
        # Keep the browser's picker on images; the server checks the bytes anyway.
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}),
        error_messages={
            "required": gettext_lazy("Please choose a photo to upload."),
            "empty": gettext_lazy("The file is empty. Please choose a photo (JPEG, PNG or WebP)."),
        },
    )

    def clean_photo(self):
        upload = self.cleaned_data["photo"]
        limit = settings.UPLOAD_MAX_BYTES
        # Refuse from the declared size before reading a huge body into memory.
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is too large (%(size)s MB). Please use a photo under %(limit)s MB.")
                % {"size": f"{upload.size / 1e6:.1f}", "limit": f"{limit / 1e6:.0f}"}
            )
        data = upload.read()
        try:
            self.decoded: DecodedImage = upload_decode(data)
        except ImageRejected as exc:
            raise forms.ValidationError(str(exc)) from exc
        self.data_bytes = data
        return upload


# One corner coordinate as the page's script writes it: a plain decimal number, at most
# BOX_COORD_DIGITS digits before the point. Anything else (inf, nan, 1e400, hex, 300 digits)
# is refused before it becomes a number, so no float or int conversion can overflow.
BOX_COORD_DIGITS = 5
_BOX_COORD = re.compile(rf"-?\d{{1,{BOX_COORD_DIGITS}}}(?:\.\d{{1,6}})?")


def box_parse(value: str) -> tuple[int, int, int, int] | None:
    """Read "x0,y0,x1,y1" (photo pixels, rounded half up); None unless exactly four plain numbers.

    Order and range are not checked here: a box dragged right-to-left or past the photo's
    edge is ordered and clipped against the photo (refine.box_clip).
    """
    parts = [part.strip() for part in value.split(",")]
    if len(parts) != 4 or not all(_BOX_COORD.fullmatch(part) for part in parts):
        return None
    x0, y0, x1, y1 = (int(Decimal(part).quantize(Decimal(1), rounding=ROUND_HALF_UP)) for part in parts)
    return x0, y0, x1, y1


# "Like this, but ...": at most this many refinements, each at most this many characters
# (a phrase such as "without a logo", not a paragraph; the text tower reads 77 tokens anyway).
REFINE_MAX = 5
REFINE_MAX_CHARS = 60


class RefinementsField(forms.Field):
    """Repeated ``refine`` phrases from the query string: control characters dropped,
    whitespace collapsed, empty and repeated phrases left out (case-insensitively)."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "too_many": gettext_lazy(
            "You can refine a search with at most %(max)s phrases. Please remove one and try again."
        ),
        "too_long": gettext_lazy(
            "Each refinement can be at most %(max)s characters long. Please use a shorter phrase."
        ),
    }

    def to_python(self, value):
        values = value if isinstance(value, list | tuple) else ([value] if value else [])
        phrases, seen = [], set()
        for raw in values:
            text = "".join(ch if ch.isprintable() else " " for ch in str(raw))
            text = " ".join(text.split())
            if text and text.casefold() not in seen:
                seen.add(text.casefold())
                phrases.append(text)
        return phrases

    def validate(self, value):
        if len(value) > REFINE_MAX:
            raise forms.ValidationError(
                self.error_messages["too_many"] % {"max": REFINE_MAX}, code="too_many"
            )
        if any(len(text) > REFINE_MAX_CHARS for text in value):
            raise forms.ValidationError(
                self.error_messages["too_long"] % {"max": REFINE_MAX_CHARS}, code="too_long"
            )


class SearchForm(forms.Form):
    """Read from the result page's query string; every field is optional.

    ``f`` marks a submitted filter form: without it the category is preselected from the garment.
    """

    garment = forms.IntegerField(required=False, min_value=0)
    box = forms.CharField(
        required=False,
        max_length=80,
        error_messages={"max_length": gettext_lazy("The crop box could not be read. Please draw it again.")},
    )
    whole = forms.BooleanField(required=False)
    f = forms.BooleanField(required=False, widget=forms.HiddenInput)
    category = forms.MultipleChoiceField(
        label=gettext_lazy("Category"), required=False, widget=forms.CheckboxSelectMultiple
    )
    price_min = PriceBoundField(label=gettext_lazy("Min price"), required=False)
    price_max = PriceBoundField(label=gettext_lazy("Max price"), required=False)
    # The shopper's currency: the price range applies within it (amounts are not converted).
    currency = forms.ChoiceField(label=gettext_lazy("Currency"), required=False)
    brand = forms.ChoiceField(label=gettext_lazy("Brand"), required=False)
    n = forms.IntegerField(required=False, min_value=1)
    refine = RefinementsField(required=False)
    # The colour and pattern facets (shop.attributes); a value outside the vocabulary is
    # ignored, as a stale or edited link should still give results.
    colour = forms.CharField(required=False, widget=forms.HiddenInput)
    pattern = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, categories=None, brands=None, currencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(c, c) for c in currencies]
        categories = categories if categories is not None else Category.objects.all()
        brands = brands if brands is not None else brands_with_products()
        self.fields["category"].choices = [(c.slug, c.display_name) for c in categories]
        self.fields["brand"].choices = [("", _("Any brand"))] + [(b.slug, b.name) for b in brands]

    def _facet_value(self, name: str) -> str:
        value = (self.cleaned_data.get(name) or "").strip()
        return value if value in ATTRIBUTES[name].values else ""

    def clean_colour(self):
        return self._facet_value(COLOUR)

    def clean_pattern(self):
        return self._facet_value(PATTERN)

    def clean_box(self):
        value = self.cleaned_data.get("box") or ""
        if not value:
            return None
        box = box_parse(value)
        if box is None:
            raise forms.ValidationError(_("The crop box could not be read. Please draw it again."))
        return box

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("price_min"), cleaned.get("price_max")
        if low is not None and high is not None and low > high:
            # Swapped bounds are an easy slip: search the range the shopper meant.
            cleaned["price_min"], cleaned["price_max"] = high, low
        step = settings.FIND_SIMILAR_RESULTS_STEP
        n = cleaned.get("n") or step
        cleaned["n"] = min(max(step, n), settings.FIND_SIMILAR_RESULTS_MAX)
        return cleaned
