"""No cache that grows per edit: the memory the server's state holds after 1 000 edits of a
document is no larger than after 10 (traced Python allocations, measured in this process on
the same workspace object the server uses; bench/lsp_bench.py measures the real server's RSS).
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from pathlib import Path

import pytest

from funnelc.lsp.workspace import NAME_CAPACITY, Workspace
from tests.lsp.document import MAIN, write


def _edit(i: int) -> str:
    # A new SLA, a new goal (a new text for the stage-name rules to classify, as when a goal
    # is typed) and, every third edit, a syntax error: every kind of build.
    text = MAIN.replace("sla 5d", f"sla {i % 9 + 1}d").replace(
        "Бюджет назван", f"Бюджет назван {i}"
    )
    return text.replace("probability 40%", "probability") if i % 3 == 0 else text


def test_memory_after_1000_edits_is_no_larger_than_after_10(tmp_path: Path) -> None:
    main = write(tmp_path)[0].as_posix()
    ws = Workspace()
    ws.open(main, 0, MAIN)
    ws.check(main)
    tracemalloc.start()
    try:
        marks: dict[int, int] = {}
        for i in range(1, 1001):
            ws.change(main, i, _edit(i))
            ws.check(main)
            if i in (10, 1000):
                gc.collect()
                marks[i] = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(ws.builds) == 1 and len(ws.overlays) == 1
    # Slack: 128 KB, for the stage-name verdicts the session keeps between checks (at most
    # NAME_CAPACITY = 128 older ones: measured +91 KB in all) and allocator noise.  Kept
    # without a bound, the verdicts of the ~670 distinct goals linted here measured +279 KB,
    # and a build or a text kept per edit would be far more.
    assert len(ws.session.names) <= NAME_CAPACITY + 20
    assert marks[1000] <= marks[10] + 128 * 1024, marks


async def test_notifications_leave_no_futures_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    """pygls 2.1 keeps the future of every notification handled by a generator (didOpen,
    didChange, didClose) for ever; the server's protocol drops them."""
    from lsprotocol import types as t
    from pygls.workspace import Workspace as Documents

    from funnelc.lsp.server import server  # the instance the features are registered on

    monkeypatch.setattr(server.protocol, "_workspace", Documents(None))
    published: list[t.PublishDiagnosticsParams] = []
    monkeypatch.setattr(server, "text_document_publish_diagnostics", published.append)
    for i in range(20):
        item = t.TextDocumentItem(f"untitled:{i}", "funnel", 1, 'pipeline p "P" {}\n')
        server.protocol._handle_notification(
            t.TEXT_DOCUMENT_DID_OPEN, t.DidOpenTextDocumentParams(item)
        )
        for _ in range(3):
            await asyncio.sleep(0)
    assert len(published) == 20
    assert server.protocol._request_futures == {}
