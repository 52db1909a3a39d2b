"""Diagnostic codes of the CRM targets (F7xx amoCRM, F8xx Bitrix24, F9xx shared by targets).

Kept apart from :mod:`funnelc.codes` so that the targets' limits can grow without touching the
compiler's table; :mod:`funnelc.codes` merges both into one catalogue.
"""

from __future__ import annotations

from funnelc.diagnostics import Code

TARGET_CODES: tuple[Code, ...] = ()
