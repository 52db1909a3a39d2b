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

import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from funnelc import codes
from funnelc.diagnostics import Diagnostic, suggest
from funnelc.i18n import LANGUAGES, N_, _
from funnelc.lint.rule import PRESETS
from funnelc.source import display_path

CONFIG_NAME = "funnelc.toml"


# ---- the declarative spec ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Setting:
    """One key of a configuration table: what it holds, what is wrong with it, what it means.

    ``kind`` is ``path``, ``paths`` (a path or a list of them), ``names`` (a list of strings),
    ``choice`` (one of ``choices``), ``seconds`` (a positive number), ``boolean``, ``table``
    (with the keys ``table``), ``tables`` (a table of tables with any keys), or ``targets``
    (a list of target names, or a table of per-target option tables).  ``wrong`` is the F604
    reason when the value is not of that kind (``{value!r}`` is the value).  The checks
    (:func:`check_table`) and the JSON Schema (:func:`json_schema`) are both made from this.
    """

    key: str
    kind: str
    description: str
    wrong: str
    choices: tuple[str, ...] = ()
    table: tuple[Setting, ...] = ()
    attribute: str = ""
    """The :class:`Config` field the value goes to (default: ``key`` with ``_`` for ``-``)."""


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "sources",
        "paths",
        "the .funnel files or directories to check and build, relative to this file",
        N_("`sources` must be a list of paths"),
    ),
    Setting("out", "path", "the output directory of `funnelc build`", N_("`out` must be a path")),
    Setting(
        "targets",
        "targets",
        "the targets to build (`json`, `dot`, `svg`, `amocrm`, `bitrix24`), or a table of "
        "`[targets.<name>]` tables with each target's options (docs/targets/)",
        N_("`targets` must be a list of target names"),
    ),
    Setting(
        "renderer",
        "choice",
        "the Graphviz program for svg: the bundled graphviz-pure, or the system `dot`",
        N_('`renderer` must be "pure" or "system", not {value!r}'),
        choices=("pure", "system"),
    ),
    Setting(
        "render-timeout",
        "seconds",
        "seconds one pipeline's layout may take",
        N_("`render-timeout` must be a positive number of seconds"),
    ),
    Setting(
        "unsupported",
        "choice",
        "what a target does with a construct it cannot express",
        N_('`unsupported` must be "ignore", "warn" or "error", not {value!r}'),
        choices=("ignore", "warn", "error"),
    ),
    Setting(
        "language",
        "choice",
        "the language of the artefacts' own words (diagram labels, manual steps); "
        "default: detected per pipeline",
        N_("`language` must be one of {languages}, not {value!r}"),
        choices=LANGUAGES,
    ),
    Setting(
        "lint",
        "table",
        "the methodology rules: preset, select, ignore, strict, and `[lint.rules.<name>]`",
        N_("`[lint]` must be a table"),
        table=(
            Setting(
                "preset",
                "choice",
                "the set of rules to start from",
                N_("`lint.preset` must be one of {presets}"),
                choices=PRESETS,
            ),
            Setting(
                "select",
                "names",
                "rules (codes or names) to run besides the preset's",
                N_("`lint.{key}` must be a list of rule codes or names"),
            ),
            Setting(
                "ignore",
                "names",
                "rules (codes or names) not to run",
                N_("`lint.{key}` must be a list of rule codes or names"),
            ),
            Setting(
                "strict",
                "boolean",
                "fail on warnings too, as `--strict` does",
                N_("`lint.strict` must be true or false"),
            ),
            Setting(
                "rules",
                "tables",
                "per rule (by name or code): `severity` and the rule's options",
                N_("`[lint.rules]` must be a table of tables"),
            ),
        ),
    ),
)
"""The keys of ``funnelc.toml`` (and of ``[tool.funnelc]``)."""

_KEYS = tuple(s.key for s in SETTINGS)


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


def _valid(setting: Setting, value: object) -> bool:
    kind = setting.kind
    if kind == "path":
        return isinstance(value, str)
    if kind == "paths":
        return _strings(value) is not None
    if kind == "names":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "choice":
        return value in setting.choices
    if kind == "seconds":
        return isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("table", "tables"):
        return isinstance(value, dict)
    if kind == "targets":
        return isinstance(value, dict) or _strings(value) is not None
    raise AssertionError(kind)


def check_table(
    table: Mapping[str, object],
    settings: Sequence[Setting],
    path: Path,
    prefix: str = "",
) -> tuple[dict[str, object], list[Diagnostic]]:
    """The values of ``table`` that are right by ``settings``, and an F604 for each problem:
    an unknown key (with a did-you-mean), or a value of the wrong kind (left out)."""
    known = {s.key: s for s in settings}
    keys = tuple(known)
    problems: list[Diagnostic] = []
    values: dict[str, object] = {}
    for key, value in table.items():
        setting = known.get(key)
        if setting is None:
            if prefix:
                reason = _("unknown key `{prefix}{key}`").format(prefix=prefix, key=key)
                problems.append(_error(path, reason, suggest(key, keys)))
            else:
                hint = suggest(key, keys, _("known keys: {keys}").format(keys=", ".join(keys)))
                problems.append(_error(path, _("unknown key `{key}`").format(key=key), hint))
            continue
        if not _valid(setting, value):
            reason = _(setting.wrong).format(
                value=value,
                key=key,
                presets=", ".join(setting.choices),
                languages=", ".join(f'"{choice}"' for choice in setting.choices),
            )
            problems.append(_error(path, reason))
            continue
        if setting.kind == "targets" and isinstance(value, dict):
            for name, options in value.items():
                if not isinstance(options, dict):
                    problems.append(
                        _error(path, _("`[targets.{name}]` must be a table").format(name=name))
                    )
        values[key] = value
    return values, problems


def load_config(path: Path) -> tuple[Config, list[Diagnostic]]:
    """Read and check one configuration file (the ``[lint]`` table's rule names and options
    are checked by :func:`funnelc.lint.engine.config_from_table`, which knows the rules)."""
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
    values, diagnostics = check_table(data, SETTINGS, path)
    raw_targets = values.get("targets", [])
    target_options: dict[str, Mapping[str, object]] = {}
    if isinstance(raw_targets, dict):
        # `[targets.<name>]` tables: each key is a target; its table holds the target's options.
        targets = list(raw_targets)
        target_options = {k: dict(v) for k, v in raw_targets.items() if isinstance(v, dict)}
    else:
        targets = _strings(raw_targets) or []
    out = values.get("out")
    timeout = values.get("render-timeout")
    lint = values.get("lint", {})
    return (
        Config(
            path=path,
            sources=tuple(base / s for s in _strings(values.get("sources", [])) or []),
            out=base / str(out) if out else None,
            targets=tuple(targets),
            renderer=_optional_str(values.get("renderer")),
            render_timeout=float(timeout) if isinstance(timeout, int | float) else None,
            unsupported=_optional_str(values.get("unsupported")),
            language=_optional_str(values.get("language")),
            target_options=target_options,
            lint=lint if isinstance(lint, dict) else {},
        ),
        diagnostics,
    )


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


# ---- the JSON Schema -----------------------------------------------------------------------
def _schema_of(setting: Setting) -> dict[str, object]:
    kind = setting.kind
    out: dict[str, object]
    if kind == "path":
        out = {"type": "string"}
    elif kind == "paths":
        out = {"type": ["string", "array"], "items": {"type": "string"}}
    elif kind == "names":
        out = {"type": "array", "items": {"type": "string"}}
    elif kind == "choice":
        out = {"type": "string", "enum": list(setting.choices)}
    elif kind == "seconds":
        out = {"type": "number", "minimum": 0, "exclusiveMinimum": True}
    elif kind == "boolean":
        out = {"type": "boolean"}
    elif kind == "table":
        out = _object_schema(setting.table)
    elif kind == "tables":
        out = {"type": "object", "additionalProperties": {"type": "object"}}
    elif kind == "targets":
        from funnelc.registry import REGISTRY

        names = list(REGISTRY)
        out = {
            "anyOf": [
                {"type": "string", "enum": names},
                {"type": "array", "items": {"type": "string", "enum": names}},
                {
                    "type": "object",
                    "properties": {name: {"type": "object"} for name in names},
                    "additionalProperties": False,
                },
            ]
        }
    else:
        raise AssertionError(kind)
    return {"description": setting.description, **out}


def _object_schema(settings: Sequence[Setting]) -> dict[str, object]:
    return {
        "type": "object",
        "properties": {s.key: _schema_of(s) for s in settings},
        "additionalProperties": False,
    }


_OPTION_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def _rule_schemas() -> dict[str, object]:
    """``[lint.rules.<name>]``: each rule by name and by code, with its options."""
    from funnelc.lint.engine import all_rules

    rules: dict[str, object] = {}
    for rule in all_rules():
        properties: dict[str, object] = {
            "severity": {"type": "string", "enum": ["error", "warning", "info"]}
        }
        for option, default in rule.options.items():
            if isinstance(default, list | tuple):
                schema: dict[str, object] = {"type": "array", "items": {"type": "string"}}
            else:
                schema = {"type": _OPTION_TYPES[type(default)]}
            description = rule.option_docs.get(option)
            properties[option] = {**({"description": description} if description else {}), **schema}
        entry = {
            "description": f"{rule.code} {rule.name}: {rule.summary}",
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
        }
        rules[rule.name] = entry
        rules[rule.code] = entry
    return rules


def json_schema() -> dict[str, object]:
    """The JSON Schema (draft 4, which Taplo and Even Better TOML read) of ``funnelc.toml``,
    made from :data:`SETTINGS` and the lint rules; committed as
    ``docs/funnelc.toml.schema.json`` and printed by ``funnelc schema --config``."""
    schema = _object_schema(SETTINGS)
    lint = cast(dict[str, object], cast(dict[str, object], schema["properties"])["lint"])
    lint_properties = cast(dict[str, object], lint["properties"])
    lint_properties["rules"] = {
        "description": cast(dict[str, object], lint_properties["rules"])["description"],
        "type": "object",
        "properties": _rule_schemas(),
        "additionalProperties": False,
    }
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": "funnelc.toml",
        "description": "The project configuration of funnelc (also [tool.funnelc] in "
        "pyproject.toml); see README.md and docs/.",
        **schema,
    }


def json_schema_text() -> str:
    return json.dumps(json_schema(), ensure_ascii=False, indent=2) + "\n"


def discover_config(start: Path, explicit: Path | None = None) -> tuple[Config, list[Diagnostic]]:
    """The configuration for a run: ``explicit`` if given, else the nearest one, else empty."""
    path = explicit or find_config(start)
    if path is None:
        return Config(), []
    if not path.is_file():
        return Config(), [_error(path, _("no such file"))]
    return load_config(path)
