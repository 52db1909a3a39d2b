"""Reading a build's files: inputs → sources → parsed and lowered modules, imports followed.

The inputs are the files and directories given on the command line (directories are searched
for ``*.funnel``).  Each input has a *root*: the directory it was found under, or the file's
own directory.  An import is resolved relative to the importing file and must stay inside the
root of the input that led to it, so a build cannot read files outside the project it was
pointed at.  Every file is read once, however many times it is imported.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from funnelc import codes
from funnelc.diagnostics import Diagnostic, did_you_mean
from funnelc.i18n import _
from funnelc.lower import lower
from funnelc.model import Module
from funnelc.parse import parse
from funnelc.source import SourceFile, Span, display_path

EXTENSION = ".funnel"


@dataclass(frozen=True, slots=True)
class Loaded:
    """Everything read for one build, in a deterministic order."""

    sources: dict[str, SourceFile]
    modules: tuple[Module, ...]
    imports: dict[str, tuple[str, ...]]
    """For each module's path, the paths of the modules it imports directly."""
    diagnostics: tuple[Diagnostic, ...]


def discover(paths: Iterable[Path]) -> tuple[list[tuple[Path, Path]], list[Diagnostic]]:
    """The ``(file, root)`` pairs named by ``paths``; directories are searched recursively."""
    found: list[tuple[Path, Path]] = []
    diagnostics: list[Diagnostic] = []
    for given in paths:
        if given.is_dir():
            root = given.resolve()
            files = sorted(
                (p for p in given.rglob(f"*{EXTENSION}") if p.is_file()),
                key=lambda p: p.relative_to(given).as_posix(),
            )
            found.extend((f.resolve(), root) for f in files)
        elif given.is_file():
            found.append((given.resolve(), given.resolve().parent))
        else:
            diagnostics.append(
                codes.make(
                    "F504", None, path=given.as_posix(), reason=_("no such file or directory")
                )
            )
    if not found and not diagnostics:
        shown = ", ".join(f"`{p.as_posix()}`" for p in paths) or _("an empty list of paths")
        diagnostics.append(codes.make("F505", None, paths=shown))
    return found, diagnostics


def read_source(path: Path) -> SourceFile | Diagnostic:
    shown = display_path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        return codes.make("F504", None, path=shown, reason=error.strerror or str(error))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return codes.make(
            "F504",
            None,
            path=shown,
            reason=_("it is not UTF-8 (byte {offset}); save it as UTF-8").format(
                offset=error.start
            ),
        )
    # One convention for line breaks everywhere, so spans and outputs do not depend on the OS.
    return SourceFile(shown, text.replace("\r\n", "\n").replace("\r", "\n"))


@dataclass
class _Loader:
    sources: dict[str, SourceFile] = field(default_factory=dict)
    modules: dict[str, Module] = field(default_factory=dict)
    imports: dict[str, tuple[str, ...]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def load_text(self, source: SourceFile) -> Module | None:
        self.sources[source.path] = source
        module, diagnostics = lower(source, parse(source))
        self.diagnostics.extend(diagnostics)
        return module

    def load(
        self, path: Path, root: Path, stack: tuple[str, ...] = (), via: Span | None = None
    ) -> str | None:
        """Read ``path`` (imported at ``via``, if it was imported) and what it imports."""
        shown = display_path(path)
        if shown in self.modules or shown in self.sources:
            return shown
        source = read_source(path)
        if isinstance(source, Diagnostic):
            self.diagnostics.append(replace(source, span=via) if via else source)
            return None
        module = self.load_text(source)
        if module is None:
            return shown
        self.modules[shown] = module
        targets: list[str] = []
        for imported in module.imports:
            target = self.follow(
                path, root, imported.path.value, imported.path.span, (*stack, shown)
            )
            if target is not None:
                targets.append(target)
        self.imports[shown] = tuple(targets)
        self.order.append(shown)
        return shown

    def follow(
        self, importer: Path, root: Path, relative: str, span: Span, stack: tuple[str, ...]
    ) -> str | None:
        target = Path(os.path.normpath(importer.parent / relative))
        try:
            target.resolve().relative_to(root)
        except ValueError:
            self.diagnostics.append(
                codes.make("F503", span, path=relative, root=display_path(root) or ".")
            )
            return None
        if not target.is_file():
            candidates = sorted(
                p.relative_to(importer.parent).as_posix()
                for p in importer.parent.rglob(f"*{EXTENSION}")
                if p.is_file() and p.resolve() != importer.resolve()
            )
            guess = did_you_mean(relative, candidates)
            hint = (
                _('did you mean `import "{path}"`?').format(path=guess)
                if guess
                else _("imports are relative to the importing file")
            )
            self.diagnostics.append(codes.make("F502", span, path=relative, hint=hint))
            return None
        shown = display_path(target)
        if shown in stack:
            cycle = [*stack[stack.index(shown) :], shown]
            self.diagnostics.append(
                codes.make(
                    "F501",
                    span,
                    cycle=" → ".join(f"`{c}`" for c in cycle),
                    help=_("remove the import: a file sees its own declarations")
                    if len(cycle) == 2
                    else None,
                )
            )
            return None
        if shown in self.modules:
            # Already read; its own imports were checked then, but a cycle through it that
            # closes here must still be found.
            if self.reaches(shown, stack):
                cycle = [*stack[stack.index(self.first_on_path(shown, stack)) :], shown]
                self.diagnostics.append(
                    codes.make("F501", span, cycle=" → ".join(f"`{c}`" for c in cycle))
                )
                return None
            return shown
        return self.load(target, root, stack, via=span)

    def reaches(self, start: str, stack: tuple[str, ...]) -> bool:
        return bool(self.first_on_path(start, stack))

    def first_on_path(self, start: str, stack: tuple[str, ...]) -> str:
        seen: set[str] = set()
        pending = [start]
        while pending:
            current = pending.pop()
            if current in stack:
                return current
            if current in seen:
                continue
            seen.add(current)
            pending.extend(self.imports.get(current, ()))
        return ""


def load(paths: Sequence[Path]) -> Loaded:
    """Read, parse and lower every file named by ``paths`` and everything they import."""
    loader = _Loader()
    found, diagnostics = discover(paths)
    loader.diagnostics.extend(diagnostics)
    for path, root in found:
        loader.load(path, root)
    return _finish(loader)


def load_texts(texts: dict[str, str]) -> Loaded:
    """Load in-memory sources (for the API, tests and editors); imports are not followed
    outside ``texts`` but may name another of its keys."""
    loader = _Loader()
    for path in sorted(texts):
        source = SourceFile(path, texts[path].replace("\r\n", "\n").replace("\r", "\n"))
        module = loader.load_text(source)
        if module is not None:
            loader.modules[path] = module
            loader.order.append(path)
    wanted: dict[str, list[tuple[str, Span]]] = {}
    for path in loader.order:
        wanted[path] = []
        for imported in loader.modules[path].imports:
            target = Path(os.path.normpath(Path(path).parent / imported.path.value)).as_posix()
            if target in loader.modules:
                wanted[path].append((target, imported.path.span))
            else:
                loader.diagnostics.append(
                    codes.make(
                        "F502",
                        imported.path.span,
                        path=imported.path.value,
                        hint=_("imports are relative to the importing file"),
                    )
                )
    # The same rule as for files on disk: an import that closes a cycle is reported and cut.
    done: set[str] = set()

    def visit(path: str, stack: tuple[str, ...]) -> None:
        if path in done:
            return
        kept: list[str] = []
        for target, span in wanted[path]:
            if target in stack or target == path:
                cycle = (
                    [*stack[stack.index(target) :], path, target]
                    if target in stack
                    else [
                        path,
                        target,
                    ]
                )
                loader.diagnostics.append(
                    codes.make("F501", span, cycle=" → ".join(f"`{c}`" for c in cycle))
                )
                continue
            kept.append(target)
            visit(target, (*stack, path))
        loader.imports[path] = tuple(kept)
        done.add(path)

    for path in loader.order:
        visit(path, ())
    return _finish(loader)


def _finish(loader: _Loader) -> Loaded:
    return Loaded(
        sources=dict(loader.sources),
        modules=tuple(loader.modules[p] for p in loader.order),
        imports=dict(loader.imports),
        diagnostics=tuple(loader.diagnostics),
    )


__all__ = ["EXTENSION", "Loaded", "discover", "display_path", "load", "load_texts"]
