"""A Griffe extension for the API pages: examples render as code, Sphinx roles become links.

The docstrings of keras-facegen follow the project's style guide: Google style with an
``Example:`` section, and Sphinx roles (``:func:`lerp```, ``:class:`~keras_facegen.models.GAN```)
to name other objects. Griffe reads only ``Examples:`` as an examples section (other titles
become admonitions of Markdown text, where ``>>>`` lines lose their code formatting and outputs
such as ``['a', 'b']`` look like Markdown links), and Markdown has no roles. Once the package
is loaded, this extension rewrites the docstring text Griffe renders (the source files are left
alone):

- ``Example:`` titles become ``Examples:``;
- each role becomes an autorefs cross-reference, ``[`name`][keras_facegen.where.it.is.shown]``,
  when its target is an object shown on an API page (resolved like Python names: from the
  object, its class, its module, its package, then as an absolute path); otherwise plain code.
  ``~`` shows the last name only, as in Sphinx.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import griffe

_EXAMPLE_TITLE = re.compile(r"^(\s*)Example:[ \t]*$", re.MULTILINE)
_ROLE = re.compile(r":(?:func|class|meth|data|attr|mod|exc|obj|const):`(~?)([\w.]+)(\(\))?`")
_API_PAGES = Path(__file__).resolve().parent / "api"


def _shown_paths(package: griffe.Module) -> dict[str, str]:
    """Maps the canonical path of every object shown on an API page to its anchor there."""
    shown: dict[str, str] = {}

    def add(obj: griffe.Object | griffe.Alias, path: str) -> None:
        try:
            canonical = obj.canonical_path
        except griffe.AliasResolutionError:
            return
        shown.setdefault(canonical, path)
        shown.setdefault(path, path)
        if getattr(obj, "is_class", False):
            for name, member in obj.members.items():
                if not name.startswith("_") and member.docstring is not None:
                    add(member, f"{path}.{name}")

    for page in sorted(_API_PAGES.glob("*.md")):
        for identifier in re.findall(r"^::: ([\w.]+)", page.read_text(), flags=re.MULTILINE):
            try:
                obj = package[identifier.removeprefix(package.name + ".")]
            except (KeyError, griffe.AliasResolutionError):
                continue
            add(obj, identifier)
            if not getattr(obj, "is_module", False):
                continue
            for name, member in obj.members.items():
                try:
                    public = member.is_public and not member.is_module
                    documented = member.docstring is not None
                except griffe.AliasResolutionError:
                    continue
                if public and documented:
                    add(member, f"{identifier}.{name}")
    return shown


def _scopes(obj: griffe.Object) -> list[str]:
    """The paths a relative name in ``obj``'s docstring may start from, innermost first."""
    scopes = [obj.path]
    parent = obj.parent
    while parent is not None:
        scopes.append(parent.path)
        parent = parent.parent
    return scopes + [""]


def _resolve(package: griffe.Module, target: str, obj: griffe.Object) -> str | None:
    """The canonical path of ``target`` as seen from ``obj``, or ``None``."""
    for scope in _scopes(obj):
        path = f"{scope}.{target}" if scope else target
        if not path.startswith(package.name + "."):
            continue
        try:
            return package[path.removeprefix(package.name + ".")].canonical_path
        except (KeyError, ValueError, griffe.AliasResolutionError):
            continue
    return None


class ExampleSections(griffe.Extension):
    """Rewrites the docstrings of the loaded package for the API pages (see the module doc)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Runs once the whole package is loaded: every object and alias is known."""
        shown = _shown_paths(pkg)
        seen: set[int] = set()

        def rewrite(obj: griffe.Object) -> None:
            if id(obj) in seen:
                return
            seen.add(id(obj))
            if obj.docstring is not None:
                obj.docstring.value = self._rewrite(pkg, obj, obj.docstring.value, shown)
            for member in obj.members.values():
                if not member.is_alias:
                    rewrite(member)

        rewrite(pkg)

    @staticmethod
    def _rewrite(pkg: griffe.Module, obj: griffe.Object, text: str, shown: dict[str, str]) -> str:
        text = _EXAMPLE_TITLE.sub(r"\1Examples:", text)

        def link(match: re.Match[str]) -> str:
            short, target, call = match.group(1), match.group(2), match.group(3) or ""
            label = (target.rsplit(".", 1)[-1] if short else target) + call
            canonical = _resolve(pkg, target, obj)
            anchor = shown.get(canonical) if canonical else None
            return f"[`{label}`][{anchor}]" if anchor else f"`{label}`"

        return _ROLE.sub(link, text)
