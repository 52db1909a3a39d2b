"""What every format of ``funnelc diff`` is made from: the diff, its breaking changes, and the
names of the two versions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from funnelc.diagnostics import Diagnostic
from funnelc.diff.model_diff import Change, ProjectDiff
from funnelc.source import SourceFile


@dataclass(frozen=True, slots=True)
class Report:
    """A diff ready to render: ``old_label``/``new_label`` name the versions (a path, or
    ``REV`` and ``working tree``); ``breaking`` are the diagnostics of :mod:`.breaking`, whose
    spans point into ``sources`` (the new version's files); ``language`` is the project's
    artefact language for the diagrams (``None``: each pipeline's own)."""

    diff: ProjectDiff
    old_label: str
    new_label: str
    breaking: Sequence[Diagnostic] = ()
    sources: Mapping[str, SourceFile] = field(default_factory=dict)
    language: str | None = None

    @property
    def changes(self) -> tuple[Change, ...]:
        return self.diff.changes

    def by_pipeline(self) -> list[tuple[str, list[Change]]]:
        """The changes grouped by pipeline, in the order they come."""
        groups: dict[str, list[Change]] = {}
        for change in self.diff.changes:
            groups.setdefault(change.pipeline, []).append(change)
        return list(groups.items())

    def pipeline_name(self, pid: str) -> str:
        pipeline = self.diff.new.pipeline(pid) or self.diff.old.pipeline(pid)
        return pipeline.name.value if pipeline is not None else pid

    @property
    def unallowed(self) -> int:
        return sum(1 for d in self.breaking if d.is_error)


__all__ = ["Report"]
