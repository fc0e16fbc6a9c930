"""Which app may import which (issue 12). import-linter enforces the full contracts in
`make lint` (the [tool.importlinter] section of pyproject.toml); this reads every module of
the catalogue and the crawler, imports inside functions included, so the rule also holds in
the test suite alone."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize(
    ("app", "forbidden"), [("shop", "recommender"), ("crawler", "recommender"), ("shop", "crawler")]
)
def test_the_catalogue_and_the_crawler_never_import_what_sits_above_them(app, forbidden):
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / app).rglob("*.py"))
        for line, name in _imports(path)
        if name == forbidden or name.startswith(f"{forbidden}.")
    ]
    assert offending == [], "\n".join(offending)


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from recommender.tasks import embed_pending\n")
    assert _imports(module) == [(2, "recommender.tasks")]


def test_the_import_contracts_hold():
    """`make lint` runs the same; here so that the test suite alone also catches a new arrow."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " 0 broken." in result.stdout
