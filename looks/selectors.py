"""Reads for looks: what on a photo can be dressed, each garment's candidates (the
recommender's own kNN on the garment's stored vector), and a look as it stands today."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.utils.translation import gettext as _

from find_similar.models import QueryImage, QueryRegion
from find_similar.uploads import Choice, region_key, upload_choice_default, upload_choice_normalize
from looks.models import Look, LookSlot
from recommender.query import SimilarProduct, similar_products
from shop.currency import Rates, exchange_rates_latest, money_round
from shop.garments import GARMENT_CATEGORIES, garment_label


def look_parts(*, upload: QueryImage) -> list[tuple[str, str]]:
    """(region key, label) of what the look form offers: the garments found on the photo
    (find_similar.detection: the segmenter's, or the regions placed on the body), else the
    main object (the Find similar page's default)."""
    parts = [(region_key(Choice(garment=i)), garment_label(g["kind"])) for i, g in enumerate(upload.garments)]
    if not parts:
        choice = upload_choice_normalize(upload=upload, choice=upload_choice_default(upload))
        parts = [(region_key(choice), _("The main object on the photo"))]
    return parts


def slot_label(slot: LookSlot, number: int) -> str:
    if slot.kind:
        return garment_label(slot.kind)
    return _("Area %(number)s") % {"number": number}


def candidate_similarity(item: SimilarProduct) -> float:
    """The similarity the look maximises: the ranking score the Find similar page shows
    (look blended with colour), 0..1."""
    value = item.distance if item.score is None else item.score
    return float(min(1.0, max(0.0, 1.0 - value)))


def look_price(product, *, currency: str, rates: Rates) -> Decimal | None:
    """What ``product`` costs in the look's currency: its own price, or converted at the latest
    stored rate and rounded to the currency's minor unit; None when no rate links the two."""
    if product.currency == currency:
        return product.price
    conversion = rates.convert(product.price, product.currency, currency)
    return None if conversion is None else money_round(conversion.amount, currency)


def look_candidates(
    *, look: Look, slots: list[LookSlot], regions: dict[str, QueryRegion], rates: Rates | None = None
) -> dict[int, list]:
    """Each slot's top LOOK_CANDIDATES products by similarity, with its filters: in stock only,
    one brand, the garment's categories (a box: every category). Slots whose region is not
    ready get none. Each candidate carries ``look_price``, its price in the look's currency
    (shop.currency); products in a currency no stored rate converts are left out, as their
    amounts cannot be added up."""
    rates = exchange_rates_latest() if rates is None else rates
    found: dict[int, list[SimilarProduct]] = {}
    for slot in slots:
        region = regions.get(slot.region_key)
        if region is None or region.status != QueryRegion.Status.READY:
            found[slot.position] = []
            continue
        vector = getattr(region.vector, "to_list", lambda r=region: r.vector)()
        items = similar_products(
            np.asarray(vector, dtype=np.float32),
            model_key=region.model_key,
            categories=GARMENT_CATEGORIES.get(slot.kind) or None,
            # Every currency: the ones without a rate go below.
            currency=None if rates else look.currency,
            price_min=None if rates else Decimal(0),
            brand=look.brand.slug if look.brand_id else None,
            in_stock_only=look.in_stock_only,
            exclude_ids=[look.upload.source_product_id] if look.upload.source_product_id else (),
            k=settings.LOOK_CANDIDATES,
            query_histogram=np.asarray(region.histogram) if region.histogram is not None else None,
        )
        kept = []
        for item in items:
            item.look_price = look_price(item.product, currency=look.currency, rates=rates)
            if item.look_price is not None:
                kept.append(item)
        found[slot.position] = kept
    return found


@dataclass
class SlotView:
    slot: LookSlot
    label: str
    product: object | None  # shop.Product, fresh
    # "gone" (deleted or taken down), "sold_out", "price" (changed since chosen) or "".
    change: str
    available: bool  # can be bought now (counted in the total)
    price: Decimal | None = None  # what it costs now in the look's currency (None: no rate)


def look_slot_views(*, look: Look, slots: list[LookSlot], rates: Rates | None = None) -> list[SlotView]:
    """The look's slots as they stand now: every product read fresh (select_related on the
    slots), its price in the look's currency at today's rates, and what changed since it was
    chosen (a new rate can change that price too)."""
    rates = exchange_rates_latest() if rates is None else rates
    views = []
    for number, slot in enumerate(slots, start=1):
        product = slot.product
        change = ""
        price = None if product is None else look_price(product, currency=look.currency, rates=rates)
        if product is None or not product.is_active:
            change = "gone" if slot.product_title else ""
            product = None
        elif not product.in_stock:
            change = "sold_out"
        elif slot.price is not None and price != slot.price:
            change = "price"
        available = product is not None and product.in_stock and price is not None
        views.append(
            SlotView(
                slot=slot,
                label=slot_label(slot, number),
                product=product,
                change=change,
                available=available,
                price=price,
            )
        )
    return views


def look_slots(*, look: Look) -> list[LookSlot]:
    return list(look.slots.select_related("product", "product__brand", "product__category"))
