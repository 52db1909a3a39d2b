"""The ``funnelc`` console script: :func:`funnelc.cli.main` for a process that ends with it.

A CLI run is short and allocates far more than it frees, so the cyclic garbage collector is
turned off from before the first import to the end (reference counting still frees almost
everything), and the process leaves with ``os._exit`` once its output is flushed: tearing
down every module and object at interpreter shutdown costs tens of milliseconds and does
nothing for a process that is about to end.  Files are always closed (and the session's cache
written) before this point; only stdout and stderr are left, and they are flushed here.

This is only the console entry point: :func:`funnelc.cli.main` itself (which tests call
in-process) leaves the garbage collector and the interpreter alone.
"""

from __future__ import annotations

import gc
import os
import sys


def run() -> None:
    gc.disable()
    code: int = 0
    try:
        from funnelc.cli import main

        main()
    except SystemExit as done:
        if done.code is None:
            code = 0
        elif isinstance(done.code, int):
            code = done.code
        else:
            print(done.code, file=sys.stderr)
            code = 1
    except KeyboardInterrupt:
        code = 130
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe (`funnelc codes | head`): nothing to add
        code = code or 1
    os._exit(code)
