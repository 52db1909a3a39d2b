"""The old version of the funnels, read from a git revision: no checkout, no work tree touched.

``git ls-tree -r REV -- PATH`` lists the ``.funnel`` files the inputs name at the revision,
``git show REV:FILE`` reads each (bytes, decoded as UTF-8 as the loader does), and every
import they make is followed and read the same way, so that the old version compiles with
:func:`funnelc.compiler.compile_texts` exactly as the files would on disk.  Paths are those
within the repository (POSIX), the keys of the in-memory sources.

Only ``git`` itself is run (``subprocess``, no shell, ``--`` before every path), with
``GIT_OPTIONAL_LOCKS=0`` so that reading never writes the index.  A revision that does not
exist, or a directory that is not in a repository, is a :class:`GitError` with git's message.
"""

from __future__ import annotations

import os
import posixpath
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from funnelc.loader import EXTENSION
from funnelc.source import SourceFile


class GitError(Exception):
    """git could not give what was asked (no repository, unknown revision …)."""


@dataclass(frozen=True, slots=True)
class Revision:
    """The ``.funnel`` texts of the inputs at a revision, keyed by repository path."""

    rev: str
    commit: str
    toplevel: Path
    texts: dict[str, str]


def _git(args: Sequence[str], cwd: Path) -> bytes:
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0", LC_ALL="C")
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, env=env, check=False, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GitError(str(error)) from error
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(message[0] if message else f"git {args[0]} failed")
    return done.stdout


def toplevel(cwd: Path) -> Path:
    """The top of the work tree ``cwd`` is in."""
    out = _git(["rev-parse", "--show-toplevel"], cwd).decode("utf-8").strip()
    return Path(out).resolve()


def _imports(path: str, text: str) -> list[str]:
    """The repository paths ``path`` imports (resolved as the loader resolves them)."""
    from funnelc.lower import lower
    from funnelc.parse import parse

    module, _diagnostics = lower(SourceFile(path, text), parse(SourceFile(path, text)))
    if module is None:
        return []
    found = []
    for imported in module.imports:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(path), imported.path.value))
        if not target.startswith("../") and target != "..":
            found.append(target)
    return found


def _decode(data: bytes) -> str:
    text = data.decode("utf-8", "surrogateescape")
    return text.removeprefix("\ufeff")


def read_revision(rev: str, inputs: Sequence[Path], cwd: Path | None = None) -> Revision:
    """The ``.funnel`` files that ``inputs`` (files or directories of the work tree) name at
    ``rev``, with the files they import, transitively."""
    here = (cwd or Path.cwd()).resolve()
    top = toplevel(here)
    commit = _git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"], top
    )
    commit_id = commit.decode("ascii").strip()
    wanted: list[str] = []
    for given in inputs:
        absolute = (here / given).resolve() if not given.is_absolute() else given.resolve()
        try:
            relative = absolute.relative_to(top).as_posix()
        except ValueError as error:
            raise GitError(f"{given} is outside the repository at {top}") from error
        listing = _git(
            ["ls-tree", "-r", "-z", "--name-only", commit_id, "--", relative or "."], top
        )
        for name in listing.decode("utf-8", "surrogateescape").split("\0"):
            if name.endswith(EXTENSION) and name not in wanted:
                wanted.append(name)
    texts: dict[str, str] = {}
    queue = list(wanted)
    while queue:
        path = queue.pop(0)
        if path in texts:
            continue
        try:
            data = _git(["show", f"{commit_id}:{path}"], top)
        except GitError:
            continue  # an import of a file that is not there: the compiler reports F502
        texts[path] = _decode(data)
        queue.extend(p for p in _imports(path, texts[path]) if p not in texts)
    return Revision(rev, commit_id, top, dict(sorted(texts.items())))


__all__ = ["GitError", "Revision", "read_revision", "toplevel"]
