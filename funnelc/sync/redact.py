"""One redaction layer for every string that leaves ``plan`` / ``apply``.

The amoCRM token and the Bitrix24 webhook URL (whose *path* holds the secret:
``https://portal/rest/1/SECRET/``) are registered once, when credentials are read; every
message, trace line, exception text, plan and lock file passes through :func:`redact` (and the
CLI wraps stdout and stderr in :class:`RedactingStream` while a sync command runs, so even an
unexpected traceback cannot print a secret).
"""

from __future__ import annotations

import threading
import urllib.parse
from typing import IO, Any

MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()


def register(*secrets: str | None) -> None:
    """Remember ``secrets`` (and their URL-quoted forms) for :func:`redact`."""
    with _lock:
        for secret in secrets:
            if not secret or len(secret) < 4:
                continue
            _secrets.add(secret)
            _secrets.add(urllib.parse.quote(secret, safe=""))
            _secrets.add(urllib.parse.quote(secret))


def register_webhook(url: str) -> None:
    """A Bitrix24 webhook ``https://host/rest/USER/SECRET/``: the secret segment, the whole
    URL and its path are secrets."""
    parts = urllib.parse.urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) >= 3 and segments[0] == "rest":
        register(segments[2], "/".join(segments[:3]))
    register(url.rstrip("/"))


def forget_all() -> None:
    with _lock:
        _secrets.clear()


def redact(text: object) -> str:
    """``text`` as a string with every registered secret replaced by ``***``."""
    value = str(text)
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in value:
            value = value.replace(secret, MASK)
    return value


class RedactingStream:
    """A text stream that redacts what is written to it (wraps stdout / stderr)."""

    def __init__(self, inner: IO[str]) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        self._inner.write(redact(text))
        return len(text)

    def flush(self) -> None:
        self._inner.flush()

    def isatty(self) -> bool:
        return bool(getattr(self._inner, "isatty", lambda: False)())

    def fileno(self) -> int:
        return self._inner.fileno()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
