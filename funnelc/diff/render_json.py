"""``funnelc diff --format json``: the report for other tools, described by
``funnelc/diff/diff.schema.json`` (``docs/diff.md``).

The document is versioned (``"version": 1``; a new version only for an incompatible change).
Every change keeps the same keys whatever its kind (empty strings and ``null`` where they do
not apply), so a consumer can read it without knowing every kind; ``message`` is the line the
terminal shows, in the language asked for.  ``breaking`` lists the breaking changes in the
stable diagnostics format (``docs/diagnostics.md``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from funnelc.diff.describe import describe, summary
from funnelc.diff.model_diff import Change
from funnelc.diff.report import Report
from funnelc.i18n import using
from funnelc.render import diagnostic_dict

VERSION = 1


def schema_path() -> Path:
    """The JSON Schema of the document (shipped in the wheel beside this module)."""
    return Path(__file__).resolve().parent / "diff.schema.json"


def change_dict(change: Change) -> dict[str, Any]:
    def value(v: object) -> object:
        return list(v) if isinstance(v, tuple) else v

    return {
        "kind": change.kind.value,
        "pipeline": change.pipeline,
        "subject": change.subject,
        "name": change.name,
        "attribute": change.attribute,
        "before": value(change.before),
        "after": value(change.after),
        "target": change.target,
        "target_name": change.target_name,
        "was": change.was,
        "declared": change.declared,
        "stage_kind": change.stage_kind,
        "message": describe(change),
    }


def document(report: Report, lang: str = "en") -> dict[str, Any]:
    with using(lang):
        return {
            "version": VERSION,
            "old": report.old_label,
            "new": report.new_label,
            "summary": summary(report.changes, report.unallowed),
            "changes": [change_dict(c) for c in report.changes],
            "breaking": [diagnostic_dict(d, report.sources, lang) for d in report.breaking],
            "failed": report.unallowed > 0,
        }


def render(report: Report, lang: str = "en") -> str:
    return json.dumps(document(report, lang), ensure_ascii=False, indent=2) + "\n"


__all__ = ["VERSION", "change_dict", "document", "render", "schema_path"]
