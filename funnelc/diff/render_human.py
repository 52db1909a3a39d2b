"""``funnelc diff`` for a terminal: per pipeline, one line per change, marked ``+`` (added),
``-`` (removed) or ``~`` (changed), then the breaking changes as diagnostics and the summary.
Coloured only when asked (the CLI asks on a terminal without ``NO_COLOR``)."""

from __future__ import annotations

from funnelc.diff.describe import PLAIN, describe, summary
from funnelc.diff.model_diff import Change, ChangeKind
from funnelc.diff.report import Report
from funnelc.i18n import _, using
from funnelc.render import render_human

_GREEN, _RED, _YELLOW, _BOLD, _RESET = "\x1b[32m", "\x1b[31m", "\x1b[33m", "\x1b[1m", "\x1b[0m"

_ADDED = {
    ChangeKind.PIPELINE_ADDED,
    ChangeKind.STAGE_ADDED,
    ChangeKind.EDGE_ADDED,
    ChangeKind.FIELD_ADDED,
    ChangeKind.REASON_ADDED,
}
_REMOVED = {
    ChangeKind.PIPELINE_REMOVED,
    ChangeKind.STAGE_REMOVED,
    ChangeKind.EDGE_REMOVED,
    ChangeKind.FIELD_REMOVED,
    ChangeKind.REASON_REMOVED,
}


def mark(change: Change) -> str:
    """``+``, ``-`` or ``~``."""
    if change.kind in _ADDED:
        return "+"
    if change.kind in _REMOVED:
        return "-"
    return "~"


def render(report: Report, *, color: bool = False, lang: str = "en") -> str:
    """The report as terminal text in ``lang``."""
    with using(lang):
        return _render(report, color, lang)


def _render(report: Report, color: bool, lang: str) -> str:
    def paint(code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    out = [paint(_BOLD, _("diff {old} → {new}").format(old=report.old_label, new=report.new_label))]
    for pid, changes in report.by_pipeline():
        out.append("")
        out.append(
            paint(
                _BOLD,
                _("pipeline {id} {name}").format(
                    id=f"`{pid}`", name=PLAIN.name(report.pipeline_name(pid))
                ),
            )
        )
        for change in changes:
            sign = mark(change)
            colour = _GREEN if sign == "+" else _RED if sign == "-" else _YELLOW
            out.append(paint(colour, f"  {sign} {describe(change)}"))
    if report.breaking:
        out.append("")
        out.append(render_human(report.breaking, report.sources, color=color, lang=lang).rstrip())
    out.append("")
    out.append(summary(report.changes, report.unallowed))
    return "\n".join(out) + "\n"


__all__ = ["mark", "render"]
