"""The look's forms: what to dress (garments, boxes), the budget and the options; and the
swap form of a look's page. Every refusal is a sentence that says what to do next."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from find_similar.forms import box_parse
from find_similar.refine import box_clip
from find_similar.uploads import Choice, region_key, upload_choice_normalize
from shop.services import PRICE_MAX

# What a shopper may type around the number: thousands separators, spaces, the currency's sign.
_BUDGET_DECORATION = re.compile(r"[\s,_₩$€£¥원]")


class LookForm(forms.Form):
    """The "Complete the look" form of an upload. ``parts``: the upload's garments (or its main
    object) as region keys; ``boxes``: more areas, one "x0,y0,x1,y1" a line (photo pixels)."""

    budget = forms.CharField(label=gettext_lazy("Your budget"), max_length=40, required=False)
    currency = forms.ChoiceField(label=gettext_lazy("Currency"), required=False)
    parts = forms.MultipleChoiceField(
        label=gettext_lazy("Garments"), required=False, widget=forms.CheckboxSelectMultiple
    )
    boxes = forms.CharField(
        label=gettext_lazy("More areas (boxes)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "max_length": gettext_lazy("There are too many boxes. Please remove some and try again.")
        },
    )
    min_similarity = forms.IntegerField(
        label=gettext_lazy("Minimum similarity (%)"),
        required=False,
        min_value=0,
        max_value=100,
        error_messages={
            "invalid": gettext_lazy("Please enter the minimum similarity as a whole number from 0 to 100."),
            "min_value": gettext_lazy("Please enter the minimum similarity as a whole number from 0 to 100."),
            "max_value": gettext_lazy("Please enter the minimum similarity as a whole number from 0 to 100."),
        },
    )
    in_stock_only = forms.BooleanField(label=gettext_lazy("In stock only"), required=False, initial=True)
    brand = forms.ChoiceField(label=gettext_lazy("Brand"), required=False)
    allow_empty = forms.BooleanField(
        label=gettext_lazy("A garment may be left out to fit the budget"), required=False
    )

    def __init__(self, *args, upload, parts, currencies, brands, **kwargs):
        super().__init__(*args, **kwargs)
        self.upload = upload
        self.fields["parts"].choices = parts
        self.fields["currency"].choices = [(c, c) for c in currencies]
        self.fields["brand"].choices = [("", _("Any brand"))] + [(b.slug, b.name) for b in brands]

    def clean_budget(self) -> Decimal:
        text = _BUDGET_DECORATION.sub("", self.cleaned_data.get("budget") or "")
        if not text:
            raise forms.ValidationError(_("Please enter your budget, for example 150000."))
        try:
            budget = Decimal(text)
        except InvalidOperation:
            budget = None
        if budget is None or not budget.is_finite():
            raise forms.ValidationError(_("Please enter the budget as a number, for example 150000."))
        if budget <= 0:
            raise forms.ValidationError(_("Please enter a budget above zero."))
        if budget > PRICE_MAX:
            raise forms.ValidationError(
                _("That budget is larger than any price here. Please enter a smaller one.")
            )
        budget = budget.quantize(Decimal("0.01"))
        if budget <= 0:  # 0.001 is no budget either
            raise forms.ValidationError(_("Please enter a budget above zero."))
        return budget

    def clean_boxes(self) -> list[str]:
        keys = []
        self.boxes_drawn = 0
        lines = [line.strip() for line in (self.cleaned_data.get("boxes") or "").splitlines()]
        for number, line in enumerate((line for line in lines if line), start=1):
            box = box_parse(line)
            if box is None:
                raise forms.ValidationError(
                    _("Box %(number)s could not be read. Please draw it again, or write it as x0,y0,x1,y1.")
                    % {"number": number}
                )
            try:
                box = box_clip(box, width=self.upload.width, height=self.upload.height)
            except ValueError:
                raise forms.ValidationError(
                    _("Box %(number)s is too small or outside the photo. Please draw it again.")
                    % {"number": number}
                ) from None
            keys.append(region_key(upload_choice_normalize(upload=self.upload, choice=Choice(box=box))))
            self.boxes_drawn += 1
        return keys

    def clean(self):
        cleaned = super().clean()
        keys = list(dict.fromkeys([*cleaned.get("parts", []), *cleaned.get("boxes", [])]))
        if "parts" in cleaned and "boxes" in cleaned:
            limit = settings.LOOK_MAX_SLOTS
            if not keys:
                raise forms.ValidationError(
                    _("Please choose at least one garment, or draw a box around one.")
                )
            # What the shopper asked for counts, even where boxes snap to one region.
            count = len(cleaned["parts"]) + self.boxes_drawn
            if count > limit:
                raise forms.ValidationError(
                    _(
                        "A look can have at most %(limit)s garments, and this one has %(count)s. "
                        "Please remove some garments or boxes and try again."
                    )
                    % {"limit": limit, "count": count}
                )
        cleaned["keys"] = keys
        cleaned["min_similarity"] = cleaned.get("min_similarity") or 0
        return cleaned
