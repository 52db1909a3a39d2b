"""A compilation session: the caches and the language a long-running process holds.

A language server keeps one process alive for hours and compiles a document on every edit; a
CLI run compiles once.  Everything that may be kept from one compilation to the next lives in a
:class:`Session` object, with bounded memory, rather than in module globals:

- ``names``: the stage-name verdicts of the lint rules (:class:`~funnelc.lint.name_cache.NameCache`:
  all of the last run's, plus ``name_capacity`` older ones, least recently used first out);
- ``language``: the language of the messages (``None``: whatever :mod:`funnelc.i18n` has now);
- whether verdicts are read from and written to the user's cache directory (``persist``; only
  the CLI asks for it, so a library call of :func:`funnelc.compile` never touches the disk).

What is deliberately process-wide, because it is immutable once built and does not grow: the
compiled Lark parser and its table of typical mistakes (``functools.cache`` in
:mod:`funnelc.parse`), the message catalogues (:mod:`funnelc.i18n`), the bundled JSON Schemas
(:mod:`funnelc.schema`) and pymorphy3's analyzer together with the classifier's per-word
``lru_cache`` s (bounded, :mod:`funnelc.lint.names`).  Per-project memos of the lint rules (edge
indexes, pipeline facts) live only for one lint run (:class:`funnelc.lint.rule.LintContext`).
The parser is loaded from the serialised copy that ships with the grammar; only when that copy
does not fit the installed Lark is it built, and then a ``persist`` session keeps one in the
user's cache directory for the next process (:func:`funnelc.parse.prepare_parser`).  Nothing
else ever writes it.

    session = Session()
    for text in edits:
        result = session.compile_text(text, "doc.funnel", lint=True)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from funnelc.lint.name_cache import CAPACITY, NameCache, default_store

if TYPE_CHECKING:
    from funnelc.compiler import Result
    from funnelc.lint.engine import LintConfig


@dataclass(eq=False)
class Session:
    """Caches and settings shared by the compilations of one process or one client."""

    language: str | None = None
    persist: bool = False
    """Read and write the stage-name verdicts in the user's cache directory (the CLI does)."""
    name_capacity: int = CAPACITY
    names: NameCache = field(init=False)

    def __post_init__(self) -> None:
        self.names = NameCache(self.name_capacity, default_store if self.persist else None)

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """The session's language for the duration of one compilation (and, with
        ``persist``, the parser, from or into the user's cache directory if need be)."""
        if self.persist:
            from funnelc.lint.name_cache import cache_dir, disk_enabled
            from funnelc.parse import prepare_parser

            prepare_parser(cache_dir() if disk_enabled() else None)
        if self.language is None:
            yield
            return
        from funnelc.i18n import using

        with using(self.language):
            yield

    def compile(
        self, paths: Sequence[str | Path] | str | Path, *, lint: LintConfig | bool = False
    ) -> Result:
        """:func:`funnelc.compile` in this session."""
        from funnelc.compiler import compile as run

        return run(paths, lint=lint, session=self)

    def compile_text(
        self, text: str, path: str = "<input>.funnel", *, lint: LintConfig | bool = False
    ) -> Result:
        """:func:`funnelc.compile_text` in this session."""
        from funnelc.compiler import compile_text as run

        return run(text, path, lint=lint, session=self)

    def compile_texts(self, texts: Mapping[str, str], *, lint: LintConfig | bool = False) -> Result:
        """:func:`funnelc.compile_texts` in this session."""
        from funnelc.compiler import compile_texts as run

        return run(texts, lint=lint, session=self)

    def flush(self) -> None:
        """Write what is to be kept on disk (only with ``persist``); the CLI calls it at exit."""
        self.names.flush()
