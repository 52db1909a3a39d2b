"""funnelc — pipeline-as-code for sales funnels.

The public API is small::

    import funnelc

    result = funnelc.compile(["examples/"])        # never raises for bad input
    for d in result.diagnostics: ...
    project = funnelc.load("examples/b2b_inbound.funnel")   # raises CompileError

The model types live in :mod:`funnelc.model`; the networkx graphs in :mod:`funnelc.graph`;
the caches a long-running process holds in :class:`funnelc.session.Session`.

The names are imported on first use (PEP 562), so ``import funnelc.cli`` or any other
submodule does not pay for the compiler's imports until they are needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from funnelc.version import __version__

if TYPE_CHECKING:
    from funnelc.compiler import CompileError, Result, compile, compile_text, compile_texts, load
    from funnelc.session import Session

__all__ = [
    "CompileError",
    "Result",
    "Session",
    "__version__",
    "compile",
    "compile_text",
    "compile_texts",
    "load",
]

_LAZY = {
    "CompileError": "funnelc.compiler",
    "Result": "funnelc.compiler",
    "compile": "funnelc.compiler",
    "compile_text": "funnelc.compiler",
    "compile_texts": "funnelc.compiler",
    "load": "funnelc.compiler",
    "Session": "funnelc.session",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'funnelc' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
