"""The project configuration: ``funnelc.toml``, or ``[tool.funnelc]`` in ``pyproject.toml``.

It names the sources, the output directory and the targets, so that a bare ``funnelc build``
does the project's build in CI.  The file is looked for in the working directory and then in
each parent, the way ruff and git find theirs; paths in it are relative to the file.

    sources = ["funnels"]          # files or directories
    out = "build"
    targets = ["json", "dot", "svg"]
    renderer = "pure"              # or "system"
    render-timeout = 60            # seconds per pipeline
    unsupported = "warn"           # what a target does with what it cannot express
    language = "ru"                # the artefacts' own words; default: detected per pipeline

    [targets.amocrm]               # options passed to one target, untouched
    ...

Command-line options override the file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from funnelc import codes
from funnelc.diagnostics import Diagnostic, suggest
from funnelc.i18n import LANGUAGES, _
from funnelc.source import display_path

CONFIG_NAME = "funnelc.toml"

_KEYS = (
    "sources",
    "out",
    "targets",
    "renderer",
    "render-timeout",
    "unsupported",
    "language",
    "lint",
)


@dataclass(frozen=True, slots=True)
class Config:
    """The settings of a project; ``path`` is ``None`` when no file was found."""

    path: Path | None = None
    sources: tuple[Path, ...] = ()
    out: Path | None = None
    targets: tuple[str, ...] = ()
    renderer: str | None = None
    render_timeout: float | None = None
    unsupported: str | None = None
    language: str | None = None
    target_options: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    lint: Mapping[str, object] = field(default_factory=dict)


def find_config(start: Path) -> Path | None:
    """The nearest ``funnelc.toml`` or ``pyproject.toml`` with a ``[tool.funnelc]`` table."""
    for directory in (start.resolve(), *start.resolve().parents):
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            return candidate
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            try:
                data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue
            if isinstance(data.get("tool"), dict) and "funnelc" in data["tool"]:
                return pyproject
    return None


def _error(path: Path, reason: str, hint: str = "") -> Diagnostic:
    return codes.make("F604", None, path=display_path(path), reason=reason, hint=hint)


def _strings(value: object) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def load_config(path: Path) -> tuple[Config, list[Diagnostic]]:
    """Read and check one configuration file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        return Config(path), [_error(path, str(error))]
    except tomllib.TOMLDecodeError as error:
        return Config(path), [_error(path, _("it is not valid TOML ({error})").format(error=error))]
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("funnelc", {})
        if not isinstance(data, dict):
            return Config(path), [_error(path, _("`[tool.funnelc]` must be a table"))]
    base = path.parent
    diagnostics: list[Diagnostic] = []
    for key in data:
        if key not in _KEYS:
            hint = suggest(key, _KEYS, _("known keys: {keys}").format(keys=", ".join(_KEYS)))
            diagnostics.append(_error(path, _("unknown key `{key}`").format(key=key), hint))

    sources = _strings(data.get("sources", []))
    if sources is None:
        diagnostics.append(_error(path, _("`sources` must be a list of paths")))
        sources = []
    out = data.get("out")
    if out is not None and not isinstance(out, str):
        diagnostics.append(_error(path, _("`out` must be a path")))
        out = None
    target_options: dict[str, Mapping[str, object]] = {}
    raw_targets = data.get("targets", [])
    if isinstance(raw_targets, dict):
        # `[targets.<name>]` tables: each key is a target; its table holds the target's options.
        names = list(raw_targets)
        for name, table in raw_targets.items():
            if not isinstance(table, dict):
                diagnostics.append(
                    _error(path, _("`[targets.{name}]` must be a table").format(name=name))
                )
                continue
            target_options[name] = dict(table)
        targets = names
    else:
        targets_list = _strings(raw_targets)
        if targets_list is None:
            diagnostics.append(_error(path, _("`targets` must be a list of target names")))
            targets_list = []
        targets = targets_list
    renderer = data.get("renderer")
    if renderer is not None and renderer not in ("pure", "system"):
        diagnostics.append(
            _error(
                path,
                _('`renderer` must be "pure" or "system", not {value!r}').format(value=renderer),
            )
        )
        renderer = None
    timeout = data.get("render-timeout")
    if timeout is not None and (
        not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0
    ):
        diagnostics.append(_error(path, _("`render-timeout` must be a positive number of seconds")))
        timeout = None
    unsupported = data.get("unsupported")
    if unsupported is not None and unsupported not in ("ignore", "warn", "error"):
        diagnostics.append(
            _error(
                path,
                _('`unsupported` must be "ignore", "warn" or "error", not {value!r}').format(
                    value=unsupported
                ),
            )
        )
        unsupported = None
    language = data.get("language")
    if language is not None and language not in LANGUAGES:
        languages = ", ".join(f'"{lang}"' for lang in LANGUAGES)
        diagnostics.append(
            _error(
                path,
                _("`language` must be one of {languages}, not {value!r}").format(
                    languages=languages, value=language
                ),
            )
        )
        language = None
    lint = data.get("lint", {})
    if not isinstance(lint, dict):
        diagnostics.append(_error(path, _("`[lint]` must be a table")))
        lint = {}
    return (
        Config(
            path=path,
            sources=tuple(base / s for s in sources),
            out=base / out if out else None,
            targets=tuple(targets),
            renderer=renderer,
            render_timeout=float(timeout) if timeout is not None else None,
            unsupported=unsupported,
            language=language,
            target_options=target_options,
            lint=lint,
        ),
        diagnostics,
    )


def discover_config(start: Path, explicit: Path | None = None) -> tuple[Config, list[Diagnostic]]:
    """The configuration for a run: ``explicit`` if given, else the nearest one, else empty."""
    path = explicit or find_config(start)
    if path is None:
        return Config(), []
    if not path.is_file():
        return Config(), [_error(path, _("no such file"))]
    return load_config(path)
