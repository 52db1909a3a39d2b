"""The language server's speed and memory, measured on the real server over stdio.

1. Latency: a warm server with a 2 000-line document open (bench/generate.py, pipelines of 50
   stages); one edit at a time, spaced wider than the debounce (so each is the first change
   after a quiet spell and is checked at once), the time from sending ``didChange`` to receiving
   the ``publishDiagnostics`` of that version.  Clean edits (an SLA changed) and edits that
   break the file (a syntax error, then repaired) are measured separately.  On a shared,
   loaded machine wall time says little, so the server's CPU time per edit (``/proc``, 10 ms
   ticks) and the compiler's own time in this process (the floor) are printed beside it.
2. Debounce: a burst of edits 20 ms apart: how many checks are published (one per burst, on the
   last version).
3. Memory: the server's resident set (``/proc/<pid>/status``, Linux) after 10 edits and after
   1 000 edits of a smaller document (each checked: the debounce is set to 0 for this part).

Usage::

    .venv/bin/python bench/lsp_bench.py [--lines 2000] [--edits 40] [--memory-edits 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types as t
from pygls.lsp.client import LanguageClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import generate


def document(lines: int) -> str:
    """A generated file of at least ``lines`` lines."""
    stages = max(1, lines * 326 // 2023)
    text = generate(stages, shape="many")
    while text.count("\n") < lines:
        stages += 5
        text = generate(stages, shape="many")
    return text


def cpu_ms(pid: int) -> float:
    """The CPU time (user + system) the process ``pid`` has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Session:
    def __init__(self, debounce_ms: int | None = None) -> None:
        self.client = LanguageClient("funnelc-bench", "1")
        self.published: asyncio.Queue[t.PublishDiagnosticsParams] = asyncio.Queue()
        self.debounce_ms = debounce_ms

        @self.client.feature(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)  # type: ignore[untyped-decorator,unused-ignore]
        def diagnostics(params: t.PublishDiagnosticsParams) -> None:
            self.published.put_nowait(params)

    async def start(self) -> None:
        env = dict(os.environ, FUNNELC_NO_CACHE="1")
        if self.debounce_ms is not None:
            env["FUNNELC_LSP_DEBOUNCE_MS"] = str(self.debounce_ms)
        await self.client.start_io(sys.executable, "-m", "funnelc", "lsp", env=env)
        await self.client.initialize_async(
            t.InitializeParams(
                capabilities=t.ClientCapabilities(
                    general=t.GeneralClientCapabilities(position_encodings=["utf-16"])
                )
            )
        )
        self.client.initialized(t.InitializedParams())

    @property
    def pid(self) -> int:
        server = self.client._server  # the asyncio subprocess
        assert server is not None
        return int(server.pid)

    async def open(self, uri: str, text: str) -> None:
        self.client.text_document_did_open(
            t.DidOpenTextDocumentParams(t.TextDocumentItem(uri, "funnel", 1, text))
        )
        await self.wait_for(uri, 1)

    def change(self, uri: str, version: int, text: str) -> None:
        self.client.text_document_did_change(
            t.DidChangeTextDocumentParams(
                t.VersionedTextDocumentIdentifier(uri=uri, version=version),
                [t.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )

    async def wait_for(self, uri: str, version: int) -> t.PublishDiagnosticsParams:
        while True:
            params = await asyncio.wait_for(self.published.get(), 60)
            if params.uri == uri and params.version == version:
                return params

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()  # type: ignore[no-untyped-call,unused-ignore]


def _edit(text: str, i: int, broken: bool) -> str:
    if broken and i % 2:
        return text.replace("sla ", "sla sla ", 1)  # a syntax error
    return text.replace("sla 2h", f"sla {i % 9 + 2}h", 1)


def _floor(text: str, broken: bool) -> float:
    """The median time of ``funnelc.compile_texts`` alone (parse to lint) on the same edits,
    in this process: the floor the server's latency is to be compared with on a loaded
    machine."""
    from funnelc.compiler import compile_texts

    times = []
    for i in range(7):
        edited = _edit(text, i, broken)
        started = time.perf_counter()
        compile_texts({"/bench/doc.funnel": edited}, lint=True)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def latency(lines: int, edits: int) -> None:
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    text = document(lines)
    directory = Path(tempfile.mkdtemp(prefix="funnelc-lsp-bench-"))
    uri = (directory / "doc.funnel").as_uri()
    session = Session()
    await session.start()
    await session.open(uri, text)
    version = 1
    for broken in (False, True):
        times: list[float] = []
        cpu: list[float] = []
        counts: list[int] = []
        for i in range(edits + 3):
            await asyncio.sleep(0.25)  # longer than the debounce: checked at once
            version += 1
            started, used = time.perf_counter(), cpu_ms(session.pid)
            session.change(uri, version, _edit(text, i, broken))
            params = await session.wait_for(uri, version)
            if i >= 3:  # warm
                times.append((time.perf_counter() - started) * 1000)
                cpu.append(cpu_ms(session.pid) - used)
                counts.append(len(params.diagnostics))
        kind = "edits alternating with a syntax error" if broken else "clean edits"
        floor = _floor(text, broken)
        times.sort()
        print(
            f"change → diagnostics, {text.count(chr(10))} lines, {kind}: "
            f"median {statistics.median(times):.1f} ms, p90 {times[int(len(times) * 0.9)]:.1f} ms,"
            f" max {times[-1]:.1f} ms ({len(times)} edits, {min(counts)}–{max(counts)}"
            f" diagnostics each); the server's CPU time per edit: median "
            f"{statistics.median(cpu):.0f} ms; the same compilation in this process: median "
            f"{floor:.1f} ms"
        )
    # A burst: 10 edits 20 ms apart: checks are published for the last version only.
    await asyncio.sleep(0.3)
    first = version + 1
    for i in range(10):
        version += 1
        session.change(uri, version, _edit(text, i, False))
        await asyncio.sleep(0.02)
    last = await session.wait_for(uri, version)
    await asyncio.sleep(0.3)
    extra = session.published.qsize()
    print(
        f"burst of 10 edits 20 ms apart (versions {first}–{version}): published for version "
        f"{last.version}, {extra} other publication(s) after it"
    )
    await session.stop()


async def memory(edits: int) -> None:
    text = document(200)
    directory = Path(tempfile.mkdtemp(prefix="funnelc-lsp-bench-"))
    uri = (directory / "doc.funnel").as_uri()
    session = Session(debounce_ms=0)
    await session.start()
    await session.open(uri, text)
    marks: dict[int, int] = {}
    for i in range(1, edits + 1):
        session.change(uri, i + 1, _edit(text, i, i % 7 == 0).replace("Воронка", f"Воронка {i}"))
        await session.wait_for(uri, i + 1)
        if i in (10, 100, 500, 1000, 2000, edits):
            marks[i] = rss_kib(session.pid)
    shown = ", ".join(f"after {n} edits {kib / 1024:.1f} MiB" for n, kib in marks.items())
    print(f"server RSS ({text.count(chr(10))}-line document, every edit checked): {shown}")
    await session.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--edits", type=int, default=40)
    parser.add_argument("--memory-edits", type=int, default=1000)
    args = parser.parse_args(argv)
    asyncio.run(latency(args.lines, args.edits))
    if args.memory_edits:
        asyncio.run(memory(args.memory_edits))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
