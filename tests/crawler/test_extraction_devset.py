"""The development set of real product pages, crawled from loopback and scored by its own
scorer: a regression in any extraction rule shows here as a lower F1.

The pages are not ours to ship: they are read from the team's shared data beside the
repository (../shared/data/product-pages-dev, or LOOKALIKE_PRODUCT_PAGES), as CI has it.
"""

from __future__ import annotations

import pytest

from bench.extraction import DEV_DATA, devset_crawl

pytestmark = pytest.mark.django_db

# A little below what `python -m bench.extraction` reaches (docs/benchmarks.md, section
# "extraction": price 0.917, availability 0.956, brand 0.777), so that a real regression
# fails and a one-page wobble does not.
FLOORS = {"price_f1": 0.89, "availability_f1": 0.93, "brand_f1": 0.74}


def test_the_development_pages_score_above_the_floors(crawler_settings):
    assert (DEV_DATA / "pages.py").is_file(), (
        f"The development product pages are missing at {DEV_DATA}: check out the team's shared data "
        "beside the repository (../shared) or set LOOKALIKE_PRODUCT_PAGES."
    )
    result = devset_crawl(data=DEV_DATA)

    scores = {name: result[name] for name in FLOORS}
    assert all(scores[name] >= floor for name, floor in FLOORS.items()), (scores, result["errors"])
    assert result["pages"] == 70
    # Every page without a product is in the run's log with its reason.
    assert result["products"] + len({e["url"] for e in result["errors"] if "Image" not in e["reason"]}) == 70
