"""The version of funnelc: the one place it is written (pyproject reads it from here).

A literal rather than ``importlib.metadata``, whose import alone costs ~12 ms of every run.
"""

from __future__ import annotations

__version__ = "0.1.0"
