"""Pass 5, emit: the registry of output targets and the contract every target follows.

Targets live in the top-level ``targets/`` folder of the repository, installed as
``funnelc.targets``.  They are registered here by name and imported only when asked for, so a
``funnelc check`` never pays for graphviz or jsonschema.  A target turns one pipeline of a
resolved project into one or more files; it never writes them itself (``funnelc.build``
writes everything atomically once every target has succeeded).
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, cast

from funnelc.diagnostics import Diagnostic
from funnelc.model import Pipeline, Project


@dataclass(frozen=True, slots=True)
class EmitOptions:
    """Options every target may read.

    ``renderer`` picks the Graphviz program for ``svg`` (``pure`` — the bundled graphviz-pure,
    the default — or ``system`` — the ``dot`` on ``PATH``); ``render_timeout`` bounds one
    pipeline's layout in seconds; ``target_options`` holds each target's table from the
    project config (``[targets.<name>]``), passed through untouched.
    """

    renderer: str = "pure"
    render_timeout: float = 60.0
    validate_output: bool = False
    unsupported: str = "warn"
    """What to do with a construct a target cannot express: ``ignore``, ``warn`` or ``error``."""
    language: str | None = None
    """The project's ``language`` (config): the artefacts' language for pipelines that do not
    declare one; ``None`` detects it per pipeline (:func:`funnelc.language.pipeline_language`)."""
    target_options: Mapping[str, Mapping[str, object]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Emitted:
    """The files a target produced for one pipeline, keyed by file name (no directory)."""

    files: Mapping[str, bytes]
    diagnostics: tuple[Diagnostic, ...] = ()


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a target declares it does, so that nothing probes a target for attributes.

    ``checks``: :meth:`Target.check` judges the whole project against the target's own limits
    (a CRM's), and the build runs it before any pipeline is emitted, so one run reports every
    limit that is exceeded; without it ``check`` returns nothing.  ``plan``: the target writes
    an import plan (REST calls) and manual steps per pipeline.  ``sync``: the target's package
    has ``state``, ``desired`` and ``diff`` modules (``funnelc plan`` / ``apply``).
    ``constructs``: how each construct of the language is expressed — ``native``, ``manual``
    (a manual step) or ``unsupported`` — as ``funnelc targets`` lists it."""

    checks: bool = False
    plan: bool = False
    sync: bool = False
    constructs: Mapping[str, str] = field(default_factory=dict)


NO_CAPABILITIES = Capabilities()


class Target(Protocol):
    """What a module in ``targets/`` exposes as ``TARGET``: every target, ``json``, ``dot``,
    ``svg`` and the CRM ones alike."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def capabilities(self) -> Capabilities: ...

    def check(self, project: Project, options: EmitOptions) -> list[Diagnostic]:
        """The problems the target finds in the whole project (``capabilities.checks``);
        ``[]`` for a target that declares no checks."""
        ...

    def emit(self, project: Project, pipeline: Pipeline, options: EmitOptions) -> Emitted: ...


CheckingTarget = Target
"""The former name of a target with checks (every target has ``check`` now)."""


# The registry itself (target names → modules, the modules of their codes) is plain strings in
# funnelc.registry, which the code catalogue reads without importing this module.
from funnelc.registry import CODE_MODULES as CODE_MODULES  # noqa: E402
from funnelc.registry import DEFAULT_TARGETS as DEFAULT_TARGETS  # noqa: E402
from funnelc.registry import REGISTRY as REGISTRY  # noqa: E402


def get_target(name: str) -> Target:
    """The target called ``name``; raises ``KeyError`` for an unknown name."""
    module = importlib.import_module(REGISTRY[name])
    target: Target = module.TARGET
    return target


_T = TypeVar("_T")
_SHARED: contextvars.ContextVar[dict[object, object] | None] = contextvars.ContextVar(
    "funnelc_emit_shared", default=None
)


@contextlib.contextmanager
def sharing() -> Iterator[None]:
    """Within this block (one build), what targets compute through :func:`shared` is computed
    once: the ``dot`` and ``svg`` targets share each pipeline's DOT text.  Outside, nothing is
    kept; the memo lives in a context variable, so concurrent builds never see each other's."""
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def sharing_active() -> bool:
    """Whether a :func:`sharing` block is open (one build of every pipeline is under way)."""
    return _SHARED.get() is not None


def shared(key: tuple[object, ...], compute: Callable[[], _T]) -> _T:
    """``compute()``, or the value it gave for ``key`` earlier in the same :func:`sharing`
    block.  Key by object identity only for objects that live through the block."""
    memo = _SHARED.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return cast("_T", memo[key])
