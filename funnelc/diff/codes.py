"""The codes of breaking changes (F950–F979), found by ``funnelc breaking`` and ``funnelc diff``.

Kept here, beside the diff, and merged into the one catalogue by :mod:`funnelc.codes` (so
``funnelc explain F950`` and ``funnelc codes`` know them).  Each is a change between two
versions that would hurt a live CRM; each can be allowed in ``funnelc.toml``
(``[breaking] allow = ["F951"]``, by code or by name).  Their pages in ``docs/codes/`` show an
old and a new version; ``tests/test_diff_codes.py`` checks that each prints what it shows.
"""

from __future__ import annotations

from funnelc.diagnostics import Code

BREAKING_CODES: tuple[Code, ...] = (
    Code(
        "F950",
        "breaking-stage-removed",
        "an open stage was removed: deals that sit in it in the CRM have no stage to be in",
        "stage `{stage}` of pipeline `{pipeline}` was removed",
        "move its deals elsewhere in the CRM first, or keep the stage; if it was renamed, keep "
        "its id or write `was {stage}` in the stage that replaces it",
    ),
    Code(
        "F951",
        "breaking-pipeline-removed",
        "a pipeline was removed: its deals in the CRM have no pipeline to be in",
        "pipeline `{pipeline}` was removed",
        "move its deals to another pipeline in the CRM first, or keep the pipeline",
    ),
    Code(
        "F952",
        "breaking-rekeyed-without-was",
        "a stage's id changed with no `was`: the CRM's mapping of ids to its stages breaks",
        "stage `{old}` of pipeline `{pipeline}` is now `{new}`, with no `was {old}`",
        "write `was {old}` in stage `{new}` so the CRM keeps the stage and its deals, or keep "
        "the id `{old}`",
    ),
    Code(
        "F953",
        "breaking-stage-moved-phase",
        "a stage moved between the lead and the deal phase: in a CRM they are different "
        "objects, and a move is a delete and a create",
        "stage `{stage}` of pipeline `{pipeline}` moved from the {before} phase to the {after} "
        "phase",
        "add a new stage in the other phase and remove the old one once it is empty",
    ),
    Code(
        "F954",
        "breaking-outcome-removed",
        "a won or lost outcome was removed: closed deals in the CRM point at it",
        "{outcome} `{stage}` of pipeline `{pipeline}` was removed",
        "keep the outcome (closed deals are reported by it), or write `was {stage}` in the one "
        "that replaces it",
    ),
    Code(
        "F955",
        "breaking-required-field-removed",
        "a field that stages required was removed: the CRM's values and its required-field "
        "rules for it are lost",
        "field `{field}` of pipeline `{pipeline}` was removed, but stage `{stage}` required it",
        "keep the field, or first remove it from the stages' `requires` in a change of its own",
    ),
    Code(
        "F956",
        "breaking-bitrix24-semantics",
        "a stage changed between in progress, success and failure: Bitrix24 cannot change a "
        "stage's SEMANTICS in place",
        "stage `{stage}` of pipeline `{pipeline}` changes its Bitrix24 SEMANTICS from {before} "
        "to {after}, which Bitrix24 cannot change in place",
        "add a new stage of the new kind and remove the old one once its deals are moved",
    ),
    Code(
        "F957",
        "breaking-bitrix24-status-id",
        "a stage's Bitrix24 STATUS_ID changed: Bitrix24 cannot change a STATUS_ID in place",
        "stage `{stage}` of pipeline `{pipeline}` changes its Bitrix24 STATUS_ID from `{before}` "
        "to `{after}`, which Bitrix24 cannot change in place",
        "keep the old STATUS_ID with `status-ids` in `[targets.bitrix24]`: "
        '`pipelines.{pipeline}.status-ids.{stage} = "{before}"`',
    ),
    Code(
        "F958",
        "breaking-pipeline-rekeyed-without-was",
        "a pipeline's id changed with no `was`: the CRM's mapping of ids to its pipelines breaks",
        "pipeline `{old}` is now `{new}`, with no `was {old}`",
        "write `was {old}` after the pipeline's name so the CRM keeps the pipeline and its deals, "
        "or keep the id `{old}`",
    ),
)
