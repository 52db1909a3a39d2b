"""What both fakes share: the loopback HTTP server, an injectable clock, and fault injection.

A fake is an *app*: ``handle(request) -> Reply``, pure Python and thread-safe (one lock), so
tests can drive it in-process or through :class:`FakeServer`, a stdlib ``ThreadingHTTPServer``
bound to ``127.0.0.1`` only (never another interface: nothing here is meant to be reachable
from the network).
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx

LOOPBACK = "127.0.0.1"


class Clock:
    """Seconds, monotonic.  The real one by default; tests pass a :class:`ManualClock` so that
    rate limits can be exercised without sleeping."""

    def __call__(self) -> float:
        return time.monotonic()


class ManualClock(Clock):
    """A clock that moves only when told to (:meth:`advance`)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


FaultKind = Literal["429", "503", "timeout"]


@dataclass
class Faults:
    """Fail every ``every``-th call (1-based: with 3, calls 3, 6, 9… fail) with ``kind``:
    ``"429"`` / ``"503"`` (the vendor's rate-limit reply, nothing done), or ``"timeout"`` (the
    server never answers: it holds the connection until the client gives up and closes it, or
    at most ``timeout_delay`` seconds, then closes it without a reply; the request is not
    applied, so a retry is safe).  A client whose timeout is below ``timeout_delay`` therefore
    always times out on an injected fault, however slow the machine, and waits exactly its
    own timeout, never the delay.  ``every=0`` turns faults off."""

    every: int = 0
    kind: FaultKind = "429"
    timeout_delay: float = 1.0
    calls: int = 0
    injected: int = 0

    def next_fault(self) -> FaultKind | None:
        self.calls += 1
        if self.every and self.calls % self.every == 0:
            self.injected += 1
            return self.kind
        return None


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Set by a "timeout" fault: the server waits until the client closes the connection, at
    # most this long, and closes it without replying.
    drop_after: float | None = None

    @classmethod
    def json(cls, status: int, data: Any, content_type: str = "application/json") -> Reply:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        return cls(status, body, {"Content-Type": f"{content_type}; charset=utf-8"})


class App(Protocol):
    def handle(self, request: Request) -> Reply: ...


def in_process(
    app: App, observe: Callable[[httpx.Request, bytes], None] | None = None
) -> httpx.MockTransport:
    """The fake behind an httpx ``MockTransport``, without sockets: for runs on a simulated
    clock that the fake and the client share (a benchmark, the time-budget tests).  A dropped
    reply (a "timeout" fault) is a read timeout; ``observe`` sees each request and its body."""
    import httpx

    def handle(request: httpx.Request) -> httpx.Response:
        body = request.read()
        if observe is not None:
            observe(request, body)
        reply = app.handle(
            Request(
                request.method,
                request.url.path,
                request.url.query.decode("ascii"),
                {k.lower(): v for k, v in request.headers.items()},
                body,
            )
        )
        if reply.drop_after is not None:
            raise httpx.ReadTimeout("no reply", request=request)
        return httpx.Response(reply.status, content=reply.body, headers=reply.headers)

    return httpx.MockTransport(handle)


def _handler(app: App) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out as two writes; without TCP_NODELAY, Nagle plus the peer's
        # delayed ACK would hold each reply ~40 ms.
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path, _, query = self.path.partition("?")
            request = Request(
                self.command,
                path,
                query,
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            reply = app.handle(request)
            if reply.drop_after is not None:
                _wait_for_close(self.connection, reply.drop_after)
                self.close_connection = True
                return
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if reply.body:
                self.wfile.write(reply.body)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the fakes are for tests and demos

    return Handler


def _wait_for_close(sock: socket.socket, limit: float) -> None:
    """Hold ``sock`` without answering until the peer closes it (it becomes readable: EOF,
    or a reset) or ``limit`` seconds pass."""
    deadline = time.monotonic() + limit
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([sock], [], [], min(left, 0.05))
        if readable:
            try:
                if not sock.recv(1, socket.MSG_PEEK):
                    return  # the client gave up and closed the connection
            except OSError:
                return
            return  # it sent more: not waiting for an answer to this request any longer


class FakeServer:
    """Serve ``app`` on ``127.0.0.1:port`` (``0``: a free port) in a background thread.

    Use as a context manager; :attr:`port` is the port actually bound."""

    def __init__(self, app: App, port: int = 0) -> None:
        self.app = app
        self._httpd = ThreadingHTTPServer((LOOPBACK, port), _handler(app))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> FakeServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
