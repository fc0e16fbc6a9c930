"""The product page's price-history chart: a small inline SVG, like the colour plots
(find_similar/plots.py): no JavaScript, no plotting library, nothing fetched.

One step line per shop selling the item: a price holds from the day it was recorded until
the next change, and the last one runs to today. This product's line is thick, the other
shops' thin; the page's legend names each colour.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import formats, timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from shop.templatetags.shop_tags import currency_name, money


def _label_date(moment: dt.datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "SHORT_DATE_FORMAT")


def price_history_svg(
    *, series: list[dict], currency: str, width: int = 320, height: int = 140, now: dt.datetime | None = None
) -> SafeString:
    """``series``: [{"points": [(datetime, Decimal), ...] in time order, "colour": "#rrggbb",
    "own": bool}]; amounts all in ``currency``."""
    now = now or timezone.now()
    points = [p for s in series for p in s["points"]]
    start = min(moment for moment, _ in points)
    end = max(now, max(moment for moment, _ in points))
    low = min(price for _, price in points)
    high = max(price for _, price in points)
    if high == low:  # one price: a flat line in the middle, not a division by zero
        margin = max(abs(high) * Decimal("0.1"), Decimal(1))
        low, high = max(Decimal(0), low - margin), high + margin
    left, right, top, bottom = 64.0, 8.0, 8.0, 20.0
    plot_w, plot_h = width - left - right, height - top - bottom
    span = max((end - start).total_seconds(), 1.0)

    def x(moment) -> float:
        return left + (moment - start).total_seconds() / span * plot_w

    def y(price) -> float:
        return top + float((high - price) / (high - low)) * plot_h

    title = _("Price history of this item at each shop, in %(currency)s") % {
        "currency": currency_name(currency)
    }
    desc = _("From %(start)s to %(end)s, prices between %(low)s and %(high)s.") % {
        "start": _label_date(start),
        "end": _label_date(end),
        "low": money(min(p for _, p in points), currency),
        "high": money(max(p for _, p in points), currency),
    }
    parts = [
        f'<svg class="price-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>",
        f'<line x1="{left}" y1="{top + plot_h:.1f}" x2="{left + plot_w:.1f}" y2="{top + plot_h:.1f}" '
        'stroke="#999" stroke-width="0.6"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h:.1f}" '
        'stroke="#999" stroke-width="0.6"/>',
    ]
    for value, anchor_y in ((high, top + 7), (low, top + plot_h)):
        parts.append(
            f'<text x="{left - 4}" y="{anchor_y:.1f}" font-size="9" text-anchor="end" fill="#555" '
            f'font-family="sans-serif">{escape(money(value, currency))}</text>'
        )
    for moment, anchor in ((start, "start"), (end, "end")):
        parts.append(
            f'<text x="{x(moment):.1f}" y="{height - 6}" font-size="9" text-anchor="{anchor}" fill="#555" '
            f'font-family="sans-serif">{escape(_label_date(moment))}</text>'
        )
    # Other shops first, so this product's line is drawn on top.
    for line in sorted(series, key=lambda s: s["own"]):
        coords = []
        for index, (moment, price) in enumerate(line["points"]):
            following = line["points"][index + 1][0] if index + 1 < len(line["points"]) else end
            coords += [(x(moment), y(price)), (x(following), y(price))]
        path = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coords)
        stroke = 2.4 if line["own"] else 1.2
        dash = "" if line["own"] else ' stroke-dasharray="4 2"'
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{line["colour"]}" stroke-width="{stroke}"{dash}/>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - built from numbers and escaped text only
