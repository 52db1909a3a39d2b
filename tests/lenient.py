"""Compile text the compiler refuses, to test what the targets do with whatever the API gives.

Control characters (F005) and blank names (F006) are compile-time errors; the targets still
escape and refuse them on their own (an API caller may build a model by hand), and their tests
reach that code through :func:`any_text_allowed`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import pytest

import funnelc.lower


@contextlib.contextmanager
def any_text_allowed() -> Iterator[None]:
    """Within the block, lower accepts control characters and blank names."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(funnelc.lower, "_FORBIDDEN", re.compile("(?!)"))
        patch.setattr(funnelc.lower._Lowerer, "check_blank", lambda *args: None)
        yield
