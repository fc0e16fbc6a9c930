"""Admin change lists that answer any query string without a server error.

The admin filters on the model's own fields straight from the query string
(``?price__gte=...``), and its date drill-down builds dates from ``?created_at__year=...``.
``price__gte=1e200000`` reached PostgreSQL as a numeric overflow, and ``created_at__year=9999``
(or a year with eleven digits) overflowed Python's dates: both were 500s. Here such values are
the admin's usual "incorrect lookup" answer (IncorrectLookupParameters: the list reloads
without the filter).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist
from django.db import models


class BoundedChangeList(ChangeList):
    def get_filters(self, request):
        try:
            filters = super().get_filters(request)
        except (OverflowError, ValueError) as exc:  # dates past year 9999, eleven-digit years
            raise IncorrectLookupParameters(exc) from exc
        for key, values in filters[2].items():  # the lookups left for the query itself
            field = _decimal_field(self.lookup_opts, key)
            if field is None:
                continue
            for part in _flat(values):
                # __in and __range take comma lists (split already for __in).
                for text in str(part).split(","):
                    if text.strip() and not _fits(text.strip(), field):
                        raise IncorrectLookupParameters(f"{key}={text!r} is out of range")
        return filters


class BoundedChangeListAdmin:
    """Mixed into every ModelAdmin of the project (before admin.ModelAdmin)."""

    def get_changelist(self, request, **kwargs):
        return BoundedChangeList


def _flat(values):
    if isinstance(values, (list, tuple)):
        for value in values:
            yield from _flat(value)
    else:
        yield values


def _decimal_field(opts, key: str) -> models.DecimalField | None:
    field = None
    for part in key.split("__"):
        try:
            field = opts.get_field(part)
        except FieldDoesNotExist:
            break  # a lookup name (gte, in, ...) or not a field at all
        if field.is_relation and field.related_model is not None:
            opts = field.related_model._meta
    return field if isinstance(field, models.DecimalField) else None


def _fits(text: str, field: models.DecimalField) -> bool:
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        return True  # not a number: the field's own conversion reports it
    limit = Decimal(10) ** (field.max_digits - field.decimal_places)
    return number.is_finite() and -limit < number < limit
