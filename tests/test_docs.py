"""The documentation site stays complete: API pages, nav, links, examples, version.

``mkdocs build --strict`` (run by ``.ci/run``) catches broken links and unresolved references;
these tests catch what it cannot: a public module without an API page, a page left out of the
nav, an example nobody documents or smoke-tests, and a version written in two places.
"""

from __future__ import annotations

import re

import pytest
from helpers import REPO_ROOT

import keras_facegen

DOCS = REPO_ROOT / "docs"
MKDOCS = (REPO_ROOT / "mkdocs.yml").read_text()
NAV = MKDOCS[MKDOCS.index("\nnav:") :]
# Public subpackages and modules with a page in the API reference.
API_MODULES = sorted(
    {name for name in keras_facegen._SUBMODULES} | {"cli", "explorer"}  # noqa: SLF001
)


@pytest.mark.parametrize("module", API_MODULES)
def test_every_public_module_has_an_api_page_in_the_nav(module):
    page = DOCS / "api" / f"{module}.md"
    assert page.is_file(), f"no API page docs/api/{module}.md"
    assert f"::: keras_facegen.{module}" in page.read_text()
    assert f"api/{module}.md" in NAV


def test_every_page_is_in_the_nav():
    # docs/benchmarks/*.md are the quality studies' raw tables (copied into benchmarks.md and
    # left out of the site by mkdocs.yml's exclude_docs).
    pages = sorted(
        str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md") if p.parent.name != "benchmarks"
    )
    missing = [page for page in pages if page not in NAV]
    assert not missing, f"pages left out of the nav in mkdocs.yml: {missing}"


def test_nav_names_only_existing_pages():
    named = re.findall(r"([\w/.-]+\.md)", NAV)
    assert named
    assert [page for page in named if not (DOCS / page).is_file()] == []


def test_readme_links_point_to_files():
    readme = (REPO_ROOT / "README.md").read_text()
    targets = re.findall(r"\]\((?!https?://|#)([^)#\s]+)", readme)
    assert targets
    assert [t for t in targets if not (REPO_ROOT / t).exists()] == []


def test_docs_link_the_site_from_the_readme():
    assert "mkdocs" in (REPO_ROOT / "README.md").read_text().lower()


@pytest.mark.parametrize("script", sorted(p.name for p in (REPO_ROOT / "examples").glob("*.py")))
def test_every_example_is_documented_and_smoke_tested(script):
    guide = (DOCS / "guides" / "examples.md").read_text()
    row = [line for line in guide.splitlines() if line.startswith(f"| `{script}`")]
    assert row, f"examples/{script} has no row in docs/guides/examples.md"
    # What it shows and how long it takes: the table's second and third columns are filled.
    cells = [cell.strip() for cell in row[0].strip("|").split("|")]
    assert len(cells) == 3 and all(cells), row[0]
    smoke_tests = "".join(p.read_text() for p in (REPO_ROOT / "tests" / "examples").glob("*.py"))
    loads = (f'"{script[:-3]}"', f'"{script}"')  # load_example("x") or REPO_ROOT / ... / "x.py"
    assert any(name in smoke_tests for name in loads), f"no smoke test loads examples/{script}"


def test_version_is_written_once():
    version = keras_facegen.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert f'"{version}"' not in pyproject
    assert 'path = "keras_facegen/__init__.py"' in pyproject


def test_changelog_has_a_section_for_the_next_release_or_this_version():
    changelog = (REPO_ROOT / "CHANGELOG.md").read_text()
    version = re.escape(keras_facegen.__version__)
    assert re.search(rf"^## \[(Unreleased|{version})\]", changelog, flags=re.MULTILINE)


def test_package_is_typed():
    assert (REPO_ROOT / "keras_facegen" / "py.typed").is_file()
