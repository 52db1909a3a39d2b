"""What the CRM targets (``amocrm``, ``bitrix24``) share: reading their options, colour math,
machine-code derivation, the language of the manual steps, the funnel facts both map, writing
plans, the sections of the manual steps that read alike in both, and the target class itself.

Neither CRM can import a pipeline configuration from a file, so both targets write an *import
plan* (an ordered list of REST requests) and a checklist of *manual steps* for what the API
cannot set.  The CRM-specific parts live in :mod:`.amocrm` and :mod:`.bitrix24`; everything here
is independent of either API.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from funnelc import codes
from funnelc.diagnostics import Diagnostic, Label, Severity, suggest
from funnelc.emit import Capabilities, EmitOptions, Emitted
from funnelc.i18n import Msg, Translator, _, ngettext_noop, render
from funnelc.model import (
    Duration,
    DurationUnit,
    EdgeKind,
    LeadPhase,
    LossReason,
    Phase,
    Pipeline,
    Project,
    Stage,
    StageKind,
)
from funnelc.model import Field as FunnelField
from funnelc.source import Span, output_path

from . import markdown

# ---- plans ---------------------------------------------------------------------------------


def dump_plan(document: Mapping[str, Any]) -> bytes:
    """A plan's bytes: UTF-8, Cyrillic as itself, two-space indent, LF, final newline.

    Keys are not sorted: every plan is built in the order a person reads it (header, then the
    requests in the order they are sent), and lists keep that order because it is meaningful.
    """
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


@functools.cache
def _plan_validator(target: str) -> Any:
    # Imported and built only when asked for: emitting a plan never needs jsonschema.
    from jsonschema import Draft202012Validator

    from funnelc.resources import targets_dir

    path = targets_dir() / f"{target}-plan.schema.json"
    return Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))


def validate_plan(target: str, document: object) -> list[str]:
    """Every way ``document`` breaks the plan schema of ``target``, as sorted
    ``"<JSON path>: <message>"`` lines (empty when the plan is valid)."""
    errors = _plan_validator(target).iter_errors(document)
    return sorted(f"{error.json_path}: {error.message}" for error in errors)


def plan_problem(target: str, document: object) -> str | None:
    """The most relevant way ``document`` breaks the plan schema of ``target`` (the deepest
    error, as jsonschema's ``best_match`` picks it), in one short line; ``None`` when valid."""
    from jsonschema.exceptions import best_match

    error = best_match(_plan_validator(target).iter_errors(document))
    if error is None:
        return None
    while error.context:  # a oneOf: the branch that came closest, down to the leaf
        error = max(error.context, key=lambda e: len(e.absolute_path))
    message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
    return f"{error.json_path}: {message}"


# ---- language of the manual steps ----------------------------------------------------------


def is_russian(pipeline: Pipeline, default: str | None = None) -> bool:
    """Whether the pipeline's manual steps and the texts the plan puts into the CRM are in
    Russian: :func:`funnelc.language.pipeline_language`, shared with the diagrams (its
    ``language`` declaration, else the project's ``default``, else Cyrillic in its names)."""
    from funnelc.language import pipeline_language

    return pipeline_language(pipeline, default) == "ru"


# Counted nouns of the artefacts; the Russian forms are in the message catalogue.
_NOUNS = {
    "stage": ngettext_noop("{count} stage", "{count} stages"),
    "status": ngettext_noop("{count} status", "{count} statuses"),
    "field": ngettext_noop("{count} field", "{count} fields"),
    "lead field": ngettext_noop("{count} lead field", "{count} lead fields"),
    "reason": ngettext_noop("{count} loss reason", "{count} loss reasons"),
}


def _counted(forms: tuple[str, str], n: int, russian: bool) -> str:
    return render(Msg(forms[0], (("count", n),), forms[1], n), "ru" if russian else "en")


def count_noun(n: int, noun: str, russian: bool) -> str:
    """``5 статусов`` / ``1 status``: a number with its noun in the right form."""
    return _counted(_NOUNS[noun], n, russian)


def one_line(text: str) -> str:
    """A text with its line breaks and runs of spaces made single spaces (``\"\"\"…\"\"\"``
    strings keep the line breaks of the source, which mean nothing in a CRM field)."""
    return " ".join(text.split())


def quoted(name: str, russian: bool) -> str:
    """A display name for the manual steps, Markdown-escaped (:func:`.markdown.inline`), in the
    quotation marks of the language: «…» or “…”."""
    text = markdown.inline(name)
    return f"«{text}»" if russian else f"“{text}”"


def md_line(text: str) -> str:
    """A user text (a goal, a task, a condition) for the manual steps: on one line
    (:func:`one_line`) and Markdown-escaped (:func:`.markdown.inline`)."""
    return markdown.inline(one_line(text))


_UNITS = {
    DurationUnit.MINUTES: ngettext_noop("{count} minute", "{count} minutes"),
    DurationUnit.HOURS: ngettext_noop("{count} hour", "{count} hours"),
    DurationUnit.DAYS: ngettext_noop("{count} day", "{count} days"),
    DurationUnit.WEEKS: ngettext_noop("{count} week", "{count} weeks"),
    DurationUnit.BUSINESS_DAYS: ngettext_noop("{count} business day", "{count} business days"),
}


def duration_text(duration: Duration, russian: bool) -> str:
    """``5bd`` as «5 рабочих дней» / “5 business days”."""
    return _counted(_UNITS[duration.unit], duration.value, russian)


# ---- colours -------------------------------------------------------------------------------

LEAD_COLOURS = ("#fffeb2", "#fffd7f", "#fff000", "#ffeab2", "#ffdc7f", "#ffce5a")
DEAL_COLOURS = ("#d6eaff", "#c1e0ff", "#98cbff", "#ccc8f9", "#f9deff", "#f3beff", "#eb93ff")
KEY_COLOUR = "#87f2c0"
LOST_COLOURS = ("#ffdbdb", "#ffc8c8", "#ff8f92")
REASON_COLOUR = "#e6e8ea"
"""Default colours, all taken from amoCRM's palette so that both CRMs look alike: lead stages
yellow, deal stages blue to violet, the key stage green, lost outcomes red, loss reasons
grey.  They depend only on the phase and the position, never on anything else."""


def default_colour(stage: Stage, index: int) -> str:
    """The colour of a stage that has none: by phase and by its position in that phase."""
    if stage.kind is StageKind.LOST:
        return LOST_COLOURS[index % len(LOST_COLOURS)]
    if stage.key:
        return KEY_COLOUR
    palette = LEAD_COLOURS if stage.phase is Phase.LEAD else DEAL_COLOURS
    return palette[index % len(palette)]


def _linear(channel: int) -> float:
    value = channel / 255
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def oklab(colour: str) -> tuple[float, float, float]:
    """The OKLab coordinates (L, a, b) of an sRGB ``#rrggbb`` colour (Björn Ottosson, 2020):
    a perceptual space whose hues stay put as lightness changes, unlike CIE L*a*b*, where a
    pure blue drifts towards violet."""
    r, g, b = (_linear(int(colour[i : i + 2], 16)) for i in (1, 3, 5))
    lms = (
        0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b,
        0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b,
        0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b,
    )
    l_, m_, s_ = (math.copysign(abs(x) ** (1 / 3), x) for x in lms)
    return (
        0.2104542553 * l_ + 0.7936177850 * m_ - 0.0040720468 * s_,
        1.9779984951 * l_ - 2.4285922050 * m_ + 0.4505937099 * s_,
        0.0259040371 * l_ + 0.7827717662 * m_ - 0.8086757660 * s_,
    )


LIGHTNESS_WEIGHT = 0.3
"""How much a difference in lightness counts against one in hue and chroma.  amoCRM's palette
is all light pastels, so a dark colour can never match its lightness; at full weight lightness
decides and a mid grey comes out violet.  Weighted down, hue decides: grey becomes the
palette's grey, dark green its green, blue its blue, red its red."""


def colour_distance(first: str, second: str) -> float:
    """A perceptual distance: OKLab, with lightness weighted by :data:`LIGHTNESS_WEIGHT`."""
    (l1, a1, b1), (l2, a2, b2) = oklab(first), oklab(second)
    return math.hypot((l1 - l2) * LIGHTNESS_WEIGHT, a1 - a2, b1 - b2)


def nearest_colour(colour: str, palette: Sequence[str]) -> str:
    """The palette colour that looks closest to ``colour`` (:func:`colour_distance`); ties go
    to the one listed first, so the answer never depends on anything but the two inputs."""
    return min(palette, key=lambda candidate: colour_distance(colour, candidate))


# ---- machine codes -------------------------------------------------------------------------

_NOT_CODE = re.compile(r"[^A-Z0-9_]")


def code_base(ident: str, max_length: int) -> str:
    """An id turned into a CRM code: upper case, only ``[A-Z0-9_]``, at most ``max_length``.

    A code that is too long is shortened word by word (words being the parts between ``_``),
    always cutting the longest word, the leftmost of equals, so every word keeps its start:
    ``final_decision_maker`` in 13 characters is ``FIN_DECI_MAKE``, not ``FINAL_DECISIO``.
    """
    words = [w for w in _NOT_CODE.sub("_", ident.upper()).split("_") if w] or ["X"]
    sizes = [len(w) for w in words]
    while sum(sizes) + len(sizes) - 1 > max_length:
        longest = max(sizes)
        if longest == 1:
            words, sizes = words[:-1], sizes[:-1]  # only one-letter words left: drop the last
            continue
        sizes[sizes.index(longest)] -= 1
    return "_".join(w[:n] for w, n in zip(words, sizes, strict=True))


def assign_codes(idents: Sequence[str], max_length: int, taken: Iterable[str]) -> list[str]:
    """Codes for ``idents``, in order, avoiding ``taken`` and each other.

    A clash (two ids that are equal once upper-cased or cut, or a reserved system code) is
    resolved by a ``_2``, ``_3``… suffix on the later one, the code being cut further to make
    room, so the result depends only on the ids and their order.
    """
    used = set(taken)
    result = []
    for ident in idents:
        base = code_base(ident, max_length)
        candidate, n = base, 2
        while candidate in used:
            suffix = f"_{n}"
            candidate = code_base(ident, max_length - len(suffix)) + suffix
            n += 1
        used.add(candidate)
        result.append(candidate)
    return result


# ---- the funnel facts both targets map ----------------------------------------------------


def won_outcomes(pipeline: Pipeline) -> tuple[Stage, ...]:
    return tuple(s for s in pipeline.stages if s.kind is StageKind.WON)


def lost_outcomes(pipeline: Pipeline, phase: Phase | None = None) -> tuple[Stage, ...]:
    return tuple(
        s
        for s in pipeline.stages
        if s.kind is StageKind.LOST and (phase is None or s.phase is phase)
    )


def timeout_target(pipeline: Pipeline, stage: Stage) -> Stage | None:
    """Where the stage's SLA sends a stuck deal (``None`` without an SLA)."""
    if stage.sla is None:
        return None
    ref = stage.timeout or pipeline.timeout
    return pipeline.stage(ref.name) if ref is not None else None


def pits(pipeline: Pipeline) -> tuple[Stage, ...]:
    """The pipeline's pits: lost outcomes that an SLA times out into (M6)."""
    targets = {
        target.id.name
        for stage in pipeline.stages
        if (target := timeout_target(pipeline, stage)) is not None
    }
    return tuple(s for s in lost_outcomes(pipeline) if s.id.name in targets)


def outcome_reasons(pipeline: Pipeline, stage: Stage) -> tuple[LossReason, ...]:
    """The declared loss reasons a lost outcome lists, in its order, without repeats."""
    seen: dict[str, LossReason] = {}
    for ref in stage.reasons:
        reason = next((r for r in pipeline.reasons if r.id.name == ref.name), None)
        if reason is not None and ref.name not in seen:
            seen[ref.name] = reason
    return tuple(seen.values())


@dataclass(frozen=True, slots=True)
class Move:
    """An edge the CRMs cannot store, as the manual steps describe it."""

    kind: EdgeKind
    source: tuple[str, str]
    target: tuple[str, str]
    label: str | None
    delay: Duration | None


def moves(project: Project, pipeline: Pipeline, kind: EdgeKind) -> tuple[Move, ...]:
    """The edges of ``kind`` that leave ``pipeline``, in the compiler's order."""
    return tuple(
        Move(
            e.kind,
            (e.source.pipeline, e.source.stage),
            (e.target.pipeline, e.target.stage),
            e.label,
            e.delay,
        )
        for e in project.edges
        if e.kind is kind and e.source.pipeline == pipeline.id.name
    )


def then_stages(pipeline: Pipeline) -> tuple[Stage, ...]:
    return tuple(s for s in pipeline.stages if s.then is not None)


def lead_signature(pipeline: Pipeline) -> tuple[object, ...]:
    """What two lead phases must share to be one lead funnel: the lead stages and lost
    outcomes with their ids, names, colours and loss reasons, in order."""
    return tuple(
        (
            s.id.name,
            s.name.value,
            s.kind.value,
            s.color.value if s.color else None,
            tuple(r.name.value for r in outcome_reasons(pipeline, s)),
        )
        for s in pipeline.stages
        if s.phase is Phase.LEAD
    )


# ---- options -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Option:
    """One option of a target's table: its kind, its allowed values, its default, and
    whether a ``[targets.<t>.pipelines.<id>]`` table may override it."""

    name: str
    kind: str  # "choice", "bool", "int", "str", "table"
    default: object
    choices: tuple[str, ...] = ()
    per_pipeline: bool = True
    minimum: int = 0
    maximum: int = 1_000_000
    global_ok: bool = True
    """``False`` for options that name things of one pipeline (a stage id), so only a
    ``[targets.<t>.pipelines.<id>]`` table may set them."""


class Options:
    """A target's options as given in the project config, checked once.

    Global values live in ``[targets.<target>]``; per-pipeline overrides in
    ``[targets.<target>.pipelines.<pipeline id>]``.  Every problem becomes an F902 diagnostic
    (the config has no spans, so they have none) and the option keeps its default.
    """

    def __init__(
        self, target: str, raw: Mapping[str, object], specs: Sequence[Option], project: Project
    ) -> None:
        self.target = target
        self.specs = {s.name: s for s in specs}
        self.diagnostics: list[Diagnostic] = []
        self._global: dict[str, object] = {}
        self._pipelines: dict[str, dict[str, object]] = {}
        pipeline_ids = [p.id.name for p in project.pipelines]
        for key, value in raw.items():
            if key == "pipelines":
                if not isinstance(value, Mapping):
                    self.error(_("`pipelines` must be a table of per-pipeline tables"))
                    continue
                for pipeline_id, table in value.items():
                    if pipeline_id not in pipeline_ids:
                        self.error(
                            _("`{option}` names no pipeline of the build").format(
                                option=f"pipelines.{pipeline_id}"
                            ),
                            suggest(str(pipeline_id), pipeline_ids),
                        )
                        continue
                    if not isinstance(table, Mapping):
                        self.error(
                            _("`{option}` must be a table").format(
                                option=f"pipelines.{pipeline_id}"
                            )
                        )
                        continue
                    checked: dict[str, object] = {}
                    for name, item in table.items():
                        spec = self._spec(str(name), f"pipelines.{pipeline_id}.")
                        if spec is None:
                            continue
                        if not spec.per_pipeline:
                            self.error(
                                _(
                                    "`{option}` applies to the whole build; set it in "
                                    "`[targets.{target}]`, not per pipeline"
                                ).format(option=name, target=target)
                            )
                            continue
                        if self._valid(spec, item, f"pipelines.{pipeline_id}.{name}"):
                            checked[spec.name] = item
                    self._pipelines[str(pipeline_id)] = checked
                continue
            spec = self._spec(str(key), "")
            if spec is None:
                continue
            if not spec.global_ok:
                self.error(
                    _(
                        "`{option}` names things of one pipeline; set it in "
                        "`[targets.{target}.pipelines.<pipeline id>]`"
                    ).format(option=key, target=target)
                )
                continue
            if self._valid(spec, value, str(key)):
                self._global[spec.name] = value

    def error(self, reason: str, hint: str = "") -> None:
        self.diagnostics.append(
            codes.make("F902", None, target=self.target, reason=reason, hint=hint)
        )

    def _spec(self, name: str, prefix: str) -> Option | None:
        spec = self.specs.get(name)
        if spec is None:
            known = [*self.specs, *([] if prefix else ["pipelines"])]
            self.error(
                _("unknown option `{option}`").format(option=prefix + name),
                suggest(name, known, _("options: {names}").format(names=", ".join(sorted(known)))),
            )
        return spec

    def _valid(self, spec: Option, value: object, where: str) -> bool:
        if spec.kind == "choice":
            if value in spec.choices:
                return True
            allowed = ", ".join(f'"{c}"' for c in spec.choices)
            self.error(
                _("`{option}` must be one of {allowed}, not {value}").format(
                    option=where, allowed=allowed, value=_toml(value)
                )
            )
            return False
        if spec.kind == "bool":
            if isinstance(value, bool):
                return True
            self.error(
                _("`{option}` must be true or false, not {value}").format(
                    option=where, value=_toml(value)
                )
            )
            return False
        if spec.kind == "int":
            number = isinstance(value, int) and not isinstance(value, bool)
            if number and spec.minimum <= value <= spec.maximum:  # type: ignore[operator]
                return True
            self.error(
                _(
                    "`{option}` must be a whole number from {minimum} to {maximum}, not {value}"
                ).format(
                    option=where, minimum=spec.minimum, maximum=spec.maximum, value=_toml(value)
                )
            )
            return False
        if spec.kind == "str":
            if isinstance(value, str) and value:
                return True
            self.error(
                _("`{option}` must be a non-empty string, not {value}").format(
                    option=where, value=_toml(value)
                )
            )
            return False
        if isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values()):
            return True
        self.error(_("`{option}` must be a table of strings").format(option=where))
        return False

    def get(self, name: str, pipeline: Pipeline | None = None) -> object:
        """The option's value for ``pipeline``: its override, else the global value, else the
        default."""
        if pipeline is not None:
            local = self._pipelines.get(pipeline.id.name, {})
            if name in local:
                return local[name]
        return self._global.get(name, self.specs[name].default)

    def given(self, name: str, pipeline: Pipeline) -> bool:
        """Whether the option was set for this pipeline (its own table or the global one)."""
        return name in self._pipelines.get(pipeline.id.name, {}) or name in self._global

    def text(self, name: str, pipeline: Pipeline | None = None) -> str:
        value = self.get(name, pipeline)
        assert isinstance(value, str)
        return value

    def number(self, name: str) -> int:
        value = self.get(name)
        assert isinstance(value, int)
        return value

    def table(self, name: str, pipeline: Pipeline | None = None) -> dict[str, str]:
        value = self.get(name, pipeline)
        assert isinstance(value, Mapping)
        return {str(k): str(v) for k, v in value.items()}

    def effective(self, pipeline: Pipeline) -> dict[str, object]:
        """Every per-pipeline option's value for ``pipeline``, for a plan's header."""
        return {
            name: _plain(self.get(name, pipeline))
            for name, spec in self.specs.items()
            if spec.per_pipeline or spec.kind != "table"
        }


def _plain(value: object) -> object:
    if isinstance(value, Mapping):
        return {str(k): value[k] for k in sorted(value)}
    return value


def _toml(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


# ---- diagnostics ---------------------------------------------------------------------------


def unsupported(
    options: EmitOptions,
    span: Span | None,
    *,
    target: str,
    what: str,
    hint: str,
    labels: Iterable[Label] = (),
    notes: Iterable[str] = (),
) -> Diagnostic | None:
    """F901 for something the target cannot express, at the severity ``--unsupported`` asks
    for (``None`` for ``ignore``).  The construct is always listed in the manual steps too."""
    severity = severity_for(options)
    if severity is None:
        return None
    return codes.make(
        "F901",
        span,
        severity=severity,
        labels=labels,
        notes=notes,
        target=target,
        what=what,
        hint=hint,
    )


def severity_for(options: EmitOptions) -> Severity | None:
    """The severity ``--unsupported`` gives a lossy mapping: none, a warning or an error."""
    return {"ignore": None, "warn": Severity.WARNING, "error": Severity.ERROR}.get(
        options.unsupported, Severity.WARNING
    )


def multiple_won(pipeline: Pipeline, target: str, rule: str) -> Diagnostic | None:
    """F903 when a pipeline has more than one won outcome (both CRMs have exactly one)."""
    won = won_outcomes(pipeline)
    if len(won) < 2:
        return None
    return codes.make(
        "F903",
        won[1].id.span,
        labels=[Label(won[0].id.span, _("the first won outcome"))],
        notes=[rule],
        pipeline=pipeline.id.name,
        count=str(len(won)),
        target=target,
    )


# ---- Markdown ------------------------------------------------------------------------------


@dataclass
class Markdown:
    """A small Markdown writer: sections are left out when they have no items, so the manual
    steps only ever show what this pipeline needs."""

    lines: list[str] = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> None:
        self._gap()
        self.lines.append("#" * level + " " + text)
        self.lines.append("")

    def paragraph(self, text: str) -> None:
        self._gap()
        self.lines.append(text)
        self.lines.append("")

    def item(self, text: str, *, check: bool = True, indent: int = 0) -> None:
        prefix = "  " * indent + ("- [ ] " if check else "- ")
        self.lines.append(prefix + text.replace("\n", " "))

    def section(self, title: str, intro: str | None, items: Sequence[str]) -> None:
        if not items:
            return
        self.heading(title)
        if intro:
            self.lines.append(intro)
            self.lines.append("")
        for text in items:
            self.item(text)

    def _gap(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def render(self) -> bytes:
        while self.lines and self.lines[-1] == "":
            self.lines.pop()
        return ("\n".join(self.lines) + "\n").encode("utf-8")


def code_span(text: str) -> str:
    """Inline code in Markdown, safe for any text (:func:`.markdown.code`)."""
    return markdown.code(text)


def bad_characters(value: str, allowed: re.Pattern[str], empty: str) -> str | None:
    """The characters of ``value`` that ``allowed`` refuses, as a sorted list of code spans for
    a diagnostic, or ``empty`` when there is no value at all (``None`` when it is fine).

    Both targets check their machine codes (Bitrix24's STATUS_ID and FIELD_NAME) this way, so
    the diagnostics list offending characters alike."""
    bad = sorted({c for c in value if not allowed.fullmatch(c)})
    if not bad and value:
        return None
    return ", ".join(f"`{c}`" for c in bad) if bad else empty


def chosen_lost_status(
    pipeline: Pipeline,
    opts: Options,
    allowed: Sequence[Stage],
    diagnostics: list[Diagnostic],
) -> Stage | None:
    """The lost outcome ``lost-status`` names for ``pipeline`` if it is one of ``allowed``.

    ``None`` when the option is not set, or when it names anything else; that is an F902,
    and the target keeps its default choice."""
    chosen = opts.get("lost-status", pipeline)
    if not isinstance(chosen, str):
        return None
    found = pipeline.stage(chosen)
    if found is not None and found in allowed:
        return found
    diagnostics.append(
        codes.make(
            "F902",
            None,
            target=opts.target,
            reason=_("`{option}` must name a lost outcome of `{pipeline}`, not `{value}`").format(
                option=f"pipelines.{pipeline.id.name}.lost-status",
                pipeline=pipeline.id.name,
                value=chosen,
            ),
            hint=_("lost outcomes: {names}").format(names=", ".join(s.id.name for s in allowed)),
        )
    )
    return None


FieldKey = tuple[str, str, str, tuple[str, ...]]
"""What makes two field declarations one CRM field: id, name, type and its options."""


def field_key(f: FunnelField) -> FieldKey:
    return (f.id.name, f.name.value, f.type.kind, f.type.options)


# ---- what both plans and both checklists share --------------------------------------------

BASE_CAPABILITIES: Mapping[str, str] = {
    "pipeline": "native",
    "lead phase": "native",
    "deal stages": "native",
    "won": "native",
    "lost outcomes": "native",
    "pit": "native",
    "loss reasons": "native",
    "fields": "native",
    "requires": "manual",
    "sla": "manual",
    "timeout": "manual",
    "revive": "manual",
    "next": "manual",
    "explicit edges": "manual",
    "then": "manual",
    "probability": "manual",
    "goal/exit/task": "manual",
    "colour": "native",
    "key stage": "manual",
    "segment": "manual",
}
"""What both CRMs store natively and what goes to the manual steps; a target overrides the
few constructs its API handles differently (:func:`capabilities`)."""


def capabilities(overrides: Mapping[str, str]) -> dict[str, str]:
    """:data:`BASE_CAPABILITIES` with a target's own answers, in the same order."""
    return {**BASE_CAPABILITIES, **overrides}


def source_path(project: Project, pipeline: Pipeline) -> str:
    """The file ``pipeline`` is declared in, relative to the project root with ``/`` (the
    same from any working directory and OS)."""
    return output_path(project.sources, pipeline.span.path)


def plan_header(
    schema_id: str,
    format_version: int,
    target: str,
    pipeline: Pipeline,
    russian: bool,
    source: str,
) -> dict[str, Any]:
    """The first keys of every plan: what it is and which pipeline it builds (``source``: its
    file, from :func:`source_path`)."""
    return {
        "$schema": schema_id,
        "format_version": format_version,
        "target": target,
        "pipeline": {
            "id": pipeline.id.name,
            "name": pipeline.name.value,
            "source": source,
            "language": "ru" if russian else "en",
        },
    }


def plan_files(
    target: str,
    label: str,
    pipeline: Pipeline,
    document: Mapping[str, Any],
    steps: bytes,
    options: EmitOptions,
) -> Emitted:
    """``<pipeline>.json`` (the plan) and ``<pipeline>.md`` (the manual steps), the plan
    checked against its schema first when the build asks for it (a failure is a bug)."""
    if options.validate_output:
        problem = plan_problem(target, document)
        if problem is not None:
            # A bug in funnelc (``check`` must refuse every funnel that makes such a plan): an
            # internal-error diagnostic, never a traceback, and no file for this pipeline.
            found = codes.make(
                "F904", pipeline.id.span, target=label, pipeline=pipeline.id.name, errors=problem
            )
            return Emitted(files={}, diagnostics=(found,))
    return Emitted(
        files={
            f"{pipeline.id.name}.json": dump_plan(document),
            f"{pipeline.id.name}.md": steps,
        }
    )


Where = Callable[[str, str], str]
"""How a checklist names a stage (pipeline id, stage id): in words, with its CRM place."""


@dataclass(frozen=True, slots=True)
class ChecklistTexts:
    """What a CRM's checklist says in its own words, already in the pipeline's language; the
    shared helpers below write the rest themselves (``t("…")``, the one catalogue)."""

    title: str
    """The heading; ``{name}`` is the pipeline."""
    intro: str
    """The introduction; ``{id}``, ``{source}``, ``{plan}`` and the target's own blanks."""
    sla_business: str
    """Added to an SLA in business days: how the CRM's delay counts them."""
    key_item: str
    """The item of a key stage (``{stage}``)."""
    revive_intro: str
    next_intro: str
    next_item: str
    """A ``next`` move (``{source}``, ``{target}``)."""
    then_item: str
    """A ``then`` move (``{source}``, ``{target}``)."""
    edges_intro: str


def steps_start(
    t: Translator,
    words: ChecklistTexts,
    pipeline: Pipeline,
    russian: bool,
    source: str,
    **intro: str,
) -> Markdown:
    """A checklist's title, its introduction (``intro`` fills the target's own blanks;
    ``source`` is the pipeline's file, from :func:`source_path`) and the pipeline's segment."""
    md = Markdown()
    md.heading(words.title.format(name=quoted(pipeline.name.value, russian)), 1)
    md.paragraph(
        words.intro.format(
            id=code_span(pipeline.id.name),
            source=code_span(source),
            plan=code_span(f"{pipeline.id.name}.json"),
            **intro,
        )
    )
    if pipeline.segment is not None:
        md.paragraph(t("Segment: {text}").format(text=md_line(pipeline.segment.value)))
    return md


def sla_text(
    t: Translator,
    words: ChecklistTexts,
    pipeline: Pipeline,
    stage: Stage,
    label: str,
    where: Where,
    russian: bool,
) -> str:
    """The checklist item of a stage's SLA: how long, and where a stuck deal goes."""
    assert stage.sla is not None
    target = timeout_target(pipeline, stage)
    text = t("{stage}: {sla}, then to {where}.").format(
        stage=label,
        sla=duration_text(stage.sla, russian),
        where=where(pipeline.id.name, target.id.name) if target else "—",
    )
    if stage.sla.unit.value == "bd":
        text += words.sla_business
    return text


def task_items(t: Translator, stages: Iterable[Stage], label: Callable[[Stage], str]) -> list[str]:
    return [
        t("{stage}: “{task}”.").format(stage=label(s), task=md_line(task.value))
        for s in stages
        for task in s.tasks
    ]


def probability_items(
    t: Translator, stages: Iterable[Stage], label: Callable[[Stage], str]
) -> list[str]:
    return [
        t("{stage}: {value}%.").format(stage=label(s), value=s.probability)
        for s in stages
        if s.probability is not None
    ]


def key_section(
    md: Markdown, t: Translator, words: ChecklistTexts, pipeline: Pipeline, russian: bool
) -> None:
    key_items = [
        words.key_item.format(stage=quoted(s.name.value, russian)) for s in pipeline.stages if s.key
    ]
    md.section(t("Key stage"), None, key_items)


def definition_intro(t: Translator, lead: LeadPhase) -> str | None:
    """The lead section's introduction: the lead definition, when the pipeline has one."""
    if not lead.definition:
        return None
    return t("What a lead is: {text}").format(text=md_line(lead.definition.value))


def reason_lists(template: str, pipeline: Pipeline, where: Where, russian: bool) -> list[str]:
    """One item per lost outcome that lists loss reasons: the outcome and its reasons."""
    items = []
    for stage in lost_outcomes(pipeline):
        listed = outcome_reasons(pipeline, stage)
        if listed:
            items.append(
                template.format(
                    stage=where(pipeline.id.name, stage.id.name),
                    reasons=", ".join(quoted(r.name.value, russian) for r in listed),
                )
            )
    return items


def move_sections(
    md: Markdown,
    t: Translator,
    words: ChecklistTexts,
    project: Project,
    pipeline: Pipeline,
    where: Where,
    own: Callable[[str], str],
    russian: bool,
) -> None:
    """The sections of the moves neither CRM stores: revival, ``next``, explicit edges and
    ``then``.  ``own`` names a stage of this pipeline where a move starts."""
    revive_items = [
        t("From {source}{after}, to {target}{label}.").format(
            source=where(*m.source),
            target=where(*m.target),
            after=(
                t(" after {delay}").format(delay=duration_text(m.delay, russian)) if m.delay else ""
            ),
            label=f": {markdown.inline(m.label)}" if m.label else "",
        )
        for m in moves(project, pipeline, EdgeKind.REVIVE)
    ]
    md.section(t("Reviving deals"), words.revive_intro, revive_items)

    next_items = [
        words.next_item.format(source=where(*m.source), target=where(*m.target))
        for m in moves(project, pipeline, EdgeKind.NEXT)
    ]
    md.section(t("The next deal"), words.next_intro, next_items)

    edge_items = [
        t("{source} → {target}{label}.").format(
            source=own(m.source[1]),
            target=where(*m.target),
            label=f": {markdown.inline(m.label)}" if m.label else "",
        )
        for m in moves(project, pipeline, EdgeKind.EXPLICIT)
    ]
    edge_items += [
        words.then_item.format(source=own(s.id.name), target=where(pipeline.id.name, s.then.name))
        for s in then_stages(pipeline)
        if s.then is not None
    ]
    md.section(t("Moves outside the main order"), words.edges_intro, edge_items)


def field_keys(project: Project) -> list[FieldKey]:
    """Every distinct field declaration of the build, in order of first appearance: custom
    fields belong to the whole account (portal), so each becomes one CRM field."""
    keys: list[FieldKey] = []
    for p in project.pipelines:
        for f in p.fields:
            if field_key(f) not in keys:
                keys.append(field_key(f))
    return keys


# ---- the targets ---------------------------------------------------------------------------


class Analysed(Protocol):
    """What a CRM target's analysis of a build holds: every problem found, and each
    pipeline's mapping (the target's own plan type) by pipeline id."""

    @property
    def diagnostics(self) -> list[Diagnostic]: ...

    @property
    def plans(self) -> Mapping[str, Any]: ...


AnalysisT = TypeVar("AnalysisT", bound=Analysed)
PlanT = TypeVar("PlanT")


class TargetPackage(Protocol):
    """What the package of a CRM target (``targets/<crm>/__init__.py``) defines, and
    :class:`PlanTarget` uses: how each construct is expressed, the analysis of a build, and
    per pipeline the plan document and the manual steps."""

    CAPABILITIES: Mapping[str, str]

    def analyse(self, project: Project, options: EmitOptions) -> Any: ...

    def plan_document(self, project: Project, plan: Any) -> dict[str, Any]: ...

    def manual_steps(self, project: Project, analysis: Any, plan: Any) -> bytes: ...


class PlanTarget(Generic[AnalysisT]):
    """A CRM target: it analyses the whole build once per call, reports the limits the build
    breaks from :meth:`check`, and writes a plan and manual steps per pipeline from
    :meth:`emit`.  Both call :meth:`analyse`, so the plan always follows from exactly the
    decisions the checks judged (the analysis is cheap: no I/O, linear in the build).

    A subclass is defined in its target's package, which is a :class:`TargetPackage`: the
    members below are the same for every CRM target and read the package's functions."""

    __slots__ = ()

    name: str
    description: str
    label: ClassVar[str]

    def _package(self) -> TargetPackage:
        import sys

        package: TargetPackage = sys.modules[type(self).__module__]
        return package

    @property
    def capabilities(self) -> Capabilities:
        """Checks, an import plan and ``funnelc plan`` / ``apply``; the constructs as the
        package's ``CAPABILITIES`` say."""
        return Capabilities(
            checks=True, plan=True, sync=True, constructs=dict(self._package().CAPABILITIES)
        )

    def analyse(self, project: Project, options: EmitOptions) -> AnalysisT:
        analysis: AnalysisT = self._package().analyse(project, options)
        return analysis

    def files(self, project: Project, analysis: AnalysisT, pipeline: Pipeline) -> PlanFiles:
        package = self._package()
        plan = analysis.plans[pipeline.id.name]
        return package.plan_document(project, plan), package.manual_steps(project, analysis, plan)

    def analysis(self, project: Project, options: EmitOptions) -> AnalysisT:
        """:meth:`analyse`, computed once per build: within one :func:`funnelc.emit.sharing`
        block (a build), ``check`` and every pipeline's ``emit`` share it, so emitting a build
        is linear in its size (it used to re-analyse the whole build for every pipeline)."""
        from funnelc.emit import shared

        return shared(
            ("crm-analysis", self.name, id(project), id(options)),
            lambda: self.analyse(project, options),
        )

    def check(self, project: Project, options: EmitOptions) -> list[Diagnostic]:
        """Every limit of the CRM the build exceeds, and everything it cannot express."""
        return self.analysis(project, options).diagnostics

    def emit(self, project: Project, pipeline: Pipeline, options: EmitOptions) -> Emitted:
        """``<pipeline>.json`` (the plan) and ``<pipeline>.md`` (the manual steps).  The
        diagnostics were reported by :meth:`check`, which the build runs first."""
        document, steps = self.files(project, self.analysis(project, options), pipeline)
        return plan_files(self.name, self.label, pipeline, document, steps, options)


PlanFiles = tuple[dict[str, Any], bytes]
"""A pipeline's plan document and its manual steps."""


@dataclass
class Analysis(Generic[PlanT]):
    """A target's mapping of every pipeline of a build (its own plan type), and every problem
    with it."""

    plans: dict[str, PlanT]
    diagnostics: list[Diagnostic]


if TYPE_CHECKING:
    from funnelc.emit import Target

    def _conforms(target: PlanTarget[Any]) -> Target:
        return target
