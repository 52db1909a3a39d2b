"""The catalogue of diagnostic codes: one entry per problem the compiler can report.

Codes are never reused.  The long explanation of each code is a Markdown file under
``docs/codes/`` (``funnelc explain CODE`` prints it); a test keeps this table and that folder
in step.  Message templates use ``str.format`` fields filled from the diagnostic's ``args``,
so the same diagnostic can be rendered in another language by swapping the catalogue.

Numbering: F0xx syntax, F1xx names and references, F2xx pipeline structure, F3xx the stage
graph, F4xx values, F5xx files and imports, F6xx outputs and configuration.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Iterable

from funnelc.diagnostics import Code, Diagnostic, Fix, Label, Severity
from funnelc.diff.codes import BREAKING_CODES
from funnelc.i18n import message as unrendered
from funnelc.source import Span

_COMPILER_CODES: tuple[Code, ...] = (
    # --- syntax -------------------------------------------------------------------------
    Code(
        "F001",
        "syntax-error",
        "the text does not follow the grammar of the language",
        "{detail}",
        "{hint}",
    ),
    Code(
        "F002",
        "invalid-character",
        "a character that cannot start any token",
        "{detail}",
        "{hint}",
    ),
    Code(
        "F003",
        "unterminated-string",
        "a string is opened but never closed",
        "this string is never closed",
        'close it with `"` on the same line, or use `"""` for a multi-line string',
    ),
    Code(
        "F004",
        "invalid-escape",
        "a backslash sequence a string does not understand",
        "invalid escape sequence `{escape}`",
        'write `\\\\` for a backslash; the escapes are \\" \\\\ \\n \\t \\uXXXX \\UXXXXXXXX; '
        'inside `"""` a backslash at the end of a line joins it with the next',
    ),
    Code(
        "F005",
        "control-character",
        "a control character or a bidirectional override inside a string",
        "a string contains {char}",
        "remove it: control characters and bidirectional overrides are invisible or disguise "
        "text, and would reach the CRM, the Markdown steps and the diagrams",
    ),
    Code(
        "F006",
        "blank-name",
        "a display name or list option that is empty or only spaces",
        "{what} is blank",
        "write the text people will see in the CRM and the diagrams, e.g. "
        '`stage met "Встреча состоялась"`',
    ),
    Code(
        "F007",
        "backslash-in-import",
        "an import path written with backslashes",
        "import path `{path}` contains a backslash",
        'use `/` in import paths, on every OS: `import "{fixed}"`',
    ),
    # --- names and references -----------------------------------------------------------
    Code(
        "F101",
        "duplicate-definition",
        "two things of the same kind share an id",
        "{kind} `{name}` is defined more than once",
        "ids are machine keys used by CRMs and outputs, so each must be unique; rename one",
    ),
    Code(
        "F102",
        "unknown-stage",
        "a reference to a stage that does not exist",
        "unknown stage `{name}`{where}",
        "{hint}",
    ),
    Code(
        "F103",
        "unknown-field",
        "a reference to a field that is not declared",
        "unknown field `{name}`",
        "{hint}",
    ),
    Code(
        "F104",
        "unknown-loss-reason",
        "a reference to a loss reason that is not declared",
        "unknown loss reason `{name}`",
        "{hint}",
    ),
    Code(
        "F105",
        "unknown-pipeline",
        "a reference to a pipeline that is not in the build",
        "unknown pipeline `{name}`",
        "{hint}",
    ),
    Code(
        "F106",
        "unknown-field-type",
        "a field type the language does not have",
        "unknown field type `{name}`",
        "{hint}",
    ),
    Code(
        "F108",
        "choice-without-options",
        "a `choice` or `multichoice` field with no options",
        "`{kind}` field `{field}` has no options",
        'list them: `{kind}("Сайт", "Звонок")`',
    ),
    Code(
        "F109",
        "options-on-plain-type",
        "options given to a field type that takes none",
        "`{kind}` takes no options",
        "only `choice` and `multichoice` take a list of options; remove the list or use `choice`",
    ),
    Code(
        "F107",
        "duplicate-attribute",
        "a stage attribute that may appear once appears twice",
        "`{attr}` is given more than once in {owner}",
        "{hint}",
    ),
    Code(
        "F110",
        "case-collision",
        "two pipeline ids that differ only in letter case",
        "pipeline ids `{name}` and `{other}` differ only in letter case",
        "their output files (`{name}.json`, `{other}.json`) would be one file on macOS and "
        "Windows, whose file names ignore case; rename one",
    ),
    Code(
        "F111",
        "was-is-a-current-id",
        "`was` names an id that a stage (or pipeline) still has",
        "`{id}` says `was {old}`, but `{old}` is the id of {kind} here",
        "`was` names the id the {kind_short} had before a re-key; remove `was {old}`, or give "
        "the other one a new id first",
    ),
    Code(
        "F112",
        "was-claimed-twice",
        "two stages (or pipelines) say `was` with the same old id",
        "`{old}` is claimed by `was` on both `{id}` and `{other}`",
        "only one of them can take over the CRM object of `{old}`; keep `was {old}` on one",
    ),
    # --- pipeline structure -------------------------------------------------------------
    Code(
        "F201",
        "no-deal-stages",
        "a pipeline whose deal phase has no open stage",
        "pipeline `{pipeline}` has no deal stages",
        "add at least one `stage` to its `deal {{ … }}` block",
    ),
    Code(
        "F202",
        "no-won-outcome",
        "a pipeline with no won outcome",
        "pipeline `{pipeline}` has no won outcome",
        'add `won <id> "<name>"` to its deal phase (M12)',
    ),
    Code(
        "F203",
        "no-lost-outcome",
        "a pipeline with no lost outcome",
        "pipeline `{pipeline}` has no lost outcome",
        'add `lost <id> "<name>"` to its deal phase (M11, M12)',
    ),
    Code(
        "F204",
        "sla-without-timeout",
        "an SLA that says nothing about where the deal goes",
        "stage `{stage}` has an SLA but no timeout target",
        "add `timeout -> <stage>` to the pipeline (usually the pit) or to this stage",
    ),
    Code(
        "F205",
        "revive-not-from-lost",
        "a revival edge that starts anywhere but a lost outcome",
        "a revival must start at a lost outcome, but `{stage}` is {kind}",
        "revive from the pit or another `lost` outcome (M7)",
    ),
    Code(
        "F206",
        "revive-not-into-lead",
        "a revival edge that does not re-enter the lead phase",
        "a revival must end in a lead phase, but `{stage}` is {where}",
        "{hint}",
    ),
    Code(
        "F207",
        "edge-from-outcome",
        "an explicit edge that leaves a won or lost outcome",
        "outcome `{stage}` is final; an explicit edge cannot leave it",
        "use `revive` to bring lost deals back, or `next` to start a deal in another pipeline",
    ),
    Code(
        "F208",
        "edge-deal-to-lead",
        "an explicit edge from the deal phase back into the lead phase",
        "an edge cannot go from the deal stage `{source}` back to the lead stage `{target}`",
        "once sales has accepted a lead it stays a deal; lose it and `revive` it instead (M7, M8)",
    ),
    Code(
        "F209",
        "multiple-key-stages",
        "more than one stage of a pipeline is marked `key`",
        "pipeline `{pipeline}` has more than one key stage",
        "keep `key` on the qualification stage only (M9)",
    ),
    Code(
        "F210",
        "next-same-pipeline",
        "a `next` edge that stays in its own pipeline",
        "`next` must start a deal in another pipeline, but `{target}` is in `{pipeline}`",
        "use an explicit edge for moves inside a pipeline (M13)",
    ),
    Code(
        "F211",
        "empty-lead-phase",
        "a lead phase with no stages",
        "the lead phase of `{pipeline}` has no stages",
        "add a `stage` to the `lead {{ … }}` block or remove the block",
    ),
    Code(
        "F212",
        "self-edge",
        "an edge from a stage to itself",
        "an edge from `{stage}` to itself does nothing",
        "remove it",
    ),
    Code(
        "F213",
        "timeout-to-self",
        "an SLA whose timeout target is its own stage",
        "stage `{stage}` times out into itself",
        "point the timeout at the pit",
    ),
    Code(
        "F214",
        "next-from-non-won",
        "`next` on a stage that is not a won outcome",
        "`next` is only allowed on a won outcome, but `{stage}` is not one",
        "a new deal in another pipeline starts when this one is won (M13)",
    ),
    Code(
        "F215",
        "timeout-into-won",
        "an SLA whose timeout sends the deal to a won outcome",
        "stage `{stage}` times out into the won outcome `{target}`",
        "an expired deal is not a won one: send timeouts to the pit (M6)",
    ),
    Code(
        "F216",
        "reasons-on-non-lost",
        "loss reasons on a stage that is not a lost outcome",
        "`{stage}` is not a lost outcome, so it cannot have loss reasons",
        "put `reasons` on a `lost` outcome (M11)",
    ),
    Code(
        "F217",
        "next-into-outcome",
        "a `next` edge that starts a deal at a won or lost outcome",
        "`next` must start the new deal at an open stage, but `{target}` is a {kind} outcome",
        "point `next` at the first stage of the other pipeline (M13)",
    ),
    # --- the stage graph ----------------------------------------------------------------
    Code(
        "F301",
        "unreachable-stage",
        "an open stage no deal can reach from the pipeline's entry",
        "stage `{stage}` cannot be reached from the entry `{entry}`",
        "{hint}",
    ),
    Code(
        "F302",
        "no-path-to-won",
        "an open stage from which no won outcome can be reached",
        "no won outcome can be reached from stage `{stage}`",
        "give it a way forward: an explicit edge or a `then` towards the won outcome",
    ),
    # --- values ---------------------------------------------------------------------------
    Code(
        "F401",
        "probability-out-of-range",
        "a probability below 0 % or above 100 %",
        "probability {value}% is outside 0–100%",
        "a probability is the chance that a deal at this stage is won: write 0% to 100%",
    ),
    Code(
        "F402",
        "zero-duration",
        "a duration of zero",
        "a duration must be longer than zero",
        "give a positive length such as `30min`, `2h`, `1d` or `5bd`",
    ),
    Code(
        "F403",
        "invalid-colour",
        "a colour that is not `#RGB`, `#RRGGBB` or a known name",
        "invalid colour `{value}`",
        "{hint}",
    ),
    Code(
        "F404",
        "duration-too-long",
        "a duration longer than ten years",
        "duration `{value}` is longer than ten years",
        "an SLA or a delay that long is surely a typo; write it in days, e.g. `30d`",
    ),
    Code(
        "F420",
        "unknown-language",
        "a `language` declaration naming a language funnelc does not write",
        "unknown language `{value}`",
        "{hint}",
    ),
    # --- files and imports ----------------------------------------------------------------
    Code(
        "F501",
        "import-cycle",
        "files that import each other in a cycle",
        "import cycle: {cycle}",
        "move the shared declarations into a file both import",
    ),
    Code(
        "F502",
        "import-not-found",
        "an import of a file that does not exist",
        "cannot find imported file `{path}`",
        "{hint}",
    ),
    Code(
        "F503",
        "import-outside-root",
        "an import that leaves the project's directory tree",
        "import `{path}` leaves the directory `{root}`",
        "keep shared files inside the project, e.g. `shared/common.funnel`",
    ),
    Code(
        "F504",
        "unreadable-file",
        "a file that cannot be read as UTF-8 text",
        "cannot read `{path}`: {reason}",
        None,
    ),
    Code(
        "F505",
        "no-input-files",
        "nothing to compile",
        "no `.funnel` files found in {paths}",
        "pass a file or a directory that contains some",
    ),
    Code(
        "F506",
        "link-outside-root",
        "an input file that is a link leading out of the directory tree it was found in",
        "`{path}` is a link that leads outside `{root}`; it is not read",
        "replace the link with a copy of the file, or pass the file it points to",
    ),
    Code(
        "F507",
        "lone-surrogate",
        "text from the API holds a lone UTF-16 surrogate, which is not a character",
        "the text holds a lone UTF-16 surrogate, which is not a character; it was replaced "
        "with U+FFFD",
        "the editor or client split a character in two (often an emoji); send the text as "
        "whole characters",
        Severity.WARNING,
    ),
    Code(
        "F508",
        "not-utf8",
        "a file that is not UTF-8 text",
        "`{path}` is not UTF-8: byte {byte} at line {line}, column {column} cannot be read",
        "save it as UTF-8 (in the editor: “Save with Encoding”, UTF-8)",
    ),
    Code(
        "F509",
        "empty-file",
        "a file that declares nothing",
        "`{path}` is empty: it declares no pipeline, field, loss reason or import",
        "write a pipeline in it, or delete it",
        Severity.WARNING,
    ),
    Code(
        "F510",
        "no-pipelines",
        "an input under which no pipeline is declared",
        "no pipeline is declared in `{path}`: there is nothing to build from it",
        'a pipeline is written `pipeline id "Name" {{ … }}`; a file of shared fields and '
        "loss reasons is imported by the files that use them",
        Severity.WARNING,
    ),
    # --- outputs -------------------------------------------------------------------------
    Code(
        "F601",
        "renderer-failed",
        "the Graphviz layout program failed or could not be run",
        "could not render pipeline `{pipeline}`: {reason}",
        "{hint}",
    ),
    Code(
        "F602",
        "render-timeout",
        "laying out a pipeline's diagram took longer than the time limit",
        "rendering pipeline `{pipeline}` took longer than {seconds} s",
        "raise `render-timeout` in the config or `--render-timeout`, or simplify the pipeline",
    ),
    Code(
        "F603",
        "unknown-target",
        "a build target that funnelc does not have",
        "unknown target `{name}`",
        "{hint}",
    ),
    Code(
        "F604",
        "invalid-config",
        "the project configuration cannot be used",
        "invalid configuration in `{path}`: {reason}",
        "{hint}",
    ),
    Code(
        "F605",
        "output-not-written",
        "an output file or directory could not be written",
        "cannot write `{path}`: {reason}",
        None,
    ),
    Code(
        "F606",
        "link-in-output",
        "a path the build must write leads through a symbolic link inside the output directory",
        "`{path}` is a symbolic link inside the output directory; funnelc does not write, "
        "read or delete through links there",
        "replace the link with a real directory or file, or build into another `--out`",
    ),
    # --- build --check: the committed outputs against the sources -------------------------
    Code(
        "F670",
        "output-stale",
        "a committed output file differs from what the sources produce",
        "`{path}` is out of date: the sources produce different bytes",
        "run `funnelc build` and commit what it writes",
    ),
    Code(
        "F671",
        "output-missing",
        "an output file the sources produce is not in the output directory",
        "`{path}` is missing: the sources produce it",
        "run `funnelc build` and commit what it writes",
    ),
    Code(
        "F672",
        "output-extra",
        "an output file an earlier build wrote that the sources no longer produce",
        "`{path}` is no longer produced by the sources, but an earlier build wrote it",
        "run `funnelc build` (it removes the file) and commit the removal",
    ),
)


def _registered_codes() -> tuple[Code, ...]:
    """The targets' codes, from the modules the target registry names (imported by name, so
    the core depends on no target; import-linter checks it)."""
    import importlib

    from funnelc.registry import CODE_MODULES

    found: list[Code] = []
    for name in CODE_MODULES:
        found.extend(importlib.import_module(name).TARGET_CODES)
    return tuple(found)


_CODES: tuple[Code, ...] = (*_COMPILER_CODES, *_registered_codes(), *BREAKING_CODES)

CODES: dict[str, Code] = {c.code: c for c in _CODES}
BY_NAME: dict[str, Code] = {c.name: c for c in _CODES}


def lookup(code_or_name: str) -> Code | None:
    key = code_or_name.strip()
    return CODES.get(key.upper()) or BY_NAME.get(key.lower())


def make(
    code: str,
    span: Span | None,
    *,
    labels: Iterable[Label] = (),
    notes: Iterable[str] = (),
    help: str | None = None,
    severity: Severity | None = None,
    fix: Fix | None = None,
    **args: str,
) -> Diagnostic:
    """Build the diagnostic for ``code`` with its message filled from ``args``.

    ``help`` overrides the catalogue's help line; a help template whose fields are missing or
    empty (``{hint}`` with no hint) is left out rather than shown half-filled.  The message and
    help are kept unrendered (:class:`~funnelc.i18n.Msg` values of the catalogue's template and
    ``args``) and rendered when shown, in the output's language
    (:func:`funnelc.diagnostics.render_message`); a value
    in ``args`` is a name from the user's file (shown as it is) or a message made with ``_``
    (rendered in the language of the output, like the template).
    """
    entry = CODES[code]
    message = unrendered(entry.message, **args)
    help_line: object = help
    if help_line is None and entry.help is not None:
        fields, literal = _template_fields(entry.help)
        if not fields <= args.keys():
            help_line = None
        else:
            help_line = unrendered(entry.help, **args)
            if not literal and not any(args[f] for f in fields):
                help_line = None  # only empty fields: nothing to show
    return Diagnostic(
        code=code,
        severity=severity or entry.severity,
        message=message,
        span=span,
        labels=tuple(labels),
        notes=tuple(notes),
        help=help_line,
        args=dict(args),
        fix=fix,
    )


@functools.lru_cache(maxsize=1024)
def _template_fields(template: str) -> tuple[frozenset[str], bool]:
    """The names of a help template's fields, and whether it has any text outside them (a
    template such as ``{hint}`` filled with an empty hint is left out)."""
    fields: set[str] = set()
    literal = False
    for text, name, _spec, _conversion in string.Formatter().parse(template):
        literal = literal or bool(text.strip())
        if name is not None:
            fields.add(name.split(".", 1)[0].split("[", 1)[0])
    return frozenset(fields), literal
