"""The API pages' Griffe extension (docs/griffe_examples.py) on the real package.

``mkdocs build --strict`` renders what Griffe sees; these tests check what Griffe sees once
the extension ran: the functions a package imports from a submodule of the same name
(``models.pretrained``, ``metrics.ms_ssim``), the constants documented by ``#:`` comments, and
the build failing when a page's ``members`` list misses a public name.
"""

from __future__ import annotations

import importlib.util
import shutil

import pytest
from helpers import REPO_ROOT

griffe = pytest.importorskip("griffe")

EXTENSION = REPO_ROOT / "docs" / "griffe_examples.py"


@pytest.fixture(scope="module")
def extension_module():
    spec = importlib.util.spec_from_file_location("griffe_examples_under_test", EXTENSION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load(extension_module):
    extensions = griffe.load_extensions(extension_module.ExampleSections())
    return griffe.load(
        "keras_facegen",
        search_paths=[str(REPO_ROOT)],
        extensions=extensions,
        resolve_aliases=False,
    )


@pytest.fixture(scope="module")
def package(extension_module):
    return load(extension_module)


@pytest.mark.parametrize(
    ("path", "canonical"),
    [
        ("models.pretrained", "keras_facegen.models.pretrained.pretrained"),
        ("metrics.ms_ssim", "keras_facegen.metrics.ms_ssim.ms_ssim"),
        ("data.synthetic_faces", "keras_facegen.data.synthetic_faces.synthetic_faces"),
    ],
)
def test_functions_named_like_their_submodule_are_shown(package, path, canonical):
    member = package[path]
    assert member.is_alias and member.is_function  # what `from package import name` gives
    assert member.canonical_path == canonical
    assert "Examples:" in member.docstring.value  # the example sections were rewritten
    # Names imported from the shadowed submodule still resolve.
    assert package["models.PretrainedGAN"].is_class


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("metrics.callback.METRIC_NAMES", "Metrics"),
        ("metrics.MS_SSIM_WEIGHTS", "5-scale weights"),
        ("losses.base.TermKind", "Which network a loss term trains"),
    ],
)
def test_constants_get_their_comment_as_docstring(package, path, words):
    assert words in package[path].docstring.value


def test_a_members_list_missing_a_public_name_fails_the_build(extension_module, tmp_path):
    pages = tmp_path / "api"
    shutil.copytree(REPO_ROOT / "docs" / "api", pages)
    models = pages / "models.md"
    models.write_text(models.read_text().replace(" DirectionSweep]", "]"))
    extension_module._API_PAGES = pages
    try:
        with pytest.raises(ValueError, match=r"miss \['DirectionSweep'\]"):
            load(extension_module)
    finally:
        extension_module._API_PAGES = REPO_ROOT / "docs" / "api"
