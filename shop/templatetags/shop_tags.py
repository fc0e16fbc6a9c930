"""Template helpers for the shop: prices per currency and page links that keep the filters."""

from __future__ import annotations

from decimal import Decimal

from babel.core import UnknownLocaleError
from babel.numbers import format_currency, get_currency_name, get_currency_symbol
from django import template
from django.utils import translation

from shop.links import url_is_http

register = template.Library()


@register.filter
def http_url(value) -> str:
    """The URL when it is an absolute http(s) one, else "": for ``href`` of crawled and imported
    links, so a stored javascript: URL is never rendered as a link (use with ``{% if %}``)."""
    return value if url_is_http(value) else ""


@register.filter
def money(amount, currency: str = "KRW") -> str:
    """A price the way the shopper's language writes it, with the currency's own decimals.

    Babel carries the CLDR data: KRW has no minor unit (₩12,900), USD has two ($26.00);
    Korean pages write foreign dollars as US$26.00 so they are not mistaken for won.
    """
    if amount in (None, ""):
        return ""
    locale = translation.to_locale(translation.get_language() or "en")
    try:
        return format_currency(Decimal(amount), currency or "KRW", locale=locale)
    except (UnknownLocaleError, ValueError):
        return f"{amount} {currency}"


@register.filter
def currency_symbol(currency: str) -> str:
    """The currency's sign as the shopper's language writes it (₩; $ or US$), for labels."""
    locale = translation.to_locale(translation.get_language() or "en")
    try:
        return get_currency_symbol(currency or "KRW", locale=locale)
    except (UnknownLocaleError, ValueError):
        return currency


@register.filter
def currency_name(currency: str) -> str:
    """The currency's name in the shopper's language (South Korean Won; 대한민국 원), for sentences."""
    locale = translation.to_locale(translation.get_language() or "en")
    try:
        return get_currency_name(currency or "KRW", locale=locale)
    except (UnknownLocaleError, ValueError):
        return currency


@register.simple_tag(takes_context=True)
def page_url(context, number: int) -> str:
    """The current URL's query string with another page number (filters and sort kept)."""
    query = context["request"].GET.copy()
    query["page"] = number
    return "?" + query.urlencode()
