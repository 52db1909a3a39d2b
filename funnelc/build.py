"""Running the targets and writing their files: all or nothing, even when the process is killed.

**Emitting.**  Every requested target emits every pipeline into memory first.  Only when no
target reported an error is anything written.

**What a build may touch.**  The output directory keeps a manifest (``.funnelc-manifest``) of
the files funnelc wrote there, each with its target (the first path component), size and
SHA-256.  A build of some targets removes a stale file only when (a) it belongs to one of *this
build's* targets, (b) the manifest lists it, (c) it is still a regular file with the bytes
funnelc wrote (a file edited since is kept and reported), and (d) no symbolic link leads to it.
Another target's files stay, and so do their manifest entries, so a later build of that target
still knows what it wrote.  A file the manifest does not list is never touched.  A manifest of
the first format (paths only, no sizes or hashes) is read as well: its entries count as
funnelc's, by the same per-target rule, and the next build rewrites it in the new format.

**Links.**  Nothing is written, read or deleted through a symbolic link *below* the output
directory (the directory itself may be a link: the user named it).  A link on the way to a file
this build must write stops the build before anything is written (F606); a stale entry that
leads through a link is dropped from the manifest and left alone.

**All or nothing, even when killed.**  Writing has three steps:

1. *Stage*: every changed file is written in full and fsynced to a temporary file beside its
   final path (``.<name>.funnelc-<random>.tmp``); the file it replaces gets a second hard link
   (``.<name>.funnelc-<random>.bak``) where the file system has them.  A full disk fails here,
   before anything is replaced.
2. *Commit*: a journal (``.funnelc-journal``) listing the renames, and the stale files to delete
   with their sizes and hashes, is written to a temporary file, fsynced, and renamed into place.
   That rename is the commit point.
3. *Apply*: the temporaries are renamed over their final paths (the manifest last), the stale
   files are deleted, the backups removed, the folders fsynced, and the journal removed.

Every build first *recovers* what a killed one left: with a journal present it rolls the build
forward (a rename whose temporary is gone was done; a deletion is repeated if the file still
has the recorded hash; a journal entry that is not a funnelc temporary renamed to a sibling,
through no link, is ignored), without one it rolls back (funnelc's temporaries and backups
are removed, which leaves the old files).  Either way the outputs are entirely the old build's
or entirely the new one's.  If a rename fails in the running process (a vanished directory, a
permission change), the renames already done are undone from the backups, so a failed build
leaves every file as it was (without hard links, a replaced file cannot be restored).
Temporaries of the previous format (``.<name>.XXXXXXXX.tmp`` from ``mkstemp``, beside a file
the manifest lists) are removed too.  Only the output directory, its immediate folders and the
folders the manifest names are searched for leftovers.  New files get the usual mode, ``0666``
less the umask.  Recovery and writing hold an advisory lock (``flock``) on the output
directory, so a second build into the same directory waits instead of sweeping away the first
one's temporaries.

**No-op rebuilds.**  The manifest records, per target, a hash of its inputs (funnelc's version,
the target, the emit options, and every source's path in the project and text).  When it is
unchanged, the target's last emit reported nothing, and every file the manifest lists for it
still has the recorded size and hash, the target is not emitted again: its files are read back
instead.
Files whose bytes did not change are not rewritten, so their timestamps stay put.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from funnelc import codes
from funnelc.diagnostics import Diagnostic, Severity, has_errors, suggest
from funnelc.emit import REGISTRY, EmitOptions, get_target, sharing
from funnelc.i18n import _
from funnelc.model import Project
from funnelc.version import __version__

MANIFEST = ".funnelc-manifest"
JOURNAL = ".funnelc-journal"
MANIFEST_HEADER = "# funnelc manifest 2"
_MANIFEST_COMMENT = (
    "# the files funnelc build wrote here, by target (the first path component); a build\n"
    "# removes the stale files of its own targets only, and never a file not listed here\n"
)
_OURS = re.compile(r"^\..+\.funnelc-[0-9a-f]{16}\.(tmp|bak)$")
_LEGACY_TEMP = re.compile(r"^\.(.+)\.[a-z0-9_]{8}\.tmp$")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)


@dataclass(frozen=True, slots=True)
class BuildResult:
    files: Mapping[str, bytes]
    """Relative path (``<target>/<pipeline>.<ext>``) → bytes, for every file of the build."""
    diagnostics: tuple[Diagnostic, ...]
    written: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    """Stale files of this build's targets that were deleted."""
    kept: tuple[str, ...] = ()
    """Stale files left in place because they changed since funnelc wrote them."""
    reused: tuple[str, ...] = ()
    """Targets whose inputs had not changed, so their files on disk were kept as they are."""


class LinkInOutput(Exception):
    """A path funnelc must write leads through a symbolic link below the output directory."""

    def __init__(self, path: Path) -> None:
        super().__init__(path.as_posix())
        self.path = path


@dataclass(slots=True)
class Manifest:
    files: dict[str, tuple[int, str] | None] = field(default_factory=dict)
    """Relative path → (size, sha256), or ``None`` for an entry of the first format."""
    inputs: dict[str, str] = field(default_factory=dict)
    """Target → the hash of the inputs its files were built from."""

    def render(self) -> bytes:
        lines = [MANIFEST_HEADER + "\n", _MANIFEST_COMMENT]
        lines += [f"input {target} {key}\n" for target, key in sorted(self.inputs.items())]
        for relative, record in sorted(self.files.items()):
            if record is None:
                lines.append(f"path {relative}\n")
            else:
                lines.append(f"file {record[1]} {record[0]} {relative}\n")
        return "".join(lines).encode("utf-8")


def check_targets(names: Sequence[str]) -> list[Diagnostic]:
    diagnostics = []
    for name in names:
        if name not in REGISTRY:
            hint = suggest(
                name, REGISTRY, _("targets: {targets}").format(targets=", ".join(sorted(REGISTRY)))
            )
            diagnostics.append(codes.make("F603", None, name=name, hint=hint))
    return diagnostics


def emit_all(project: Project, targets: Sequence[str], options: EmitOptions) -> BuildResult:
    """Emit every pipeline for every target, in memory."""
    files, diagnostics, _clean = _emit(project, targets, options)
    return BuildResult(files, diagnostics)


def _emit(
    project: Project, targets: Sequence[str], options: EmitOptions
) -> tuple[dict[str, bytes], tuple[Diagnostic, ...], set[str]]:
    """The files, the diagnostics, and the targets that emitted without any diagnostic."""
    diagnostics = check_targets(targets)
    files: dict[str, bytes] = {}
    clean: set[str] = set()
    if diagnostics:
        return files, tuple(diagnostics), clean
    with sharing():  # dot and svg compute each pipeline's DOT once
        for name in dict.fromkeys(targets):  # de-duplicated, order kept
            _emit_target(project, name, options, files, diagnostics, clean)
    return dict(sorted(files.items())), tuple(diagnostics), clean


def _emit_target(
    project: Project,
    name: str,
    options: EmitOptions,
    files: dict[str, bytes],
    diagnostics: list[Diagnostic],
    clean: set[str],
) -> None:
    target = get_target(name)
    before = len(diagnostics)
    if target.capabilities.checks:
        found = target.check(project, options)
        diagnostics.extend(found)
        if has_errors(found):
            return
    for pipeline in project.pipelines:
        emitted = target.emit(project, pipeline, options)
        diagnostics.extend(emitted.diagnostics)
        for filename, data in emitted.files.items():
            files[f"{name}/{filename}"] = data
    if len(diagnostics) == before:
        clean.add(name)


# ---- paths, links -------------------------------------------------------------------------


def target_of(relative: str) -> str:
    """The target a manifest path belongs to: its first component."""
    return relative.split("/", 1)[0]


def _well_formed(relative: str) -> bool:
    parts = relative.split("/")
    return (
        bool(relative)
        and "\\" not in relative
        and "\0" not in relative
        and not relative.startswith("/")
        and ":" not in parts[0]
        and all(part not in ("", ".", "..") for part in parts)
    )


def _link_on_the_way(out: Path, relative: str) -> Path | None:
    """The first component of ``out/relative`` (below ``out``) that is a symbolic link."""
    current = out
    for part in relative.split("/"):
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except OSError:
            return None  # missing: nothing further down exists either
        if stat.S_ISLNK(mode):
            return current
    return None


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _read_regular(path: Path) -> bytes | None:
    """The bytes of ``path`` if it is a regular file reached without following a final link."""
    try:
        handle = os.open(path, os.O_RDONLY | _NOFOLLOW | _BINARY)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            return None
        chunks = []
        while chunk := os.read(handle, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(handle)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fsync_directory(directory: Path) -> None:
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        handle = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


# ---- the manifest ------------------------------------------------------------------------


def read_manifest(out: Path) -> Manifest:
    """The manifest of ``out`` (either format); empty if missing, unreadable or a link."""
    data = _read_regular(out / MANIFEST)
    manifest = Manifest()
    if data is None:
        return manifest
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return manifest
    current = bool(lines) and lines[0].strip() == MANIFEST_HEADER
    for line in lines:
        if not line or line.startswith("#"):
            continue
        if not current:
            if _well_formed(line):
                manifest.files[line] = None
            continue
        kind, _space, rest = line.partition(" ")
        if kind == "input":
            target, _space, key = rest.partition(" ")
            if target and key:
                manifest.inputs[target] = key
        elif kind == "file":
            fields = rest.split(" ", 2)
            if len(fields) == 3 and fields[1].isdigit() and _well_formed(fields[2]):
                manifest.files[fields[2]] = (int(fields[1]), fields[0])
        elif kind == "path" and _well_formed(rest):
            manifest.files[rest] = None
    return manifest


def input_key(project: Project, target: str, options: EmitOptions) -> str | None:
    """The hash of everything a target's output depends on; ``None`` for a project that
    carries no source texts (built through the API by hand), which is never skipped."""
    if not project.sources:
        return None
    digest = hashlib.sha256()
    settings = {
        "renderer": options.renderer,
        "render_timeout": options.render_timeout,
        "validate_output": options.validate_output,
        "unsupported": options.unsupported,
        "target_options": options.target_options,
    }
    head = json.dumps(
        ["funnelc", __version__, target, settings], sort_keys=True, default=repr, ensure_ascii=True
    )
    digest.update(head.encode("utf-8"))
    # By the path relative to the project root (what outputs name), not the display path
    # (relative to the working directory), so a build from a subdirectory is a no-op too.
    for source in sorted(project.sources.values(), key=lambda s: (s.project_path, s.path)):
        path = source.project_path
        text = source.text.encode("utf-8", "surrogatepass")
        digest.update(f"\0{len(path)}:{path}\0{len(text)}:".encode("utf-8", "surrogatepass"))
        digest.update(text)
    return digest.hexdigest()


def _reuse(out: Path, manifest: Manifest, target: str) -> dict[str, bytes] | None:
    """The target's files on disk, if each is a regular file with its recorded size and hash."""
    files: dict[str, bytes] = {}
    for relative, record in manifest.files.items():
        if target_of(relative) != target:
            continue
        if record is None or _link_on_the_way(out, relative) is not None:
            return None
        data = _read_regular(out / relative)
        if data is None or len(data) != record[0] or _digest(data) != record[1]:
            return None
        files[relative] = data
    return files or None


# ---- recovery ------------------------------------------------------------------------------


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _remove_stale(out: Path, relative: str) -> None:
    """Delete a stale file, and its folder if that is now empty (never ``out`` itself)."""
    _remove(out / relative)
    if "/" in relative:
        with contextlib.suppress(OSError):
            (out / relative).parent.rmdir()  # only if now empty


def _read_journal(
    out: Path,
) -> tuple[list[tuple[str, str, str | None]], list[tuple[str, int, str]]] | None:
    data = _read_regular(out / JOURNAL)
    if data is None:
        return None
    try:
        document = json.loads(data.decode("utf-8"))
        renames = [
            (str(item[0]), str(item[1]), None if item[2] is None else str(item[2]))
            for item in document["renames"]
        ]
        deletions = [(str(item[0]), int(item[1]), str(item[2])) for item in document["delete"]]
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    return renames, deletions


def _journal_entry_ok(out: Path, temporary: str, final: str, backup: str | None) -> bool:
    """A journal line renames a funnelc temporary to a sibling path, through no link."""
    folder = final.rpartition("/")[0]
    ours = [temporary] + ([backup] if backup is not None else [])
    return (
        all(_well_formed(p) for p in (*ours, final))
        and all(p.rpartition("/")[0] == folder and _OURS.match(p.rpartition("/")[2]) for p in ours)
        and all(_link_on_the_way(out, p) is None for p in (*ours, final))
    )


def recover(out: Path) -> None:
    """Finish or undo what a killed build left in ``out``: roll forward a committed build (a
    journal is present), remove every temporary and backup funnelc left."""
    if not out.is_dir():
        return
    journal = _read_journal(out)
    if journal is not None:
        renames, deletions = journal
        for temporary, final, backup in renames:
            if not _journal_entry_ok(out, temporary, final, backup):
                continue
            if _is_regular(out / temporary):
                os.replace(out / temporary, out / final)  # noqa: PTH105
                _fsync_directory((out / final).parent)
        for relative, size, digest in deletions:
            if not _well_formed(relative) or _link_on_the_way(out, relative) is not None:
                continue
            data = _read_regular(out / relative)
            if data is not None and len(data) == size and _digest(data) == digest:
                _remove_stale(out, relative)
    if os.path.lexists(out / JOURNAL):
        _fsync_directory(out)
        _remove(out / JOURNAL)
    _sweep(out)


def _sweep(out: Path) -> None:
    """Remove funnelc's temporaries and backups (and the previous format's temporaries) from
    the output directory, its subdirectories (the targets' folders) and every folder the
    manifest names; a deeper tree (``--out .``, say) is not walked, and links are not
    followed."""
    listed: dict[str, set[str]] = {"": {MANIFEST, JOURNAL}}
    for relative in read_manifest(out).files:
        directory, _slash, name = relative.rpartition("/")
        listed.setdefault(directory, set()).add(name)
    with contextlib.suppress(OSError):
        for entry in os.scandir(out):
            if entry.is_dir(follow_symlinks=False):
                listed.setdefault(entry.name, set())
    for directory, known in sorted(listed.items()):
        if directory and _link_on_the_way(out, directory) is not None:
            continue
        try:
            entries = list(os.scandir(out / directory))
        except OSError:
            continue
        for entry in entries:
            legacy = _LEGACY_TEMP.match(entry.name)
            ours = _OURS.match(entry.name) or (legacy and legacy.group(1) in known)
            if ours and entry.is_file(follow_symlinks=False):
                _remove(Path(entry.path))


# ---- writing -------------------------------------------------------------------------------


def _sibling(path: Path, suffix: str) -> Path:
    return path.with_name(f".{path.name}.funnelc-{os.urandom(8).hex()}.{suffix}")


def _stage(path: Path, data: bytes) -> Path:
    """Write ``data`` to a new temporary file beside ``path`` (mode 0666 less the umask)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        temporary = _sibling(path, "tmp")
        try:
            handle = os.open(
                temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, 0o666
            )
        except FileExistsError:
            continue
        break
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:
        _remove(temporary)
        raise
    return temporary


def _backup(path: Path) -> Path | None:
    """A second hard link to the file at ``path``, to roll back to; ``None`` where the file
    system has no hard links (a failing rename then cannot be undone for that file)."""
    while True:
        backup = _sibling(path, "bak")
        try:
            os.link(path, backup)  # path is a regular file (checked): no link to follow
        except FileExistsError:
            continue
        except OSError:
            return None
        return backup


@dataclass(slots=True)
class _Step:
    relative: str
    temporary: Path
    final: Path
    existed: bool
    backup: Path | None


def _relative(out: Path, path: Path) -> str:
    return path.relative_to(out).as_posix()


def _commit(out: Path, steps: Sequence[_Step], deletions: Sequence[tuple[str, int, str]]) -> None:
    document = {
        "renames": [
            [
                _relative(out, step.temporary),
                _relative(out, step.final),
                None if step.backup is None else _relative(out, step.backup),
            ]
            for step in steps
        ],
        "delete": [list(item) for item in deletions],
    }
    data = (json.dumps(document, indent=1, sort_keys=True) + "\n").encode("utf-8")
    temporary = _stage(out / JOURNAL, data)
    os.replace(temporary, out / JOURNAL)  # noqa: PTH105
    _fsync_directory(out)


def _roll_back(out: Path, steps: Sequence[_Step], done: int) -> None:
    """Undo the first ``done`` renames (and the one that failed) from their backups."""
    for index in reversed(range(min(done + 1, len(steps)))):
        step = steps[index]
        if step.backup is not None:
            # os.replace, not Path.replace: undoing must not depend on what failed above
            os.replace(step.backup, step.final)  # noqa: PTH105
        elif index < done and not step.existed:
            _remove(step.final)
    for step in steps:
        _remove(step.temporary)
        if step.backup is not None:
            _remove(step.backup)
    _remove(out / JOURNAL)


def write_outputs(
    out: Path,
    files: Mapping[str, bytes],
    *,
    targets: Iterable[str] | None = None,
    inputs: Mapping[str, str] | None = None,
) -> tuple[list[str], list[str], list[str]]:
    """Write ``files`` under ``out``; returns the paths written, the stale paths removed and
    the stale paths kept because they changed since funnelc wrote them.

    ``targets`` are the targets this build is for (default: the first components of
    ``files``): only their stale files are removed.  ``inputs`` maps a target to the hash of
    its inputs, recorded in the manifest for the next no-op check.  Raises :class:`OSError`
    (nothing or everything written) and :class:`LinkInOutput` (nothing written).
    """
    built = set(targets) if targets is not None else {target_of(r) for r in files}
    recover(out)
    old = read_manifest(out)
    for relative in sorted(files):
        link = _link_on_the_way(out, relative)
        if link is not None:
            raise LinkInOutput(link)
    for special in (MANIFEST, JOURNAL):
        if (out / special).is_symlink():
            raise LinkInOutput(out / special)

    manifest = Manifest(
        {r: rec for r, rec in old.files.items() if target_of(r) not in built},
        {t: k for t, k in old.inputs.items() if t not in built},
    )
    manifest.inputs.update(inputs or {})
    changed: list[tuple[str, bytes]] = []
    for relative, data in sorted(files.items()):
        manifest.files[relative] = (len(data), _digest(data))
        if _read_regular(out / relative) != data:
            changed.append((relative, data))

    removed: list[str] = []
    kept: list[str] = []
    records: dict[str, tuple[int, str]] = {}
    for relative, record in sorted(old.files.items()):
        if target_of(relative) not in built or relative in files:
            continue
        if _link_on_the_way(out, relative) is not None:
            continue  # dropped from the manifest, never followed
        on_disk = _read_regular(out / relative)
        if on_disk is None:
            continue
        records[relative] = (len(on_disk), _digest(on_disk))
        if record is not None and records[relative] != record:
            kept.append(relative)
        else:
            removed.append(relative)

    rendered = manifest.render()
    if _read_regular(out / MANIFEST) != rendered:
        changed.append((MANIFEST, rendered))
    if not changed and not removed:
        return [], [], kept

    steps: list[_Step] = []
    try:
        for relative, data in changed:
            final = out / relative
            temporary = _stage(final, data)
            existed = _is_regular(final)
            steps.append(_Step(relative, temporary, final, existed, None))
            if existed:
                steps[-1].backup = _backup(final)
        _commit(out, steps, [(r, *records[r]) for r in removed])
    except BaseException:
        for step in steps:
            _remove(step.temporary)
            if step.backup is not None:
                _remove(step.backup)
        _remove(out / JOURNAL)
        raise
    done = 0
    try:
        for step in steps:
            step.temporary.replace(step.final)
            done += 1
    except OSError:
        with contextlib.suppress(OSError):
            _roll_back(out, steps, done)
        raise
    for relative in removed:
        _remove_stale(out, relative)
    for step in steps:
        if step.backup is not None:
            _remove(step.backup)
    for folder in sorted({step.final.parent for step in steps}):
        _fsync_directory(folder)  # the renames are durable before the journal goes
    _remove(out / JOURNAL)
    written = [relative for relative, _data in changed if relative != MANIFEST]
    return written, removed, kept


def build(
    project: Project,
    targets: Sequence[str],
    out: Path,
    options: EmitOptions,
    *,
    strict: bool = False,
) -> BuildResult:
    """Emit and, if every target succeeded, write the files under ``out``.

    With ``strict`` a warning from a target (an unsupported construct, say) also stops the
    build before anything is written.  A target whose inputs are unchanged since the last
    build and whose files on disk are intact is not emitted again (see the module docstring).
    """
    unknown = check_targets(targets)
    if unknown:
        return BuildResult({}, tuple(unknown))
    wanted = list(dict.fromkeys(targets))
    keys = {target: input_key(project, target, options) for target in wanted}
    try:
        with _exclusive(out):
            recover(out)
            manifest = read_manifest(out) if out.is_dir() else Manifest()
    except OSError as error:
        return BuildResult({}, (_not_written(error, out),))
    reused: dict[str, bytes] = {}
    reused_targets: list[str] = []
    emit: list[str] = []
    for target in wanted:
        key = keys[target]
        found = (
            _reuse(out, manifest, target)
            if key is not None and manifest.inputs.get(target) == key
            else None
        )
        if found is None:
            emit.append(target)
        else:
            reused.update(found)
            reused_targets.append(target)
    if not emit:  # a no-op: every file is intact, the manifest already says all of this
        return BuildResult(dict(sorted(reused.items())), (), reused=tuple(reused_targets))
    emitted, diagnostics, clean = _emit(project, emit, options)
    files = dict(sorted({**emitted, **reused}.items()))
    if has_errors(diagnostics) or (
        strict and any(d.severity is Severity.WARNING for d in diagnostics)
    ):
        return BuildResult(files, diagnostics)
    inputs = {
        t: key
        for t in wanted
        if (t in clean or t in reused_targets) and (key := keys[t]) is not None
    }
    try:
        with _exclusive(out):
            written, removed, kept = write_outputs(out, files, targets=wanted, inputs=inputs)
    except LinkInOutput as link:
        failure = codes.make("F606", None, path=link.path.as_posix())
        return BuildResult(files, (*diagnostics, failure))
    except OSError as error:
        return BuildResult(files, (*diagnostics, _not_written(error, out)))
    return BuildResult(
        files, diagnostics, tuple(written), tuple(removed), tuple(kept), tuple(reused_targets)
    )


@contextlib.contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """An advisory lock on the output directory itself (``flock``, where there is one), so
    that one build never recovers or sweeps while another is writing into the same place.  A
    directory that does not exist yet is not locked (the first build creates it)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    try:
        handle = os.open(out, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # releases the lock


def _not_written(error: OSError, out: Path) -> Diagnostic:
    return codes.make(
        "F605",
        None,
        path=(Path(error.filename).as_posix() if error.filename else out.as_posix()),
        reason=error.strerror or str(error),
    )


# ---- build --check ---------------------------------------------------------------------------

DIFF_LINES_PER_FILE = 20
"""Lines of unified diff shown for one stale file (``build --check``)."""
DIFF_LINES_TOTAL = 120
"""Lines of unified diff shown in all (``build --check``); the files past it are only named."""
_DIFF_LINE_WIDTH = 160


@dataclass(frozen=True, slots=True)
class Difference:
    """A committed output that is not what the sources produce."""

    path: str
    """Relative to the output directory."""
    kind: str
    """``stale`` (its bytes differ), ``missing`` or ``extra`` (funnelc wrote it for one of
    these targets, and the sources no longer produce it)."""
    expected: bytes | None
    actual: bytes | None


@dataclass(frozen=True, slots=True)
class CheckResult:
    files: Mapping[str, bytes]
    diagnostics: tuple[Diagnostic, ...]
    differences: tuple[Difference, ...] = ()


def check_outputs(
    project: Project,
    targets: Sequence[str],
    out: Path,
    options: EmitOptions,
    *,
    strict: bool = False,
) -> CheckResult:
    """Build into a temporary directory and compare the result with ``out``, which is only
    read: no recovery, no lock, no sweep (so a journal a killed build left there stays).

    The targets' files are compared byte for byte; a file the manifest of ``out`` lists for
    one of ``targets`` that the sources no longer produce is *extra*.  The manifest itself is
    compared by its file records for these targets (path, size, hash), when ``out`` has one: its
    input hashes are a cache key, not an output, and a manifest left out of version control is
    no difference.  Every difference is also a diagnostic (F670, F671, F672).
    """
    import tempfile

    wanted = list(dict.fromkeys(targets))
    with tempfile.TemporaryDirectory(prefix="funnelc-check-") as scratch:
        fresh = Path(scratch) / "out"
        built = build(project, wanted, fresh, options, strict=strict)
        if has_errors(built.diagnostics) or (
            strict and any(d.severity is Severity.WARNING for d in built.diagnostics)
        ):
            return CheckResult(built.files, built.diagnostics)
        produced = {
            relative: data
            for relative in built.files
            if (data := _read_regular(fresh / relative)) is not None
        }
        new_manifest = read_manifest(fresh)
    diagnostics = list(built.diagnostics)
    differences: list[Difference] = []
    old = read_manifest(out)
    links: set[Path] = set()
    for relative, data in sorted(produced.items()):
        link = _link_on_the_way(out, relative)
        if link is not None:
            if link not in links:
                links.add(link)
                diagnostics.append(codes.make("F606", None, path=link.as_posix()))
            continue
        actual = _read_regular(out / relative)
        if actual is None:
            differences.append(Difference(relative, "missing", data, None))
        elif actual != data:
            differences.append(Difference(relative, "stale", data, actual))
    for relative in sorted(old.files):
        if target_of(relative) not in wanted or relative in produced:
            continue
        if _link_on_the_way(out, relative) is not None:
            continue  # a build drops it from the manifest and leaves it alone
        actual = _read_regular(out / relative)
        if actual is not None:
            differences.append(Difference(relative, "extra", None, actual))
    current = _read_regular(out / MANIFEST)
    if current is not None:
        ours = {r: rec for r, rec in old.files.items() if target_of(r) in wanted}
        if ours != new_manifest.files:
            expected = Manifest(
                {
                    **{r: rec for r, rec in old.files.items() if target_of(r) not in wanted},
                    **new_manifest.files,
                },
                {
                    **{t: k for t, k in old.inputs.items() if t not in wanted},
                    **new_manifest.inputs,
                },
            )
            differences.append(Difference(MANIFEST, "stale", expected.render(), current))
    code = {"stale": "F670", "missing": "F671", "extra": "F672"}
    for difference in differences:
        path = (out / difference.path).as_posix()
        diagnostics.append(codes.make(code[difference.kind], None, path=path))
    return CheckResult(produced, tuple(diagnostics), tuple(differences))


def _clip(line: str) -> str:
    return line if len(line) <= _DIFF_LINE_WIDTH else line[: _DIFF_LINE_WIDTH - 1] + "…"


def describe_differences(
    differences: Sequence[Difference],
    out: Path,
    *,
    per_file: int = DIFF_LINES_PER_FILE,
    total: int = DIFF_LINES_TOTAL,
) -> str:
    """The differences for people: each file named, a stale text file's unified diff capped at
    ``per_file`` lines (``total`` over all files; past it the files are only named), long lines
    cut; a binary file by its sizes."""
    import difflib

    lines: list[str] = []
    budget = total
    for difference in differences:
        path = (out / difference.path).as_posix()
        if difference.kind == "missing":
            size = len(difference.expected or b"")
            lines.append(_("missing: {path} ({size} bytes to write)").format(path=path, size=size))
            continue
        if difference.kind == "extra":
            lines.append(
                _(
                    "extra: {path} (an earlier build wrote it; the sources no longer produce it)"
                ).format(path=path)
            )
            continue
        lines.append(_("stale: {path}").format(path=path))
        expected, actual = difference.expected or b"", difference.actual or b""
        try:
            new, old = expected.decode("utf-8"), actual.decode("utf-8")
        except UnicodeDecodeError:
            lines.append(
                "  "
                + _("binary files differ: {old} bytes committed, {new} from the sources").format(
                    old=len(actual), new=len(expected)
                )
            )
            continue
        if budget <= 0:
            lines.append(
                "  " + _("(diff not shown: {total} lines shown already)").format(total=total)
            )
            continue
        diff = list(
            difflib.unified_diff(
                old.splitlines(),
                new.splitlines(),
                _("{path} (committed)").format(path=path),
                _("{path} (from the sources)").format(path=path),
                n=1,
                lineterm="",
            )
        )
        shown = diff[: min(per_file, budget)]
        budget -= len(shown)
        lines += ["  " + _clip(line) for line in shown]
        if len(diff) > len(shown):
            lines.append("  " + _("… {count} more diff lines").format(count=len(diff) - len(shown)))
    return "".join(line + "\n" for line in lines)
