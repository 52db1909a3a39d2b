"""``funnelc plan`` and ``funnelc apply`` as functions (the CLI is a thin wrapper).

Credentials come only from the environment — ``AMOCRM_BASE_URL`` + ``AMOCRM_TOKEN``,
``BITRIX24_WEBHOOK_URL`` — or from a file outside the repository named by
``FUNNELC_CREDENTIALS`` (``NAME=value`` lines).  ``--base-url`` overrides the address (the
host of a Bitrix24 webhook: its path, which holds the secret, is kept).  Every secret is
registered with :mod:`funnelc.sync.redact` before anything is sent.

``FUNNELC_SYNC_SIMULATED_CLOCK=1`` (for tests that run ``funnelc`` as a process against the
local fakes) paces the client on a simulated clock — it never sleeps, waiting only moves the
clock — and is honoured only when the CRM's address is a loopback one (``127.0.0.1``,
``localhost``, ``::1``): a real account is always paced in real time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from funnelc.i18n import _
from funnelc.sync import redact as redaction
from funnelc.sync.client import AmoClient, B24Client, SyncError
from funnelc.sync.lock import Lock, lock_path
from funnelc.sync.plan import (
    PLAN_FORMAT,
    Plan,
    Session,
    canonical,
    make_plan,
    moves,
    open_session,
    summary_lines,
)

TARGETS = ("amocrm", "bitrix24")


@dataclass
class Credentials:
    base_url: str  # amoCRM: the account URL; Bitrix24: the whole webhook URL
    token: str | None = None


def _repo_root(start: Path) -> Path | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(start), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    return Path(out.stdout.strip()).resolve() if out.returncode == 0 and out.stdout else None


def _file_values(path: Path, funnels: Path) -> dict[str, str]:
    resolved = path.resolve()
    root = _repo_root(funnels if funnels.is_dir() else funnels.parent)
    if root is not None and resolved.is_relative_to(root):
        raise SyncError(
            _("{path}: a credentials file must live outside the repository").format(path=path.name)
        )
    values: dict[str, str] = {}
    for line in resolved.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.strip().partition("=")
        if sep and not name.startswith("#"):
            values[name.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def credentials(
    target: str,
    base_url: str | None,
    funnels: Path,
    environ: dict[str, str] | None = None,
) -> Credentials:
    env = dict(os.environ if environ is None else environ)
    if env.get("FUNNELC_CREDENTIALS"):
        env = {**_file_values(Path(env["FUNNELC_CREDENTIALS"]), funnels), **env}
    if target == "amocrm":
        token = env.get("AMOCRM_TOKEN")
        url = base_url or env.get("AMOCRM_BASE_URL")
        redaction.register(token)
        if not url or not token:
            raise SyncError(_("amoCRM needs AMOCRM_BASE_URL (or --base-url) and AMOCRM_TOKEN"))
        return Credentials(url.rstrip("/"), token)
    hook = env.get("BITRIX24_WEBHOOK_URL")
    if not hook:
        raise SyncError(_("Bitrix24 needs BITRIX24_WEBHOOK_URL (an inbound webhook)"))
    redaction.register_webhook(hook)
    if base_url:
        parts = urllib.parse.urlsplit(hook)
        over = urllib.parse.urlsplit(base_url)
        hook = urllib.parse.urlunsplit((over.scheme, over.netloc, parts.path, "", ""))
        redaction.register_webhook(hook)
    return Credentials(hook)


class SimulatedClock:
    """Seconds that pass only when the client waits (:meth:`sleep`); see the module
    docstring.  The same idea as the fakes' ``ManualClock``, kept here so that the sync
    package does not import the fakes."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


def simulated_clock_options(base_url: str, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """``clock`` and ``sleep`` for the client when ``FUNNELC_SYNC_SIMULATED_CLOCK=1`` and
    ``base_url`` is a loopback address; ``{}`` otherwise."""
    env = os.environ if environ is None else environ
    if env.get("FUNNELC_SYNC_SIMULATED_CLOCK") != "1":
        return {}
    host = urllib.parse.urlsplit(base_url).hostname or ""
    if host not in ("127.0.0.1", "localhost", "::1"):
        return {}
    clock = SimulatedClock()
    return {"clock": clock, "sleep": clock.sleep}


def make_client(target: str, creds: Credentials, **kw: Any) -> AmoClient | B24Client:
    if target == "amocrm":
        assert creds.token is not None
        return AmoClient(creds.base_url, creds.token, **kw)
    return B24Client(creds.base_url, **kw)


def desired_state(target: str, paths: list[Path]) -> tuple[Any, Any, list[Any], Any]:
    """The project and its desired state for ``target``; diagnostics and sources when the
    funnels have errors (then the state is ``None``)."""
    from funnelc.compiler import compile
    from funnelc.emit import EmitOptions

    result = compile(paths)
    if not result.ok or result.project is None:
        return None, None, list(result.diagnostics), result
    if target == "amocrm":
        from funnelc.targets.amocrm.desired import of_project
    else:
        from funnelc.targets.bitrix24.desired import of_project
    desired, diagnostics = of_project(result.project, EmitOptions())
    from funnelc.diagnostics import Severity

    if any(d.severity is Severity.ERROR for d in diagnostics):
        return None, None, [*result.diagnostics, *diagnostics], result
    return result.project, desired, [*result.diagnostics, *diagnostics], result


@dataclass
class Outcome:
    code: int  # 0 no changes, 2 changes pending / applied, 1 error
    plan: Plan | None = None
    session: Session | None = None


def prepare(
    target: str,
    paths: list[Path],
    *,
    base_url: str | None,
    allow_delete: bool,
    client_options: dict[str, Any],
    err: IO[str],
    lock_file: Path | None = None,
) -> Outcome:
    project, desired, diagnostics, result = desired_state(target, paths)
    if desired is None:
        from funnelc.render import render_human

        err.write(render_human(diagnostics, result.sources, color=False))
        return Outcome(1)
    creds = credentials(target, base_url, paths[0] if paths else Path())
    options = {**simulated_clock_options(creds.base_url), **client_options}
    client = make_client(target, creds, **options)
    lock = Lock.load(lock_file or lock_path(paths))
    session = open_session(target, client, lock, creds.base_url, desired, moves(project, target))
    plan = make_plan(session, allow_delete=allow_delete, sources=[p.as_posix() for p in paths])
    return Outcome(2 if plan.changes else 0, plan, session)


def print_summary(plan: Plan, out: IO[str], color: bool) -> None:
    header = _("funnelc plan: {target}, account {account}").format(
        target=plan.target, account=plan.account
    )
    lines = [("bold", header), *summary_lines(plan)]
    if color:
        from rich.console import Console

        console = Console(file=out, force_terminal=True, highlight=False, soft_wrap=True)
        for style, text in lines:
            console.print(text, style=style, markup=False)
    else:
        for _style, text in lines:
            out.write(text + "\n")


def progress_printer(err: IO[str], terminal: bool) -> Callable[[str], None]:
    """Progress: one plain line a step in CI; a rich status line on a terminal."""
    count = [0]

    def plain(text: str) -> None:
        count[0] += 1
        err.write(redaction.redact(f"apply [{count[0]}] {text}") + "\n")
        err.flush()

    if not terminal:
        return plain
    from rich.console import Console

    console = Console(file=err, force_terminal=True, highlight=False)

    def fancy(text: str) -> None:
        count[0] += 1
        console.print(f"[green]✓[/green] [{count[0]}] {redaction.redact(text)}", markup=True)

    return fancy


def read_plan_file(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == PLAN_FORMAT else None


def confirm(err: IO[str], stdin: IO[str]) -> bool:
    err.write(_("Apply these changes? Type `yes` to go on: "))
    err.flush()
    return stdin.readline().strip().lower() in ("yes", "да")


def run_apply(
    outcome: Outcome,
    saved: dict[str, Any] | None,
    *,
    yes: bool,
    out: IO[str],
    err: IO[str],
    stdin: IO[str] = sys.stdin,
    color: bool = False,
    terminal: bool = False,
) -> int:
    from funnelc.sync.apply import apply_plan

    plan, session = outcome.plan, outcome.session
    assert plan is not None and session is not None
    if saved is not None:
        if saved.get("fingerprint") != plan.fingerprint:
            err.write(
                _("error: the account changed since the plan was made; run `funnelc plan` again")
                + "\n"
            )
            return 1
        if canonical(saved) != canonical(plan.to_json()):
            err.write(
                _(
                    "error: the funnels or the lock changed since the plan was made; run "
                    "`funnelc plan` again"
                )
                + "\n"
            )
            return 1
    print_summary(plan, out, color)
    if plan.conflicts:
        err.write(_("error: the plan has conflicts; nothing was applied") + "\n")
        return 1
    if not plan.operations:
        return 0
    if not yes:
        if not (stdin.isatty() and err.isatty()):
            err.write(_("error: not a terminal; pass --yes to apply without asking") + "\n")
            return 1
        if not confirm(err, stdin):
            err.write(_("nothing applied") + "\n")
            return 1
    done = apply_plan(session, plan, progress_printer(err, terminal))
    for path in done.refused:
        err.write(
            _("kept {path}: it held deals at the last check, so it was not deleted").format(
                path=path
            )
            + "\n"
        )
    stats = session.client.stats
    err.write(
        _("applied: {steps} step(s), {requests} request(s), {retries} retried").format(
            steps=done.steps, requests=stats.requests, retries=stats.retries
        )
        + "\n"
    )
    return 0
