"""bench.extraction --check: the dev-set regression gate that .ci/run runs beside the team's
shared product pages (not ours to ship, so not in a fresh clone's test suite)."""

from __future__ import annotations

import pytest

from bench.extraction import FLOORS, PAGES, floors_check, main


def _result(**scores) -> dict:
    return {**{name: floor + 0.01 for name, floor in FLOORS.items()}, "pages": PAGES, **scores}


def test_scores_at_their_floors_pass():
    assert floors_check(_result()) == []
    assert floors_check(_result(**FLOORS)) == []


def test_a_score_below_its_floor_or_missing_pages_fail_naming_them():
    problems = floors_check(_result(price_f1=FLOORS["price_f1"] - 0.001, pages=PAGES - 3))
    assert len(problems) == 2
    assert "price_f1" in problems[0] and str(FLOORS["price_f1"]) in problems[0]
    assert f"{PAGES - 3} product pages" in problems[1]


def test_check_without_the_pages_says_where_to_get_them(tmp_path):
    with pytest.raises(SystemExit) as raised:
        main(["--check", "--data", str(tmp_path)])
    assert "product-pages-dev" in str(raised.value)
