"""Go to definition, find references and rename, over the index of one or more builds.

Pure: builds and an offset in, spans out.  A rename is refused (with a message for the client)
when the new name is not an id, is a keyword, or would clash with an id of the same kind in the
same scope (a stage of the same pipeline, any pipeline of the build, a field or loss reason
visible where the renamed one is).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from funnelc.i18n import _
from funnelc.lsp.analysis import Build, Key, Occurrence
from funnelc.lsp.completion import ALL_KEYWORDS
from funnelc.source import Span

_VALID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class RenameError(ValueError):
    """A rename that cannot be done; the message says why, in the user's language."""


def at(builds: Iterable[Build], path: str, offset: int) -> tuple[Build, Occurrence] | None:
    for build in builds:
        found = build.index.at(path, offset)
        if found is not None:
            return build, found
    return None


def definition(builds: Iterable[Build], path: str, offset: int) -> Span | None:
    builds = list(builds)
    hit = at(builds, path, offset)
    if hit is None:
        return None
    for build in builds:
        declared = build.index.declared.get(hit[1].key)
        if declared is not None:
            return declared.span
    return None


def references(
    builds: Iterable[Build], path: str, offset: int, *, include_declaration: bool = True
) -> list[Span]:
    """Every use of the id under ``offset`` in every build given (deduplicated, in order)."""
    builds = list(builds)
    hit = at(builds, path, offset)
    if hit is None:
        return []
    return _uses(builds, hit[1].key, include_declaration)


def _uses(builds: list[Build], key: Key, include_declaration: bool = True) -> list[Span]:
    spans: set[Span] = set()
    for build in builds:
        for o in build.index.uses(key):
            if include_declaration or not o.definition:
                spans.add(o.span)
    return sorted(spans)


def prepare(builds: Iterable[Build], path: str, offset: int) -> Span | None:
    """The span of the id that a rename at ``offset`` would rename (``None``: nothing to)."""
    builds = list(builds)
    hit = at(builds, path, offset)
    if hit is None:
        return None
    if not any(hit[1].key in b.index.declared for b in builds):
        return None  # an unknown id: fix it rather than rename it
    return hit[1].span


def rename(builds: Iterable[Build], path: str, offset: int, new_name: str) -> list[Span]:
    """The spans to replace by ``new_name``; raises :class:`RenameError` when refused."""
    builds = list(builds)
    hit = at(builds, path, offset)
    if hit is None or not any(hit[1].key in b.index.declared for b in builds):
        raise RenameError(_("there is no declared id here to rename"))
    key = hit[1].key
    if not _VALID.match(new_name):
        raise RenameError(
            _(
                "`{name}` is not an id: use letters, digits and `_`, not starting with a digit"
            ).format(name=new_name)
        )
    if new_name in ALL_KEYWORDS:
        raise RenameError(_("`{name}` is a keyword").format(name=new_name))
    if new_name == key[-1]:
        return []
    clash = _clash(builds, key, new_name)
    if clash is not None:
        raise RenameError(_("`{name}` is already declared here").format(name=new_name))
    return _uses(builds, key)


def _clash(builds: list[Build], key: Key, new_name: str) -> Key | None:
    """An existing key the renamed ``key`` would collide with."""
    kind = key[0]
    for build in builds:
        for other in build.index.declared:
            if other[0] != kind or other[-1] != new_name:
                continue
            if kind == "pipeline":
                return other
            if kind == "stage" and other[1] == key[1]:
                return other
            if kind in ("field", "reason") and _visible_together(build, key, other):
                return other
    return None


def _visible_together(build: Build, a: Key, b: Key) -> bool:
    """Whether two field (or reason) declarations are visible in one pipeline (they would be a
    duplicate there): the same file, or one's file imports the other's, or a pipeline sees
    both."""
    from funnelc.lsp.analysis import closure, import_target

    imports = {
        m.path: tuple(import_target(m.path, i.path.value) for i in m.imports) for m in build.modules
    }
    for module in build.modules:
        visible = set(closure(module.path, imports))
        sees_a = a[1] in visible and (a[2] == "" or (a[1] == module.path))
        sees_b = b[1] in visible and (b[2] == "" or (b[1] == module.path))
        if sees_a and sees_b and (a[2] in ("", b[2]) or b[2] == ""):
            return True
    return False
