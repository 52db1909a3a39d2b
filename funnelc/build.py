"""Running the targets and writing their files: all or nothing, each file atomically.

Every requested target emits every pipeline into memory first.  Only when no target reported
an error is anything written: each changed file goes to a temporary file in its final directory,
and once all of them are written they are renamed over the old ones (a rename is atomic on
POSIX and Windows), so a reader never sees half a file and a failing build leaves the output
directory exactly as it was.

The output directory keeps a manifest (``.funnelc-manifest``) of the files the last build
wrote, so that a pipeline that was renamed or removed does not leave a stale diagram behind;
files the manifest does not list are never touched.  Files whose bytes did not change are not
rewritten, so their timestamps stay put.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from funnelc import codes
from funnelc.diagnostics import Diagnostic, Severity, has_errors, suggest
from funnelc.emit import REGISTRY, EmitOptions, get_target
from funnelc.i18n import _
from funnelc.model import Project

MANIFEST = ".funnelc-manifest"


@dataclass(frozen=True, slots=True)
class BuildResult:
    files: Mapping[str, bytes]
    """Relative path (``<target>/<pipeline>.<ext>``) → bytes, for every emitted file."""
    diagnostics: tuple[Diagnostic, ...]
    written: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


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
    diagnostics = check_targets(targets)
    files: dict[str, bytes] = {}
    if diagnostics:
        return BuildResult(files, tuple(diagnostics))
    for name in dict.fromkeys(targets):  # de-duplicated, order kept
        target = get_target(name)
        check = getattr(target, "check", None)
        if check is not None:
            found = check(project, options)
            diagnostics.extend(found)
            if has_errors(found):
                continue
        for pipeline in project.pipelines:
            emitted = target.emit(project, pipeline, options)
            diagnostics.extend(emitted.diagnostics)
            for filename, data in emitted.files.items():
                files[f"{name}/{filename}"] = data
    return BuildResult(dict(sorted(files.items())), tuple(diagnostics))


def _read_manifest(out: Path) -> list[str]:
    try:
        lines = (out / MANIFEST).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    return [line for line in lines if line and not line.startswith("#")]


def _stage(path: Path, data: bytes) -> Path:
    """Write ``data`` to a new temporary file beside ``path`` and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise
    return Path(temporary)


def write_outputs(out: Path, files: Mapping[str, bytes]) -> tuple[list[str], list[str]]:
    """Write ``files`` under ``out``; returns the paths written and the stale paths removed.

    Two phases: every changed file is first written in full to a temporary file beside its
    target, and only when all of them are on disk are they renamed into place.  A full disk or
    a permission error therefore stops the build before any existing file is replaced.
    """
    changed: list[tuple[str, bytes]] = []
    for relative, data in sorted(files.items()):
        path = out / relative
        try:
            if path.is_file() and path.read_bytes() == data:
                continue
        except OSError:
            pass
        changed.append((relative, data))
    manifest = "# files written by funnelc build; stale ones are removed on the next build\n"
    manifest += "".join(f"{relative}\n" for relative in sorted(files))
    manifest_path = out / MANIFEST
    try:
        current = manifest_path.read_bytes() if manifest_path.is_file() else None
    except OSError:
        current = None
    if current != manifest.encode("utf-8"):
        changed.append((MANIFEST, manifest.encode("utf-8")))
    stale_candidates = _read_manifest(out)

    staged: list[tuple[Path, Path]] = []
    try:
        for relative, data in changed:
            staged.append((_stage(out / relative, data), out / relative))
    except BaseException:
        for temporary, _target in staged:
            with contextlib.suppress(OSError):
                temporary.unlink()
        raise
    renamed = 0
    try:
        for temporary, path in staged:
            temporary.replace(path)
            renamed += 1
    except BaseException:
        for temporary, _target in staged[renamed:]:
            with contextlib.suppress(OSError):
                temporary.unlink()
        raise
    written = [relative for relative, _data in changed if relative != MANIFEST]

    removed: list[str] = []
    for relative in stale_candidates:
        if relative in files or ".." in Path(relative).parts or Path(relative).is_absolute():
            continue
        stale = out / relative
        if stale.is_file():
            stale.unlink()
            removed.append(relative)
            with contextlib.suppress(OSError):
                stale.parent.rmdir()  # only if now empty
    return written, removed


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
    build before anything is written.
    """
    result = emit_all(project, targets, options)
    if has_errors(result.diagnostics) or (
        strict and any(d.severity is Severity.WARNING for d in result.diagnostics)
    ):
        return result
    try:
        written, removed = write_outputs(out, result.files)
    except OSError as error:
        failure = codes.make(
            "F605",
            None,
            path=(Path(error.filename).as_posix() if error.filename else out.as_posix()),
            reason=error.strerror or str(error),
        )
        return BuildResult(result.files, (*result.diagnostics, failure))
    return BuildResult(result.files, result.diagnostics, tuple(written), tuple(removed))
