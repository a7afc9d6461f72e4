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

It also fixes three things Griffe reads differently from Python:

- a package that imports a function of the same name as the submodule it comes from
  (``keras_facegen.models.pretrained``, ``keras_facegen.metrics.ms_ssim``) shows the function,
  as ``from keras_facegen.models import pretrained`` gives it; Griffe keeps the submodule under
  that name, and the API pages (which hide submodules) dropped the function;
- a module-level constant documented by ``#:`` comment lines above it (the Sphinx convention
  the package uses, e.g. ``METRIC_NAMES``) gets those lines as its docstring, so the pages show
  it (Griffe reads only a string literal below the assignment);
- a page that lists the ``members`` of a module must list every name of its ``__all__``: the
  build fails naming the ones missing, so a new public name cannot vanish from the reference.
"""

from __future__ import annotations

import contextlib
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


def _modules(module: griffe.Module) -> list[griffe.Module]:
    """``module`` and every submodule below it."""
    found = [module]
    for member in list(module.members.values()):
        if not member.is_alias and member.is_module:
            found.extend(_modules(member))  # type: ignore[arg-type]
    return found


def _aliases(obj: griffe.Object) -> list[griffe.Alias]:
    """Every alias in ``obj``'s tree (classes included)."""
    found = []
    for member in list(obj.members.values()):
        if member.is_alias:
            found.append(member)
        else:
            found.extend(_aliases(member))  # type: ignore[arg-type]
    return found


def _show_shadowed_functions(package: griffe.Module) -> None:
    """Where ``from .name import name`` shadows submodule ``name``, shows the object instead."""
    modules = _modules(package)
    aliases = _aliases(package)
    for module in modules:
        for name, member in list(module.members.items()):
            if member.is_alias or not member.is_module:
                continue
            target = module.imports.get(name)
            if target != f"{member.path}.{name}" or name not in member.members:
                continue
            # Aliases into the submodule are resolved now, while its path still leads to it.
            for alias in aliases:
                if alias.target_path.startswith(member.path + "."):
                    with contextlib.suppress(griffe.AliasResolutionError, griffe.CyclicAliasError):
                        alias.final_target  # noqa: B018  (resolves and caches the target)
            shadowing = griffe.Alias(name, member.members[name], parent=module)
            module.members[name] = shadowing


def _comment_docstrings(package: griffe.Module) -> None:
    """Gives undocumented module constants the ``#:`` comment lines right above them."""
    for module in _modules(package):
        lines = module.lines
        for member in module.members.values():
            if member.is_alias or not member.is_attribute or member.docstring is not None:
                continue
            if member.lineno is None:
                continue
            comment: list[str] = []
            index = member.lineno - 2
            while index >= 0 and lines[index].strip().startswith("#:"):
                comment.insert(0, lines[index].strip()[2:].strip())
                index -= 1
            if comment:
                member.docstring = griffe.Docstring(
                    " ".join(comment), lineno=index + 2, parent=member
                )


def _check_member_lists(package: griffe.Module) -> None:
    """Fails the build when a page lists a module's members but misses one of ``__all__``."""
    listed: dict[str, set[str]] = {}
    block = re.compile(r"^::: ([\w.]+)\n((?:[ \t]+.*\n)*)", re.MULTILINE)
    for page in sorted(_API_PAGES.glob("*.md")):
        for identifier, options in block.findall(page.read_text()):
            names = re.search(r"(?<![\w])members:\s*\[([^\]]*)\]", options)
            if names:
                found = {n.strip().strip("\"'") for n in names.group(1).split(",") if n.strip()}
                listed.setdefault(identifier, set()).update(found)
    for identifier, names in listed.items():
        module = package[identifier.removeprefix(package.name + ".")]
        exported = {str(name) for name in (module.exports or [])}
        missing = sorted(exported - names)
        if missing:
            raise ValueError(
                f"docs/api: the pages list members of {identifier} but miss {missing}; "
                "add them to a members list there."
            )


class ExampleSections(griffe.Extension):
    """Rewrites the docstrings of the loaded package for the API pages (see the module doc)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Runs once the whole package is loaded: every object and alias is known."""
        _comment_docstrings(pkg)
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
        # Last: once swapped in, a shadowed submodule is no longer reachable by its path.
        _show_shadowed_functions(pkg)
        _check_member_lists(pkg)

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
