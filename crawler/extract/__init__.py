"""Reading product pages: schema.org first, then generic fallback rules, field by field.

- ``page``: the parsed page and what rules ask of it (title, buy button, language, country);
- ``structured``: JSON-LD, microdata and OpenGraph (extruct);
- ``state``: the JSON state pages embed for their scripts (chompjs);
- ``prices``: price carriers (meta, itemprop, data-*) and visible amounts, scored by position;
- ``availability``, ``brand``, ``currency``: the other fields' fallback rules;
- ``found``: what a rule found, where from and how sure (provenance), and the price vote;
- ``product``: the order the sources are tried in, field by field.
"""

from crawler.extract.found import SOURCES, Found
from crawler.extract.page import Page
from crawler.extract.product import ProductFields, product_fields_extract

__all__ = ["SOURCES", "Found", "Page", "ProductFields", "product_fields_extract"]
