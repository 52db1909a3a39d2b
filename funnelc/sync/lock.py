"""``funnel.lock.json``: which CRM object each funnel key is, per target and account.

Beside the funnels, reviewed in pull requests, deterministic (sorted keys, two-space indent,
one trailing newline: the same mapping is the same bytes).  An account is named by
:func:`account_id` — a hash of the base URL's host, never the token or the webhook secret::

    {"format": "funnelc-lock", "version": 1,
     "targets": {"amocrm": {"a1b2c3d4e5f60718": {
        "pipelines": {"b2b_inbound": {"id": 7001, "stages": {"new": 7002, "won": 142}}},
        "fields": {"budget": {"id": 9001, "enums": {}}},
        "loss_reasons": {"no_budget": 8001}}}}}

(Bitrix24 adds ``"lead_statuses": {key: row id}`` and keys its fields ``deal/<key>`` and
``lead/<key>``.)  :meth:`Lock.save` writes atomically (a temporary file in the same directory,
fsync, rename), and ``apply`` saves after every step the CRM confirmed, so a killed apply
leaves a lock that describes what exists.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

from funnelc.sync.redact import redact

LOCK_NAME = "funnel.lock.json"
FORMAT = "funnelc-lock"
VERSION = 1


def account_id(base_url: str) -> str:
    """The account's name in a lock file: 16 hex digits of SHA-256 of the URL's host (and
    port), lower-cased.  Never derived from a path, so a webhook secret cannot leak into it."""
    netloc = urllib.parse.urlsplit(base_url).netloc.rsplit("@", 1)[-1].lower()
    return hashlib.sha256(netloc.encode("utf-8")).hexdigest()[:16]


def lock_path(paths: list[Path]) -> Path:
    """``funnel.lock.json`` beside the funnels: in the first directory given, or beside the
    first file, or in the current directory."""
    for p in paths:
        if p.is_dir():
            return p / LOCK_NAME
    for p in paths:
        return p.parent / LOCK_NAME
    return Path(LOCK_NAME)


class Lock:
    """The lock file's content; :meth:`account` gives the mutable mapping of one target's
    account (created on first use)."""

    def __init__(self, path: Path, data: dict[str, Any] | None = None) -> None:
        self.path = path
        self.data: dict[str, Any] = data or {"format": FORMAT, "version": VERSION, "targets": {}}

    @classmethod
    def load(cls, path: Path) -> Lock:
        if not path.exists():
            return cls(path)
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"{path.as_posix()} is not a funnelc lock file")
        data.setdefault("targets", {})
        return cls(path, data)

    def account(self, target: str, account: str) -> dict[str, Any]:
        accounts = self.data["targets"].setdefault(target, {})
        entry: dict[str, Any] = accounts.setdefault(account, {})
        entry.setdefault("pipelines", {})
        entry.setdefault("fields", {})
        if target == "amocrm":
            entry.setdefault("loss_reasons", {})
        else:
            entry.setdefault("lead_statuses", {})
        return entry

    def dumps(self) -> str:
        return json.dumps(self.data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"

    def save(self) -> None:
        """Write atomically: never a half-written lock, even if the process is killed."""
        text = redact(self.dumps())
        directory = self.path.parent if str(self.path.parent) else Path()
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".funnel.lock.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            Path(tmp).replace(self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def reverse(mapping: dict[str, Any]) -> dict[Any, str]:
    """id → key of a ``{key: id}`` or ``{key: {"id": id, …}}`` mapping."""
    out: dict[Any, str] = {}
    for key, value in mapping.items():
        ident = value.get("id") if isinstance(value, dict) else value
        if ident is not None:
            out[ident] = key
    return out


def apply_moves(entry: dict[str, Any], moves: dict[str, dict[str, str]]) -> bool:
    """Re-key the lock for ``was`` clauses: ``moves[pipeline_key][new] = old`` for stages
    (pipeline ``""`` holds pipeline moves).  An old key is taken over only while the new key
    is not in the lock yet.  Whether anything moved."""
    changed = False
    pipelines = entry["pipelines"]
    for new, old in moves.get("", {}).items():
        if old in pipelines and new not in pipelines:
            pipelines[new] = pipelines.pop(old)
            changed = True
    for pipeline_key, stage_moves in moves.items():
        if not pipeline_key:
            continue
        if pipeline_key == "lead" and "lead_statuses" in entry:
            stages = entry["lead_statuses"]
        elif pipeline_key in pipelines:
            stages = pipelines[pipeline_key].setdefault("stages", {})
        else:
            continue
        for new, old in stage_moves.items():
            if old in stages and new not in stages:
                stages[new] = stages.pop(old)
                changed = True
    return changed
