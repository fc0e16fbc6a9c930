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
    ("app", "forbidden"),
    [
        ("shop", "recommender"),
        ("crawler", "recommender"),
        ("shop", "crawler"),
        ("shop", "find_similar"),
        ("recommender", "find_similar"),
        ("recommender", "looks"),
        ("find_similar", "looks"),
        ("crawler", "find_similar"),
    ],
)
def test_the_catalogue_and_the_crawler_never_import_what_sits_above_them(app, forbidden):
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / app).rglob("*.py"))
        for line, name in _imports(path)
        if name == forbidden or name.startswith(f"{forbidden}.")
    ]
    assert offending == [], "\n".join(offending)


def test_find_similar_and_looks_use_the_recommender_only_through_its_query_api():
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for app in ("find_similar", "looks")
        for path in sorted((ROOT / app).rglob("*.py"))
        for line, name in _imports(path)
        if (name == "recommender" or name.startswith("recommender.")) and name != "recommender.query"
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


PACKAGES = ("config", "shop", "crawler", "recommender", "find_similar", "looks", "bench", "tests")


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("recommender/probe.py", "from find_similar import uploads\n"),
        ("shop/probe.py", "def f():\n    from find_similar.models import QueryImage\n"),
        ("find_similar/probe.py", "from recommender.services import query_embed\n"),
        ("crawler/probe.py", "import looks.knapsack\n"),
        ("find_similar/probe.py", "from tests.find_similar import support\n"),
    ],
)
def test_a_new_forbidden_import_breaks_the_contracts_and_is_named(tmp_path, module, line):
    """The contracts catch each new arrow: a copy of the code with one forbidden import added
    fails `lint-imports`, and the report names the importing module."""
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            target = tmp_path / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    (tmp_path / "pyproject.toml").write_bytes((ROOT / "pyproject.toml").read_bytes())
    (tmp_path / module).write_text(line)
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0, result.stdout[-3000:]
    assert "BROKEN" in result.stdout
    assert module.removesuffix(".py").replace("/", ".") in result.stdout
