"""The colour comparison plot: a small, valid, self-contained SVG drawn from rgb_histogram."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
from PIL import Image

from find_similar.plots import colour_comparison_svg, histogram_overlap
from recommender.colour import rgb_histogram
from tests.recommender.scenes import cc0_photos

SVG = "{http://www.w3.org/2000/svg}"


def _histogram(colour) -> np.ndarray:
    return rgb_histogram(Image.new("RGB", (20, 20), colour))


def test_plot_is_valid_svg_with_a_strip_per_channel():
    with Image.open(cc0_photos("t-shirt", 1)[0]) as a, Image.open(cc0_photos("pants", 1)[0]) as b:
        query, result = rgb_histogram(a.convert("RGB")), rgb_histogram(b.convert("RGB"))
    svg = colour_comparison_svg(query, result)
    root = ET.fromstring(str(svg))  # well-formed XML
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.find(f"{SVG}title").text.startswith("Colour distribution")
    assert len(root.findall(f"{SVG}polygon")) == 3  # the query, filled, per channel
    assert len(root.findall(f"{SVG}polyline")) == 3  # the result, a line, per channel
    assert [t.text for t in root.findall(f"{SVG}text")] == ["R", "G", "B"]
    # Every curve has one point per bin, inside the drawing.
    width, height = (float(v) for v in root.get("viewBox").split()[2:])
    for line in root.findall(f"{SVG}polyline"):
        points = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
        assert len(points) == query.shape[1]
        assert all(0 <= x <= width and 0 <= y <= height for x, y in points)
    assert "<script" not in svg and "http" not in svg.replace("http://www.w3.org/2000/svg", "")


def test_the_curves_follow_the_histograms():
    red, blue = _histogram((230, 10, 10)), _histogram((10, 10, 230))
    root = ET.fromstring(str(colour_comparison_svg(red, blue)))
    red_strip_result = root.findall(f"{SVG}polyline")[0]
    ys = [float(p.split(",")[1]) for p in red_strip_result.get("points").split()]
    # The blue product has no red: its red curve peaks (lowest y) in the darkest bin.
    assert int(np.argmin(ys)) == 10 * 32 // 256


def test_overlap_is_one_for_identical_colours_and_low_for_opposites():
    red, blue = _histogram((230, 10, 10)), _histogram((10, 10, 230))
    assert histogram_overlap(red, red) == 1.0
    assert histogram_overlap(red, blue) < 0.5
    assert "Colour overlap 100%." in colour_comparison_svg(red, red)


def test_labels_are_escaped():
    red = _histogram((230, 10, 10))
    svg = colour_comparison_svg(red, red, label='<b>"x"</b>')
    assert "<b>" not in svg and "&lt;b&gt;" in svg
