"""Compiling the two versions a diff compares: two paths, or a git revision and the work tree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from funnelc.compiler import Result, compile, compile_texts
from funnelc.i18n import _


@dataclass(frozen=True, slots=True)
class Versions:
    """The old and the new version compiled, and what to call each."""

    old: Result
    new: Result
    old_label: str
    new_label: str


def from_paths(old: Path, new: Path) -> Versions:
    """Two files or directories (searched for ``*.funnel``), each compiled on its own."""
    return Versions(compile(old), compile(new), old.as_posix(), new.as_posix())


def from_git(rev: str, paths: Sequence[Path], root: Path | None = None) -> Versions:
    """``paths`` of the work tree against the same paths at ``rev`` (read by
    :mod:`funnelc.diff.git`; raises :class:`~funnelc.diff.git.GitError`)."""
    from funnelc.diff.git import read_revision

    revision = read_revision(rev, paths)
    old = compile_texts(revision.texts)
    new = compile(list(paths), root=root)
    return Versions(old, new, rev, _("working tree"))


__all__ = ["Versions", "from_git", "from_paths"]
