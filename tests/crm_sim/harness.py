"""What the tests of both CRM targets do alike: compile the examples once, build a target with
given options, read the plans back, and compare goldens.

The tests of each target keep their own expectations; only the plumbing lives here, so the
two suites build, read and compare in exactly the same way.
"""

from __future__ import annotations

import contextlib
import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import funnelc
from funnelc.build import emit_all
from funnelc.crm.send import Sent, send_plan
from funnelc.emit import EmitOptions
from funnelc.fakes._server import App, FakeServer, Reply, Request
from funnelc.fakes.amocrm import AmoCRM
from funnelc.fakes.bitrix24 import Bitrix24
from funnelc.model import Project
from tests.conftest import EXAMPLES, ROOT, check_golden

if TYPE_CHECKING:
    import httpx

    from targets.amocrm import state as amo
    from targets.bitrix24 import state as b24


@functools.cache
def examples() -> funnelc.Result:
    """The example pipelines, compiled from the repository root (as the goldens are)."""
    with contextlib.chdir(ROOT):
        return funnelc.compile([EXAMPLES.relative_to(ROOT)], root=ROOT)


def project_of(result: funnelc.Result) -> Project:
    assert result.project is not None, result.diagnostics
    return result.project


def amo_state(options: dict[str, Any] | None = None) -> amo.Account:
    """The desired amoCRM account of the examples (``desired.of_project``), with ``options`` as
    the target's table; an error fails the test."""
    from funnelc.targets.amocrm import desired

    state, diagnostics = desired.of_project(
        project_of(examples()), EmitOptions(target_options={"amocrm": options or {}})
    )
    assert not [d for d in diagnostics if d.is_error]
    return state  # type: ignore[no-any-return]


def b24_state(options: dict[str, Any] | None = None) -> b24.Portal:
    """The desired Bitrix24 portal of the examples, as :func:`amo_state`."""
    from funnelc.targets.bitrix24 import desired

    state, diagnostics = desired.of_project(
        project_of(examples()), EmitOptions(target_options={"bitrix24": options or {}})
    )
    assert not [d for d in diagnostics if d.is_error]
    return state  # type: ignore[no-any-return]


def build_target(
    target: str, project: Project, options: dict[str, Any] | None, unsupported: str
) -> tuple[dict[str, bytes], list[str]]:
    """The files ``target`` writes (named without the ``<target>/`` folder) and the codes of
    its diagnostics; an error fails the test, since every caller expects a plan."""
    emit_options = EmitOptions(
        unsupported=unsupported, target_options={target: options or {}}, validate_output=True
    )
    built = emit_all(project, [target], emit_options)
    errors = [d.message for d in built.diagnostics if d.is_error]
    assert not errors, errors
    return {k.removeprefix(f"{target}/"): v for k, v in built.files.items()}, [
        d.code for d in built.diagnostics
    ]


def plans(files: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    """The plans among built files, by pipeline id, in order of name."""
    return {
        name.removesuffix(".json"): json.loads(data)
        for name, data in sorted(files.items())
        if name.endswith(".json")
    }


def pipeline_ids() -> list[str]:
    return [p.id.name for p in project_of(examples()).pipelines]


def check_example_golden(
    golden: Path, files: dict[str, bytes], pipeline_id: str, ext: str, bless: bool
) -> None:
    check_golden(golden / f"{pipeline_id}.{ext}", files[f"{pipeline_id}.{ext}"], bless)


def golden_names(ids: list[str]) -> set[str]:
    """The goldens a target must have: a plan and manual steps per example pipeline."""
    return {f"{p}.{ext}" for p in ids for ext in ("json", "md")}


def load_golden(golden: Path, name: str) -> dict[str, Any]:
    plan: dict[str, Any] = json.loads((golden / f"{name}.json").read_text(encoding="utf-8"))
    return plan


def check_deterministic_text(first: dict[str, bytes], second: dict[str, bytes]) -> None:
    """Two builds are the same bytes, each file UTF-8 with Cyrillic as itself, LF line ends
    and one final newline."""
    assert first == second
    for name, data in first.items():
        text = data.decode("utf-8")
        assert text.endswith("\n") and not text.endswith("\n\n"), name
        assert "\r" not in text and "\\u04" not in text, name


# ---- the HTTP fakes, for replaying plans -----------------------------------------------------


class _Switch:
    """One loopback server for the whole test run, serving whichever fake is current: starting
    and stopping a server per test would cost its shutdown poll (0.5 s) each time."""

    def __init__(self) -> None:
        self.app: App | None = None
        self.server: FakeServer | None = None
        self.client: httpx.Client | None = None

    def handle(self, request: Request) -> Reply:
        assert self.app is not None
        return self.app.handle(request)

    def serve(self, app: App) -> str:
        self.app = app
        if self.server is None:
            self.server = FakeServer(self).start()
        return self.server.origin

    def http(self) -> httpx.Client:
        if self.client is None:
            import httpx

            self.client = httpx.Client(timeout=10.0)
        return self.client


SWITCH = _Switch()


class AmoAccount(AmoCRM):
    """An amoCRM fake served on 127.0.0.1, with :meth:`run_plan`: the plan sent over HTTP by
    ``funnelc.crm.send`` (what replaced the in-memory simulator of ``tests/crm_sim``)."""

    def run_plan(self, plan: dict[str, Any]) -> Sent:
        origin = SWITCH.serve(self)
        return send_plan(
            plan, base_url=origin, token=self.token, client=SWITCH.http(), sleep=lambda s: None
        )


class B24Portal(Bitrix24):
    """A Bitrix24 fake served on 127.0.0.1, with :meth:`run_plan` (see :class:`AmoAccount`)."""

    def run_plan(self, plan: dict[str, Any]) -> Sent:
        origin = SWITCH.serve(self)
        return send_plan(
            plan, webhook_url=origin + self.webhook_path, client=SWITCH.http(), sleep=lambda s: None
        )
