"""The JSON Schema of the ``json`` target's output, and validation against it.

The schema file ships next to the emitters (``targets/funnel-model.schema.json`` in a checkout,
``funnelc/targets/`` in a wheel) so that it is found the same way they are.  ``jsonschema`` is
imported only inside :func:`validate_document`: importing :mod:`funnelc` or running a check must
not pay for it, and a user who only wants diagrams never needs it.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from funnelc.resources import targets_dir

SCHEMA_ID = "urn:funnelc:schema:funnel-model:v1"
"""The schema's ``$id``; every document names it in its ``"$schema"`` key."""

FORMAT_VERSION = 1
"""Bumped, together with the ``v1`` in :data:`SCHEMA_ID`, on any incompatible change."""

SCHEMA_FILE = "funnel-model.schema.json"


def schema_path() -> Path:
    """Where the schema file is, in a checkout or in an installed wheel."""
    return targets_dir() / SCHEMA_FILE


@functools.cache
def schema_text() -> str:
    """The schema exactly as shipped (what ``funnelc schema`` prints)."""
    return schema_path().read_text(encoding="utf-8")


def load_schema() -> dict[str, Any]:
    """The schema as a fresh dict (a new object each call, so callers may modify it)."""
    schema: dict[str, Any] = json.loads(schema_text())
    return schema


@functools.cache
def _validator() -> Any:
    # Built once: compiling the schema's references costs more than checking a document.
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema())


def validate_document(document: object) -> list[str]:
    """Every way ``document`` breaks the schema, as ``"<JSON path>: <message>"`` lines.

    An empty list means the document is valid.  The order is stable (by path, then message)
    so that the messages can be compared in tests and shown without flicker.
    """
    errors = _validator().iter_errors(document)
    return sorted(f"{error.json_path}: {error.message}" for error in errors)


__all__ = [
    "FORMAT_VERSION",
    "SCHEMA_FILE",
    "SCHEMA_ID",
    "load_schema",
    "schema_path",
    "schema_text",
    "validate_document",
]
