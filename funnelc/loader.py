"""Reading a build's files: inputs → sources → parsed and lowered modules, imports followed.

The inputs are the files and directories given on the command line (directories are searched
for ``*.funnel``).  Each input has a *root*: the directory it was found under, or the directory
the file is in.  An import is resolved relative to the importing file and must stay inside the
root of the input that led to it (F503), and a ``.funnel`` file that is a link out of its root
is never opened (F506), so a build cannot read files outside the project it was pointed at.
Every file is read once, however many times it is imported.

The build has one *project root*: the directory of the config file when the caller gives it,
else the inputs' root (:func:`inputs_root`).  Each source's ``project_path`` is relative to it,
and is what outputs show; modules are ordered by it, so neither the working directory nor the
order of the arguments changes a byte of the outputs.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from funnelc import codes
from funnelc.diagnostics import Diagnostic, Label, did_you_mean
from funnelc.i18n import _, ngettext
from funnelc.lower import lower
from funnelc.model import Module
from funnelc.parse import parse
from funnelc.source import SourceFile, Span, display_path, relative_to_root

EXTENSION = ".funnel"


@dataclass(frozen=True, slots=True)
class Loaded:
    """Everything read for one build, in a deterministic order."""

    sources: dict[str, SourceFile]
    modules: tuple[Module, ...]
    imports: dict[str, tuple[str, ...]]
    """For each module's path, the paths of the modules it imports directly."""
    diagnostics: tuple[Diagnostic, ...]
    root: Path | None = None
    """The project root (resolved) the sources' ``project_path`` is relative to; ``None`` for
    in-memory sources."""


def inputs_root(paths: Iterable[Path]) -> Path:
    """The project root of a build without a config file: the deepest directory that
    contains every input, where a directory given counts as itself and a file as the directory
    it is in (links resolved).  The working directory when no input exists."""
    directories: list[str] = []
    for given in paths:
        absolute = given.absolute()
        if absolute.is_dir():
            directories.append(str(absolute.resolve()))
        elif absolute.exists() or absolute.is_symlink():
            directories.append(str(absolute.parent.resolve()))
    if not directories:
        return Path.cwd().resolve()
    try:
        return Path(os.path.commonpath(directories))
    except ValueError:  # inputs on different drives (Windows)
        return Path.cwd().resolve()


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def _shown_link(link: Path) -> str:
    """A link's display path, the link itself rather than what it points to."""
    parent = display_path(link.parent)
    return link.name if parent == "." else f"{parent}/{link.name}"


def _link_outside(link: Path, root: Path) -> Diagnostic:
    return codes.make(
        "F506",
        None,
        path=_shown_link(link),
        root=display_path(root),
        notes=[_("it points to `{target}`").format(target=display_path(link.resolve()))],
    )


def _search(directory: Path) -> tuple[list[Path], list[Diagnostic]]:
    """The ``*.funnel`` files under ``directory`` (resolved) in a stable order.

    Directories reached through a link are not searched (what they hold inside the tree is
    found by its own path).  A file that is a link is read only if it leads to a file inside
    ``directory``; a link out of the tree is reported (F506) and never opened, so that a
    checked-out repository cannot make funnelc print ``/proc/self/environ`` or a key file.
    """
    found: list[Path] = []
    diagnostics: list[Diagnostic] = []
    for current, subdirectories, files in os.walk(directory, followlinks=False):
        subdirectories.sort()
        for name in sorted(files):
            if not name.endswith(EXTENSION):
                continue
            path = Path(current) / name
            if path.is_symlink():
                target = path.resolve()
                if not _inside(target, directory):
                    diagnostics.append(_link_outside(path, directory))
                    continue
                if target.is_file():
                    found.append(target)
            elif path.is_file():
                found.append(path)
    return found, diagnostics


def discover(
    paths: Iterable[Path], project_root: Path | None = None
) -> tuple[list[tuple[Path, Path, int]], list[Diagnostic]]:
    """The ``(file, root, input index)`` triples named by ``paths``; directories are searched
    recursively.  The files are ordered by their path within ``project_root`` (the inputs'
    root by default), so the order of the arguments changes nothing."""
    paths = list(paths)
    project = project_root or inputs_root(paths)
    found: list[tuple[Path, Path, int]] = []
    diagnostics: list[Diagnostic] = []
    for index, given in enumerate(paths):
        if given.is_dir():
            root = given.resolve()
            files, problems = _search(root)
            diagnostics.extend(problems)
            found.extend((f, root, index) for f in files)
        elif given.is_file():
            root = given.absolute().parent.resolve()
            target = given.resolve()
            if given.is_symlink() and not _inside(target, root):
                diagnostics.append(_link_outside(given.absolute(), root))
            else:
                found.append((target, root, index))
        else:
            diagnostics.append(
                codes.make(
                    "F504", None, path=given.as_posix(), reason=_("no such file or directory")
                )
            )
    if not found and not diagnostics:
        shown = ", ".join(f"`{p.as_posix()}`" for p in paths) or _("an empty list of paths")
        diagnostics.append(codes.make("F505", None, paths=shown))
    found.sort(key=lambda item: (relative_to_root(item[0], project), item[2]))
    return found, diagnostics


_CYRILLIC = re.compile("[\u0400-\u04ff]")
_LATIN = re.compile("[A-Za-z]")


def looks_like_cp1251(data: bytes) -> bool:
    """Whether ``data`` reads as Windows-1251 Russian text: it decodes, its non-ASCII
    characters are mostly Cyrillic letters, and those letters make words of their own (a
    Latin-1 ``é`` also decodes, as ``й``, but inside Latin words)."""
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError:
        return False
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide:
        return False
    cyrillic = sum(1 for c in wide if _CYRILLIC.match(c))
    if cyrillic < 0.9 * len(wide):
        return False
    words = [w for w in re.findall(r"\w+", text) if _CYRILLIC.search(w)]
    mixed = sum(1 for w in words if _LATIN.search(w))
    return mixed <= 0.1 * len(words)


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _not_utf8(
    shown: str, root_path: str, data: bytes, error: UnicodeDecodeError
) -> tuple[SourceFile, Diagnostic]:
    """F508 at the first byte that is not UTF-8, with the file decoded for the excerpt (as
    Windows-1251 when it looks like it, else with U+FFFD for what cannot be read)."""
    # What comes before the first bad byte is UTF-8; the rest decides the guess.
    head = _lines(data[: error.start].decode("utf-8"))
    cp1251 = looks_like_cp1251(data[error.start :])
    rest = data[error.start :].decode("cp1251" if cp1251 else "utf-8", errors="replace")
    source = SourceFile(shown, head + _lines(rest), root_path)
    position = source.position(len(head))
    name = shown.rsplit("/", 1)[-1]
    help_line = (
        _(
            "it looks like Windows-1251: convert it with "
            "`iconv -f cp1251 -t utf-8 {name} > {name}.utf8` and replace the file with the "
            "result, or reopen it in the editor as Windows-1251 and save it with the encoding "
            "UTF-8 (VS Code: “Save with Encoding”)"
        ).format(name=name)
        if cp1251
        else None
    )
    diagnostic = codes.make(
        "F508",
        source.span(len(head), len(head) + 1),
        path=shown,
        byte=f"0x{data[error.start]:02X}",
        line=str(position.line),
        column=str(position.column),
        help=help_line,
    )
    return source, diagnostic


def read_source(
    path: Path, root: Path | None = None
) -> tuple[SourceFile | None, Diagnostic | None]:
    """The file at ``path`` as a source (its project path relative to ``root``), or why it
    cannot be read.  A file that is not UTF-8 gives both: the diagnostic and the text decoded
    as well as it can be, for the excerpt."""
    shown = display_path(path)
    root_path = relative_to_root(path, root) if root is not None else shown
    try:
        data = path.read_bytes()
    except OSError as error:
        return None, codes.make("F504", None, path=shown, reason=error.strerror or str(error))
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        source, diagnostic = _not_utf8(shown, root_path, data, error)
        return source, diagnostic
    # One convention for line breaks everywhere, so spans and outputs do not depend on the OS.
    return SourceFile(shown, _lines(text), root_path), None


class _Loader:
    # A plain class, not a dataclass: making one costs a third of a millisecond at import,
    # which every `funnelc check` pays (see bench/run.py's start-up figure).
    __slots__ = ("diagnostics", "imports", "modules", "order", "project_root", "sources")

    def __init__(self, project_root: Path | None = None) -> None:
        self.project_root = project_root
        self.sources: dict[str, SourceFile] = {}
        self.modules: dict[str, Module] = {}
        self.imports: dict[str, tuple[str, ...]] = {}
        self.order: list[str] = []
        self.diagnostics: list[Diagnostic] = []

    def load_text(self, source: SourceFile) -> Module | None:
        self.sources[source.path] = source
        if source.surrogates:
            first = source.surrogates[0]
            count = len(source.surrogates)
            self.diagnostics.append(
                codes.make(
                    "F507",
                    source.span(first, first + 1),
                    notes=[
                        ngettext(
                            "{count} code point was replaced in this file",
                            "{count} code points were replaced in this file",
                            count,
                        ).format(count=count)
                    ]
                    if count > 1
                    else [],
                )
            )
        module, diagnostics = lower(source, parse(source))
        self.diagnostics.extend(diagnostics)
        if (
            module is not None
            and not (module.imports or module.fields or module.reasons or module.pipelines)
            and not any(d.is_error for d in diagnostics)
        ):
            self.diagnostics.append(codes.make("F509", source.span(0, 0), path=source.path))
        return module

    def load(
        self, path: Path, root: Path, stack: tuple[str, ...] = (), via: Span | None = None
    ) -> str | None:
        """Read ``path`` (imported at ``via``, if it was imported) and what it imports."""
        shown = display_path(path)
        if shown in self.modules or shown in self.sources:
            return shown
        source, problem = read_source(path, self.project_root)
        if problem is not None:
            if source is not None:
                self.sources[source.path] = source
                labels = (Label(via, _("imported here")),) if via else ()
                self.diagnostics.append(replace(problem, labels=problem.labels + labels))
            else:
                self.diagnostics.append(replace(problem, span=via) if via else problem)
            return None
        assert source is not None
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


def load(paths: Sequence[Path], root: Path | None = None) -> Loaded:
    """Read, parse and lower every file named by ``paths`` and everything they import.

    ``root`` is the project root (the directory of the config file); without it, the inputs'
    root (:func:`inputs_root`).  Paths written into outputs are relative to it."""
    project_root = root.resolve() if root is not None else inputs_root(paths)
    loader = _Loader(project_root)
    found, diagnostics = discover(paths, project_root)
    loader.diagnostics.extend(diagnostics)
    given: dict[int, list[str]] = {}
    for path, input_root, index in found:
        shown = loader.load(path, input_root)
        given.setdefault(index, []).append(shown or "")
    _no_pipelines(loader, paths, given)
    return _finish(loader)


def _no_pipelines(loader: _Loader, paths: Sequence[Path], given: dict[int, list[str]]) -> None:
    """F510 for an input under which no file declares a pipeline, unless its files are
    imported by others (shared declarations) or are empty (already reported), or the build
    has errors."""
    if any(d.is_error for d in loader.diagnostics):
        return  # the errors matter more, and may be why nothing was declared
    imported = {target for targets in loader.imports.values() for target in targets}
    for index, shown in sorted(given.items()):
        modules = [loader.modules[s] for s in shown if s in loader.modules]
        if len(modules) != len(shown) or any(m.pipelines for m in modules):
            continue  # unreadable files were reported; or there is something to build
        if any(m.path in imported for m in modules):
            continue
        if all(not (m.imports or m.fields or m.reasons) for m in modules):
            continue  # empty files: F509 each
        loader.diagnostics.append(codes.make("F510", None, path=paths[index].as_posix() or "."))


def load_texts(texts: dict[str, str]) -> Loaded:
    """Load in-memory sources (for the API, tests and editors); imports are not followed
    outside ``texts`` but may name another of its keys."""
    loader = _Loader()
    for path in sorted(texts):
        source = SourceFile(path, _lines(texts[path]))
        module = loader.load_text(source)
        if module is not None:
            loader.modules[source.path] = module
            loader.order.append(source.path)
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
    # Modules in the order of their paths within the project, whatever the order of the
    # inputs or of the imports: pipelines, CRM sort values and "the first pipeline" follow it.
    order = sorted(loader.order, key=lambda p: (loader.sources[p].project_path, p))
    return Loaded(
        sources=dict(loader.sources),
        modules=tuple(loader.modules[p] for p in order),
        imports=dict(loader.imports),
        diagnostics=tuple(loader.diagnostics),
        root=loader.project_root,
    )


__all__ = [
    "EXTENSION",
    "Loaded",
    "discover",
    "display_path",
    "inputs_root",
    "load",
    "load_texts",
    "looks_like_cp1251",
    "read_source",
]
