"""funnelc — pipeline-as-code for sales funnels.

The public API is small::

    import funnelc

    result = funnelc.compile(["examples/"])        # never raises for bad input
    for d in result.diagnostics: ...
    project = funnelc.load("examples/b2b_inbound.funnel")   # raises CompileError

The model types live in :mod:`funnelc.model`; the networkx graphs in :mod:`funnelc.graph`.
"""

from __future__ import annotations

from funnelc.compiler import CompileError, Result, compile, compile_text, compile_texts, load
from funnelc.version import __version__

__all__ = [
    "CompileError",
    "Result",
    "__version__",
    "compile",
    "compile_text",
    "compile_texts",
    "load",
]
