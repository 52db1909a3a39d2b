"""Diagnostics as SARIF 2.1.0 (for GitHub code scanning) and as GitHub workflow annotations.

SARIF columns are counted in Unicode code points (``columnKind``), like every position funnelc
prints, so a caret under a Cyrillic letter and the column GitHub highlights agree.  Every code
that appears in the results — compiler codes and lint rules alike — is described once in
``tool.driver.rules`` with its name, summary and default level.  Texts are rendered in ``lang``
(default: the current language) from each diagnostic's message ids and arguments.

Locations are relative to the project root: ``artifactLocation.uri`` is the file's path within
the project (``/``-separated, percent-encoded) with ``uriBaseId`` ``%SRCROOT%``, and
``run.originalUriBaseIds`` gives that root as an absolute ``file:`` URI when it is known, so the
same findings have the same locations from any working directory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

from funnelc.diagnostics import (
    Diagnostic,
    Severity,
    render_help,
    render_label,
    render_message,
    render_notes,
)
from funnelc.i18n import N_, Msg, language, render
from funnelc.source import SourceFile, Span, without_surrogates
from funnelc.version import __version__

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
ROOT_ID = "%SRCROOT%"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _rule_info(code: str) -> tuple[str, str, Severity]:
    """(name, summary, default severity) of a compiler code or a lint rule."""
    from funnelc.codes import CODES

    if code in CODES:
        entry = CODES[code]
        return entry.name, entry.summary, entry.severity
    from funnelc.lint.engine import find_rule

    rule = find_rule(code)
    if rule is not None:
        return rule.name, rule.summary, rule.severity
    return code.lower(), code, Severity.ERROR


def _region(source: SourceFile | None, span: Span) -> dict[str, int]:
    if source is None:
        return {}
    start, end = source.position(span.start), source.position(span.end)
    return {
        "startLine": start.line,
        "startColumn": start.column,
        "endLine": end.line,
        "endColumn": max(end.column, start.column + 1) if end.line == start.line else end.column,
    }


def _location(
    span: Span, sources: Mapping[str, SourceFile], message: str = ""
) -> dict[str, object]:
    source = sources.get(span.path)
    artifact: dict[str, object] = {
        "uri": quote(source.project_path if source else without_surrogates(span.path), safe="/")
    }
    if source is not None:
        artifact["uriBaseId"] = ROOT_ID
    physical: dict[str, object] = {"artifactLocation": artifact}
    region = _region(source, span)
    if region:
        physical["region"] = region
    location: dict[str, object] = {"physicalLocation": physical}
    if message:
        location["message"] = {"text": message}
    return location


_HELP, _NOTE = N_("help"), N_("note")


def _text(d: Diagnostic, lang: str, notes: bool = True) -> str:
    """The message, then ``help:`` and ``note:`` lines, in ``lang``."""
    text = render_message(d, lang)
    help_line = render_help(d, lang)
    if help_line:
        text += f"\n{render(Msg(_HELP), lang)}: {help_line}"
    if notes:
        for note in render_notes(d, lang):
            text += f"\n{render(Msg(_NOTE), lang)}: {note}"
    return text


def to_sarif(
    diagnostics: Sequence[Diagnostic],
    sources: Mapping[str, SourceFile],
    root: Path | None = None,
    lang: str | None = None,
) -> dict[str, object]:
    """The SARIF log in ``lang``; ``root`` is the project root (the files' ``project_path`` is
    relative to it), given in ``originalUriBaseIds`` when known."""
    lang = lang or language()
    codes_used = sorted({d.code for d in diagnostics})
    rules = []
    for code in codes_used:
        name, summary_id, severity = _rule_info(code)
        summary = render(Msg(summary_id), lang)
        full = render(
            Msg(N_("{summary} (run `funnelc explain {code}`)")).with_args(
                summary=summary, code=code
            ),
            lang,
        )
        rules.append(
            {
                "id": code,
                "name": name,
                "shortDescription": {"text": summary},
                "fullDescription": {"text": full},
                "defaultConfiguration": {"level": _LEVEL[severity]},
            }
        )
    index = {code: i for i, code in enumerate(codes_used)}
    results = []
    for d in diagnostics:
        text = _text(d, lang)
        result: dict[str, object] = {
            "ruleId": d.code,
            "ruleIndex": index[d.code],
            "level": _LEVEL[d.severity],
            "message": {"text": text},
        }
        if d.span is not None:
            result["locations"] = [_location(d.span, sources)]
            related = [
                {
                    "id": i,
                    **_location(
                        label.span, sources, render_label(label, lang) or render_message(d, lang)
                    ),
                }
                for i, label in enumerate(d.labels)
            ]
            if related:
                result["relatedLocations"] = related
        results.append(result)
    run: dict[str, object] = {
        "tool": {
            "driver": {
                "name": "funnelc",
                "version": __version__,
                "rules": rules,
            }
        },
    }
    if root is not None:
        uri = Path(root).resolve().as_uri()
        run["originalUriBaseIds"] = {ROOT_ID: {"uri": uri if uri.endswith("/") else uri + "/"}}
    run["columnKind"] = "unicodeCodePoints"
    run["results"] = results
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render_sarif(
    diagnostics: Sequence[Diagnostic],
    sources: Mapping[str, SourceFile],
    root: Path | None = None,
    lang: str | None = None,
) -> str:
    data = to_sarif(diagnostics, sources, root, lang)
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(
    diagnostics: Iterable[Diagnostic],
    sources: Mapping[str, SourceFile],
    lang: str | None = None,
) -> str:
    """One ``::error``/``::warning``/``::notice`` workflow command per diagnostic."""
    lang = lang or language()
    lines = []
    for d in diagnostics:
        command = {"error": "error", "warning": "warning", "info": "notice"}[d.severity.value]
        properties = [f"title={_escape_property(d.code)}"]
        if d.span is not None:
            properties.insert(0, f"file={_escape_property(d.span.path)}")
            region = _region(sources.get(d.span.path), d.span)
            if region:
                properties[1:1] = [
                    f"line={region['startLine']}",
                    f"col={region['startColumn']}",
                    f"endLine={region['endLine']}",
                    f"endColumn={region['endColumn']}",
                ]
        message = _text(d, lang, notes=False)
        lines.append(f"::{command} {','.join(properties)}::{_escape_data(message)}")
    return "".join(line + "\n" for line in lines)
