"""Why a result matches: the chosen garment's colour distribution next to a result's.

The original project plotted per-channel RGB histograms of the query and each result; here
each is a small inline SVG (no JavaScript, no plotting library, nothing fetched): one strip
per channel, the query as a filled area and the result as a line on the same scale.
"""

from __future__ import annotations

import numpy as np
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

# Fill (query) and line (result) colours per channel: readable on white and for most
# colour-vision deficiencies, since each strip is also labelled.
CHANNELS = (("R", "#e0474c", "#8c1d21"), ("G", "#3fa75a", "#1d5c2e"), ("B", "#4a78d0", "#1f3f80"))


def _points(values: np.ndarray, *, x0: float, width: float, base: float, height: float, peak: float):
    step = width / max(1, len(values) - 1)
    return [(x0 + i * step, base - (v / peak) * height if peak else base) for i, v in enumerate(values)]


def _fmt(points) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


def histogram_overlap(query: np.ndarray, result: np.ndarray) -> float:
    """Mean over channels of the histogram intersection (1 = identical colour distributions)."""
    query, result = np.asarray(query, dtype=float), np.asarray(result, dtype=float)
    return float(np.minimum(query, result).sum(axis=1).mean())


def colour_comparison_svg(
    query: np.ndarray, result: np.ndarray, *, width: int = 180, height: int = 78, label: str = ""
) -> SafeString:
    """An inline SVG comparing two (3, bins) RGB histograms (each row sums to 1)."""
    query = np.asarray(query, dtype=float).reshape(3, -1)
    result = np.asarray(result, dtype=float).reshape(3, -1)
    pad_left, gap = 12.0, 3.0
    strip = (height - 2 * gap) / 3
    plot_width = width - pad_left - 2
    overlap = histogram_overlap(query, result)
    title = label or _("Colour distribution: chosen garment (filled) and this product (line)")
    desc = _("Colour overlap %(percent)s%%.") % {"percent": round(overlap * 100)}
    parts = [
        f'<svg class="colour-plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>"
    ]
    for row, (name, fill, line) in enumerate(CHANNELS):
        top = row * (strip + gap)
        base = top + strip
        # Same scale for both curves of a channel, so heights compare directly.
        peak = float(max(query[row].max(), result[row].max()))
        q = _points(query[row], x0=pad_left, width=plot_width, base=base, height=strip - 1, peak=peak)
        r = _points(result[row], x0=pad_left, width=plot_width, base=base, height=strip - 1, peak=peak)
        area = [(pad_left, base), *q, (pad_left + plot_width, base)]
        parts.append(
            f'<text x="0" y="{base - 2:.1f}" font-size="8" fill="{line}" '
            f'font-family="sans-serif">{name}</text>'
            f'<line x1="{pad_left}" y1="{base:.1f}" x2="{pad_left + plot_width:.1f}" y2="{base:.1f}" '
            'stroke="#ccc" stroke-width="0.5"/>'
            f'<polygon points="{_fmt(area)}" fill="{fill}" fill-opacity="0.35" stroke="none"/>'
            f'<polyline points="{_fmt(r)}" fill="none" stroke="{line}" stroke-width="1.2"/>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - built from numbers and escaped text only
