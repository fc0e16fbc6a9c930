"""Template tags the recommender lends to other apps' pages: the shop's product page loads
``product_alternatives`` from its template, so the shop's code never imports the recommender."""

from __future__ import annotations

from django import template

from recommender.selectors import AlternativesFilters, product_alternatives_context

register = template.Library()


@register.inclusion_tag("recommender/_alternatives.html", takes_context=True)
def product_alternatives(context, product) -> dict:
    """The "Similar alternatives" section of ``product``'s page, filtered by the query string."""
    filters = AlternativesFilters.from_query(context.request.GET)
    return {"product": product, **product_alternatives_context(product=product, filters=filters)}
