"""Deprecated: the targets' codes moved to ``funnelc.targets.codes`` (``targets/codes.py``:
the targets own them; :mod:`funnelc.codes` merges them in through
:data:`funnelc.registry.CODE_MODULES`).  This re-export keeps old imports working; nothing in
funnelc's core imports it (import-linter checks that)."""

import importlib

from funnelc.diagnostics import Code

TARGET_CODES: tuple[Code, ...] = importlib.import_module("funnelc.targets.codes").TARGET_CODES

__all__ = ["TARGET_CODES"]
