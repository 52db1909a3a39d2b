"""The driver: runs the passes in order and stops after the first pass that found errors.

    read + parse + lower (``loader``) → resolve → validate → lint → emit (``build``)

Stopping early keeps diagnostics honest: a file that does not parse would otherwise cause a
cascade of "unknown stage" errors in the files that refer to it.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from funnelc.diagnostics import Diagnostic, has_errors, sorted_diagnostics
from funnelc.loader import Loaded, load_texts
from funnelc.loader import load as load_files
from funnelc.model import Project
from funnelc.resolve import resolve
from funnelc.source import SourceFile
from funnelc.validate import validate

if TYPE_CHECKING:
    from funnelc.lint.engine import LintConfig
    from funnelc.session import Session


@dataclass(frozen=True, slots=True)
class Result:
    """What a compilation produced: the project (``None`` if it could not be built),
    every diagnostic in a stable order, and the sources they point into."""

    project: Project | None
    diagnostics: tuple[Diagnostic, ...]
    sources: Mapping[str, SourceFile]
    root: Path | None = None
    """The project root that the sources' ``project_path`` is relative to (``None`` for
    in-memory sources)."""

    @property
    def ok(self) -> bool:
        return self.project is not None and not has_errors(self.diagnostics)


class CompileError(Exception):
    """Raised by :func:`load` when the input has errors; carries the diagnostics."""

    def __init__(self, result: Result) -> None:
        self.result = result
        first = next((d for d in result.diagnostics if d.is_error), None)
        where = ""
        if first is not None and first.span is not None:
            pos = result.sources[first.span.path].position(first.span.start)
            where = f"{first.span.path}:{pos.line}:{pos.column}: "
        message = f"{where}{first.code}: {first.message}" if first else "compilation failed"
        super().__init__(message)

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        return self.result.diagnostics


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while the passes run.

    The passes allocate hundreds of thousands of small objects (tokens, tree nodes, spans) and
    free them by reference counting; the cyclic collector would walk them again and again for
    nothing (it cost a third of the time of a 10 000-stage check).  The previous state is
    restored afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _run(load: Callable[[], Loaded], lint: LintConfig | bool, session: Session | None) -> Result:
    if session is None:
        from funnelc.session import Session

        session = Session()  # a fresh one: nothing kept, nothing read from or written to disk
    with session.active(), _no_cyclic_gc():
        return _passes(load(), lint, session)


def _passes(loaded: Loaded, lint: LintConfig | bool, session: Session) -> Result:
    diagnostics = list(loaded.diagnostics)
    if has_errors(diagnostics):
        return Result(None, tuple(sorted_diagnostics(diagnostics)), loaded.sources, loaded.root)
    project, resolve_diagnostics = resolve(loaded.modules, loaded.imports)
    project = replace(project, sources=dict(loaded.sources))
    diagnostics.extend(resolve_diagnostics)
    if not has_errors(diagnostics):
        diagnostics.extend(validate(project))
    if lint is not False and not has_errors(diagnostics):
        from funnelc.lint.engine import LintConfig as _LintConfig
        from funnelc.lint.engine import lint as run_lint

        config = lint if isinstance(lint, _LintConfig) else None
        diagnostics.extend(run_lint(project, config, names=session.names))
        session.flush()
    ok = not has_errors(diagnostics)
    return Result(
        project if ok else None,
        tuple(sorted_diagnostics(diagnostics)),
        loaded.sources,
        loaded.root,
    )


def compile(
    paths: Sequence[str | Path] | str | Path,
    *,
    lint: LintConfig | bool = False,
    root: str | Path | None = None,
    session: Session | None = None,
) -> Result:
    """Compile the ``.funnel`` files named by ``paths`` (files or directories).

    ``lint`` runs the methodology rules after validation: ``True`` with the default
    configuration (the ``recommended`` preset), or a :class:`~funnelc.lint.engine.LintConfig`.
    ``root`` is the project root, to which the paths written into outputs are relative (the
    CLI passes the directory of the config file); by default the inputs' root, the deepest
    directory holding every input (see :func:`funnelc.loader.inputs_root`).
    ``session`` (:class:`funnelc.session.Session`) holds the caches and the language kept from
    one compilation to the next; without one, a fresh session is used, which keeps nothing and
    neither reads nor writes the user's cache directory.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    given = [Path(p) for p in paths]
    return _run(lambda: load_files(given, Path(root) if root is not None else None), lint, session)


def compile_text(
    text: str,
    path: str = "<input>.funnel",
    *,
    lint: LintConfig | bool = False,
    session: Session | None = None,
) -> Result:
    """Compile one in-memory file (imports are not followed)."""
    return _run(lambda: load_texts({path: text}), lint, session)


def compile_texts(
    texts: Mapping[str, str], *, lint: LintConfig | bool = False, session: Session | None = None
) -> Result:
    """Compile several in-memory files; an import may name another key of ``texts``."""
    return _run(lambda: load_texts(dict(texts)), lint, session)


def load(paths: Sequence[str | Path] | str | Path) -> Project:
    """Compile and return the project, or raise :class:`CompileError`."""
    result = compile(paths)
    if not result.ok or result.project is None:
        raise CompileError(result)
    return result.project
