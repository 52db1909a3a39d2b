"""What the language server knows about a build: the compiler's diagnostics and an index of
every id's definition and uses, built from the compiler's own passes (parse → lower → resolve
→ validate → lint, and the CRM targets' checks when the project builds them).

Everything here is pure: texts in, a :class:`Build` out.  A *unit* is the set of files compiled
together for one document: the files of the project's ``sources`` when a ``funnelc.toml`` covers
the document (as ``funnelc check`` would compile them), else the document and what it imports.
Open documents are in-memory overlays over the files on disk.

Identities (``Key``) are tuples: ``("pipeline", p)``, ``("stage", p, s)`` (pipeline ids are
global to a build), ``("field", path, p, f)`` and ``("reason", path, p, r)`` where ``p`` is
``""`` for a declaration at file level (a field or reason is visible to the pipelines of its
file and of the files that import it).
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from funnelc.diagnostics import Diagnostic
from funnelc.model import Field, LossReason, Module, Pipeline, Project, Ref, Stage
from funnelc.source import SourceFile, Span

if TYPE_CHECKING:
    from funnelc.compiler import Result
    from funnelc.lint.engine import LintConfig
    from funnelc.loader import Loaded
    from funnelc.session import Session

Key = tuple[str, ...]
Entity = Pipeline | Stage | Field | LossReason

ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_IMPORT = re.compile(r'^[ \t\ufeff]*import[ \t]+"((?:[^"\\\n]|\\.)*)"', re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One id in the text: where, what it names, and whether it is the declaration."""

    key: Key
    span: Span
    definition: bool = False

    @property
    def kind(self) -> str:
        return self.key[0]

    @property
    def name(self) -> str:
        return self.key[-1]


@dataclass(frozen=True, slots=True)
class Declared:
    """The declaration of a key: the model node, its file and (for stages) its pipeline."""

    key: Key
    entity: Entity
    span: Span
    pipeline: Pipeline | None = None


@dataclass(frozen=True, slots=True)
class Index:
    """Every occurrence of every id in a unit, by file in text order, and the declarations."""

    by_path: Mapping[str, tuple[Occurrence, ...]]
    declared: Mapping[Key, Declared]
    _starts: Mapping[str, tuple[int, ...]] = field(repr=False, compare=False)

    def at(self, path: str, offset: int) -> Occurrence | None:
        """The occurrence under ``offset`` (touching either end counts)."""
        found = self.by_path.get(path, ())
        starts = self._starts.get(path, ())
        i = bisect.bisect_right(starts, offset) - 1
        for j in (i, i - 1):
            if 0 <= j < len(found) and found[j].span.start <= offset <= found[j].span.end:
                return found[j]
        return None

    def uses(self, key: Key) -> list[Occurrence]:
        """Every occurrence of ``key``, the declaration included, by file and position."""
        return [o for path in sorted(self.by_path) for o in self.by_path[path] if o.key == key]

    def keys_of_kind(self, kind: str) -> list[Key]:
        return [k for k in self.declared if k[0] == kind]


def import_target(importer: str, value: str) -> str:
    """The path an ``import "value"`` in the file ``importer`` names (as the loader does it)."""
    return Path(os.path.normpath(Path(importer).parent / value)).as_posix()


def closure(module_path: str, imports: Mapping[str, Sequence[str]]) -> list[str]:
    """The files visible from ``module_path``: itself and, transitively, what it imports."""
    seen: list[str] = []
    pending = [module_path]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.append(current)
        pending.extend(reversed(tuple(imports.get(current, ()))))
    return seen


def _id_span(source: SourceFile | None, span: Span, name: str) -> Span:
    """The span of the id ``name`` inside ``span`` (the span itself when it is exactly it)."""
    if source is None:
        return span
    text = source.text
    if text[span.start : span.end] == name:
        return span
    found = [m for m in ID.finditer(text, span.start, span.end) if m.group() == name]
    if not found:
        return span
    return Span(span.path, found[-1].start(), found[-1].end())


def build_index(modules: Sequence[Module], sources: Mapping[str, SourceFile]) -> Index:
    """The index of a unit's declared modules (resolved or not: it works on a broken build)."""
    imports = {
        m.path: tuple(
            t
            for t in (import_target(m.path, i.path.value) for i in m.imports)
            if any(o.path == t for o in modules)
        )
        for m in modules
    }
    by_module = {m.path: m for m in modules}
    occurrences: dict[str, list[Occurrence]] = {m.path: [] for m in modules}
    declared: dict[Key, Declared] = {}

    def add(key: Key, span: Span, definition: bool = False) -> None:
        occurrences.setdefault(span.path, []).append(Occurrence(key, span, definition))

    def declare(key: Key, entity: Entity, ident_span: Span, p: Pipeline | None = None) -> None:
        declared.setdefault(key, Declared(key, entity, ident_span, p))
        add(key, ident_span, True)

    pipelines: dict[str, Pipeline] = {}
    for module in modules:
        for f in module.fields:
            declare(("field", module.path, "", f.id.name), f, f.id.span)
        for r in module.reasons:
            declare(("reason", module.path, "", r.id.name), r, r.id.span)
        for p in module.pipelines:
            pipelines.setdefault(p.id.name, p)
            declare(("pipeline", p.id.name), p, p.id.span)
            for f in p.fields:
                declare(("field", module.path, p.id.name, f.id.name), f, f.id.span, p)
            for r in p.reasons:
                declare(("reason", module.path, p.id.name, r.id.name), r, r.id.span, p)
            for s in p.stages:
                declare(("stage", p.id.name, s.id.name), s, s.id.span, p)

    def scoped(kind: str, module: Module, p: Pipeline, name: str) -> Key:
        """The key a ``requires``/``reasons`` id refers to: the pipeline's own declaration,
        else the file's, else an imported file's; an unknown id keys on the pipeline."""
        own: Key = (kind, module.path, p.id.name, name)
        if own in declared:
            return own
        for path in closure(module.path, imports):
            candidate: Key = (kind, path, "", name)
            if candidate in declared and path in by_module:
                return candidate
        return own

    for module in modules:
        source = sources.get(module.path)

        def stage_ref(p: Pipeline, ref: Ref | None, source: SourceFile | None = source) -> None:
            if ref is None:
                return
            span = _id_span(source, ref.span, ref.name) if ref.pipeline is None else ref.span
            if ref.pipeline is not None:
                head = Span(span.path, span.start, span.start + len(ref.pipeline))
                add(("pipeline", ref.pipeline), head)
                span = Span(span.path, span.end - len(ref.name), span.end)
                add(("stage", ref.pipeline, ref.name), span)
            else:
                add(("stage", p.id.name, ref.name), span)

        for p in module.pipelines:
            stage_ref(p, p.timeout)
            for s in p.stages:
                stage_ref(p, s.timeout)
                stage_ref(p, s.then)
                stage_ref(p, s.next)
                for ref in s.requires:
                    add(scoped("field", module, p, ref.name), ref.span)
                for ref in s.reasons:
                    add(scoped("reason", module, p, ref.name), ref.span)
            for e in p.edges:
                stage_ref(p, e.source)
                stage_ref(p, e.target)
            for rv in p.revives:
                stage_ref(p, rv.source)
                stage_ref(p, rv.target)
    ordered = {
        path: tuple(sorted(found, key=lambda o: (o.span.start, o.span.end)))
        for path, found in occurrences.items()
    }
    starts = {path: tuple(o.span.start for o in found) for path, found in ordered.items()}
    return Index(ordered, declared, starts)


# ---- units and builds ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Settings:
    """What the project's ``funnelc.toml`` says that matters to the server."""

    config_path: Path | None = None
    sources: tuple[Path, ...] = ()
    lint: LintConfig | None = None
    targets: tuple[str, ...] = ()
    target_options: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    language: str | None = None
    problems: tuple[Diagnostic, ...] = ()


def project_settings(document: Path) -> Settings:
    """The settings of the project the file ``document`` belongs to (the nearest config)."""
    from funnelc.config import find_config, load_config

    path = find_config(document.parent)
    if path is None:
        return Settings()
    config, problems = load_config(path)
    from funnelc.lint.engine import LintConfig, config_from_table

    lint = LintConfig()
    if not problems:
        lint, lint_problems = config_from_table(config.lint, path)
        problems = [*problems, *lint_problems]
    return Settings(
        config_path=path,
        sources=tuple(config.sources),
        lint=lint,
        targets=tuple(config.targets),
        target_options=config.target_options,
        language=config.language,
        problems=tuple(problems),
    )


def unit_paths(document: str, settings: Settings, read: Callable[[str], str | None]) -> list[str]:
    """The files compiled with ``document``: the project's sources when they contain it, else
    the document and (transitively) what it imports, read through ``read`` (overlays first)."""
    if settings.config_path is not None and settings.sources:
        from funnelc.loader import discover

        root = settings.config_path.parent
        found, _ = discover([root / s for s in settings.sources], root.resolve())
        paths = sorted({p.resolve().as_posix() for p, _root, _i in found})
        if document in paths:
            # Files the sources import from elsewhere are followed below.
            return _with_imports(paths, read)
    return _with_imports([document], read)


def _with_imports(start: Iterable[str], read: Callable[[str], str | None]) -> list[str]:
    seen: list[str] = []
    pending = list(start)
    while pending:
        path = pending.pop(0)
        if path in seen:
            continue
        text = read(path)
        if text is None:
            continue
        seen.append(path)
        pending.extend(import_target(path, m.group(1)) for m in _IMPORT.finditer(text))
    return seen


@dataclass(frozen=True, slots=True)
class Build:
    """One compilation of a unit: its diagnostics (every file's), sources, declared modules,
    the resolved project when it resolved, and the index."""

    paths: tuple[str, ...]
    diagnostics: tuple[Diagnostic, ...]
    sources: Mapping[str, SourceFile]
    modules: tuple[Module, ...]
    project: Project | None
    index: Index

    def diagnostics_for(self, path: str) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.span is not None and d.span.path == path]


def compile_unit(
    texts: Mapping[str, str], settings: Settings, *, session: Session | None = None
) -> Build:
    """Compile ``texts`` (path → text) as ``funnelc check`` does, with the project's lint
    configuration, then the configured CRM targets' limit checks when the build is clean.

    ``session`` is the compiler's :class:`funnelc.session.Session` (the language, the
    bounded caches kept between checks).  The files
    are read and parsed once: the declared modules the index needs come from the same load as
    the diagnostics, even when a later pass found errors and the result has no project.
    """
    from funnelc.loader import load_texts

    lint: LintConfig | bool = settings.lint if settings.lint is not None else True
    loaded = load_texts(dict(texts))
    result = _passes(loaded, lint, session)
    diagnostics = list(result.diagnostics)
    if result.project is not None:
        diagnostics.extend(_target_checks(result.project, settings))
    return Build(
        paths=tuple(texts),
        diagnostics=tuple(diagnostics),
        sources=loaded.sources,
        modules=loaded.modules,
        project=result.project,
        index=build_index(loaded.modules, loaded.sources),
    )


def _passes(loaded: Loaded, lint: LintConfig | bool, session: Session | None) -> Result:
    """The compiler's passes after loading, on ``loaded``: what ``compile_texts`` runs after
    its own ``load_texts`` (the same driver, so the same diagnostics)."""
    from funnelc import compiler

    return compiler._run(lambda: loaded, lint, session)


def _target_checks(project: Project, settings: Settings) -> list[Diagnostic]:
    """The limit checks of the CRM targets the project builds (``targets`` in its config)."""
    if not settings.targets:
        return []
    from funnelc.emit import REGISTRY, EmitOptions, get_target

    options = EmitOptions(language=settings.language, target_options=settings.target_options)
    found: list[Diagnostic] = []
    for name in settings.targets:
        if name not in REGISTRY:
            continue
        check = getattr(get_target(name), "check", None)
        if check is not None:
            found.extend(check(project, options))
    return found
