"""Diagnostic codes of the targets (F620 diagrams, F66x Mermaid, F7xx amoCRM, F8xx Bitrix24,
F9xx shared).

The targets own their codes: the compiler's core holds none of them.  This module is
registered in :data:`funnelc.emit.CODE_MODULES` (next to the targets themselves in
:data:`funnelc.emit.REGISTRY`), and :mod:`funnelc.codes` merges every registered module's
``TARGET_CODES`` into the one catalogue that ``funnelc codes`` and ``funnelc explain`` list.
The targets report these from their ``check`` (see :class:`funnelc.emit.CheckingTarget`),
before any file is emitted; the limits themselves are documented in
``docs/targets/amocrm.md`` and ``docs/targets/bitrix24.md``.
"""

from __future__ import annotations

from funnelc.diagnostics import Code, Severity

TARGET_CODES: tuple[Code, ...] = (
    # --- diagrams (svg) -------------------------------------------------------------------
    Code(
        "F620",
        "diagram-too-large",
        "a pipeline with more stages than a diagram can show legibly; its SVG is not drawn",
        "pipeline `{pipeline}` has {count} stages, more than the {limit} a diagram can show; "
        "its SVG is not drawn",
        "split the pipeline by segment (M10), or raise `max-stages` in `[targets.svg]`",
        Severity.WARNING,
    ),
    # --- amoCRM -------------------------------------------------------------------------
    Code(
        "F701",
        "amocrm-too-many-pipelines",
        "the build needs more amoCRM pipelines than an account holds (50)",
        "the build needs {needed} amoCRM pipelines, but an account holds at most 50",
        "{hint}",
    ),
    Code(
        "F702",
        "amocrm-too-many-statuses",
        "an amoCRM pipeline would have more than 100 statuses, system statuses included",
        "pipeline `{pipeline}` needs {count} amoCRM statuses, but a pipeline holds at most 100",
        "{hint}",
    ),
    Code(
        "F703",
        "amocrm-colour-not-in-palette",
        "a stage colour that is not one of amoCRM's 21 status colours",
        "colour `{value}` is not in amoCRM's palette",
        "the nearest palette colour is `{nearest}`; write it instead",
    ),
    Code(
        "F704",
        "amocrm-description-too-long",
        "a status description longer than the 1000 characters amoCRM accepts",
        "the amoCRM description of stage `{stage}` ({level}) is {length} characters long, "
        "more than 1000",
        "shorten the stage's goal, exit criteria or tasks; the description is built from them",
    ),
    Code(
        "F705",
        "amocrm-name-length",
        "a name the amoCRM plan sends that is blank or longer than the 255 characters funnelc "
        "knows to work",
        "{what} is {length} characters long: {rule}",
        "shorten the display name (or give it one); the name is written as it is in the source",
    ),
    # --- Bitrix24 -----------------------------------------------------------------------
    Code(
        "F801",
        "bitrix24-status-id-too-long",
        "a Bitrix24 STATUS_ID longer than its directory allows",
        "STATUS_ID `{value}` of `{stage}` is {length} characters{prefix}, but Bitrix24 allows "
        "{limit}",
        "choose a shorter code in `status-ids`, or remove it to let funnelc derive one",
    ),
    Code(
        "F802",
        "bitrix24-invalid-status-id",
        "a Bitrix24 STATUS_ID with characters other than letters, digits, `_` and `-`",
        "STATUS_ID `{value}` of `{stage}` contains {bad}, which Bitrix24 does not allow",
        "a STATUS_ID may contain only A-Z, a-z, 0-9, `_` and `-`",
    ),
    Code(
        "F803",
        "bitrix24-field-name-too-long",
        "a Bitrix24 user field name longer than 50 characters with its `UF_CRM_` prefix",
        "FIELD_NAME `{value}` of field `{field}` is {length} characters long, but Bitrix24 "
        "allows 50, `UF_CRM_` included",
        "choose a name of at most 43 characters after `UF_CRM_` in `field-names`",
    ),
    Code(
        "F804",
        "bitrix24-invalid-field-name",
        "a Bitrix24 user field name with characters other than A-Z, 0-9 and `_`",
        "FIELD_NAME `{value}` of field `{field}` contains {bad}, which Bitrix24 does not allow",
        "a FIELD_NAME may contain only A-Z, 0-9 and `_`",
    ),
    Code(
        "F805",
        "bitrix24-second-lead-funnel",
        "two different lead phases mapped into the one lead funnel of a Bitrix24 portal",
        "the lead phases of `{first}` and `{second}` cannot both become the portal's lead statuses",
        "{hint}",
    ),
    Code(
        "F806",
        "bitrix24-duplicate-code",
        "two stages or fields given the same Bitrix24 STATUS_ID or FIELD_NAME",
        "{what} `{value}` is given to both `{first}` and `{second}`",
        "codes must be unique in their directory; change one in the target's options",
    ),
    Code(
        "F807",
        "bitrix24-batch-reference-in-name",
        "a name that Bitrix24 would replace inside a batch, as if it were a `$result` reference",
        "{what} contains `{reference}`, which Bitrix24 replaces inside a batch",
        "Bitrix24 decodes a batch command before it looks for `$result[…]`, `$next[…]`, "
        "`$total[…]`, `$time[…]` and `$error[…]`, so no encoding protects it: reword the name "
        "(a space after `$`, or other brackets)",
    ),
    Code(
        "F808",
        "bitrix24-name-length",
        "a Bitrix24 stage, status or category name that is blank or longer than Bitrix24 stores",
        "{what} is {length} characters long, but Bitrix24 takes {bounds}",
        "shorten the display name (or give it one); Bitrix24 stores it as it is",
    ),
    # --- shared by the CRM targets ------------------------------------------------------
    Code(
        "F901",
        "unsupported-construct",
        "something the funnel says that a target cannot express (it goes to the manual steps)",
        "{target} cannot express {what}",
        "{hint}",
        Severity.WARNING,
    ),
    Code(
        "F902",
        "invalid-target-option",
        "an option in a target's table of the project config that cannot be used",
        "invalid option in `[targets.{target}]`: {reason}",
        "{hint}",
    ),
    Code(
        "F903",
        "multiple-won-outcomes",
        "a pipeline with several won outcomes, for a CRM with one won stage per pipeline",
        "pipeline `{pipeline}` has {count} won outcomes, but {target} has one won stage per "
        "pipeline",
        "merge them into one won outcome and record the difference in a field",
    ),
    Code(
        "F904",
        "plan-schema-mismatch",
        "an import plan that does not match its own schema: a bug in funnelc, not in the funnel",
        "the {target} plan of `{pipeline}` does not match its schema (a bug in funnelc): {errors}",
        "please report it with the funnel that caused it; no file was written for this pipeline",
    ),
    # --- Mermaid ------------------------------------------------------------------------
    Code(
        "F660",
        "mermaid-diagram-too-large",
        "a Mermaid diagram larger than Mermaid draws (by default 50000 characters, 500 edges); "
        "the page keeps the stage table only",
        "the Mermaid diagram of pipeline `{pipeline}` is too large for Mermaid ({chars} "
        "characters of at most {max_chars}, {edges} edges of at most {max_edges}); the page shows "
        "the stage table only",
        "split the pipeline by segment (M10); the `svg` target still draws it",
        Severity.WARNING,
    ),
)
