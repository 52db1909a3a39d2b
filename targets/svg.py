"""Target ``svg``: the ``dot`` target's diagram laid out by Graphviz, one file per pipeline.

The DOT source comes from :func:`funnelc.targets.dot.dot_source`, so the two outputs always
show the same diagram; :mod:`funnelc.renderer` runs the layout program chosen by
``options.renderer`` under ``options.render_timeout``.  A failed or timed-out layout is the
user's problem to see, not a traceback: it becomes diagnostic F601 or F602 on the pipeline's id,
and no file is produced for that pipeline.

Within a build (:func:`funnelc.emit.sharing`), the first pipeline's ``emit`` starts the layouts
of every pipeline of the project at once, at most ``os.cpu_count()`` processes at a time (each
is a ``graphviz-pure`` subprocess, so threads suffice to wait for them), and each ``emit`` then
takes its own pipeline's result: the files and diagnostics come out in the pipelines' order as
before, only sooner.  Outside a build each call lays out its one pipeline.
"""

from __future__ import annotations

import contextvars
import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, ClassVar

from funnelc import codes
from funnelc.diagnostics import Diagnostic
from funnelc.emit import (
    NO_CAPABILITIES,
    Capabilities,
    EmitOptions,
    Emitted,
    shared,
    sharing_active,
)
from funnelc.i18n import _
from funnelc.model import Pipeline, Project
from funnelc.renderer import RenderError, RenderTimeout, render_svg

from .dot import dot_source  # relative: this folder is installed as funnelc.targets

if TYPE_CHECKING:
    from funnelc.emit import Target

FONT_STACK = "Arial, 'Liberation Sans', Arimo, sans-serif"
"""The SVG's ``font-family``: Arial, whose metrics the layout uses, then the fonts with the same
metrics (Liberation Sans on Linux, Arimo from Google's fonts), then any sans-serif; the boxes have
room for DejaVu Sans, the widest of the usual fallbacks (see docs/targets/graphviz.md)."""

MAX_STAGES = 300
"""Above this many stages in one pipeline the diagram is not drawn (F620): nobody can read it,
and the layout would take minutes.  ``[targets.svg] max-stages`` changes it."""


def with_font_stack(svg: bytes) -> bytes:
    """``svg`` with every ``font-family="Arial"`` Graphviz wrote replaced by :data:`FONT_STACK`.

    The DOT names Arial alone, because Graphviz measures text by the first name only and writes
    the value into the SVG unescaped (a stack with quotes would make it malformed XML)."""
    return svg.replace(b'font-family="Arial"', f'font-family="{FONT_STACK}"'.encode())


def _max_stages(options: EmitOptions) -> int | Diagnostic:
    table = options.target_options.get("svg", {})
    value = table.get("max-stages", MAX_STAGES)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return codes.make(
            "F902",
            None,
            target="svg",
            reason=_("`max-stages` must be a positive whole number"),
            hint="",
        )
    return value


class SvgTarget:
    """The ``svg`` target (see the module docstring)."""

    name: str = "svg"
    description: str = "SVG diagram of each pipeline, laid out by Graphviz"

    capabilities: ClassVar[Capabilities] = NO_CAPABILITIES

    def check(self, project: Project, options: EmitOptions) -> list[Diagnostic]:
        return []

    def emit(self, project: Project, pipeline: Pipeline, options: EmitOptions) -> Emitted:
        pid = pipeline.id.name
        limit = _max_stages(options)
        if isinstance(limit, Diagnostic):
            return Emitted(files={}, diagnostics=(limit,))
        if len(pipeline.stages) > limit:
            diagnostic = codes.make(
                "F620",
                pipeline.id.span,
                pipeline=pid,
                count=str(len(pipeline.stages)),
                limit=str(limit),
            )
            return Emitted(files={}, diagnostics=(diagnostic,))
        try:
            svg = _layout(project, pipeline, options, limit)
        except RenderTimeout as error:
            diagnostic = codes.make(
                "F602", pipeline.id.span, pipeline=pid, seconds=f"{error.seconds:g}"
            )
            return Emitted(files={}, diagnostics=(diagnostic,))
        except RenderError as error:
            diagnostic = codes.make(
                "F601", pipeline.id.span, pipeline=pid, reason=error.message, hint=error.hint or ""
            )
            return Emitted(files={}, diagnostics=(diagnostic,))
        if options.validate_output:
            problem = _xml_problem(svg)
            if problem is not None:
                diagnostic = codes.make(
                    "F601",
                    pipeline.id.span,
                    pipeline=pid,
                    reason=f"the renderer wrote malformed SVG ({problem})",
                    hint="this is a bug in the renderer; try `--renderer system`",
                )
                return Emitted(files={}, diagnostics=(diagnostic,))
        return Emitted(files={f"{pid}.svg": with_font_stack(svg)})


def _layout(project: Project, pipeline: Pipeline, options: EmitOptions, limit: int) -> bytes:
    """The SVG of ``pipeline``: from the layouts started for the whole project when a build is
    under way, else laid out now.  Raises :class:`RenderError` as :func:`render_svg` does."""
    if not sharing_active() or len(project.pipelines) < 2:
        return render_svg(
            dot_source(project, pipeline, options.language),
            renderer=options.renderer,
            timeout=options.render_timeout,
        )
    started = shared(
        ("svg_layouts", id(project), id(options)),
        lambda: _start_layouts(project, options, limit),
    )
    layout = started.get(id(pipeline))
    if layout is None:  # not one of the project's pipelines: lay it out on its own
        return render_svg(
            dot_source(project, pipeline, options.language),
            renderer=options.renderer,
            timeout=options.render_timeout,
        )
    return layout.result()


def _start_layouts(project: Project, options: EmitOptions, limit: int) -> dict[int, Future[bytes]]:
    """Start the layout of every pipeline that is drawn (by pipeline identity), at most
    ``os.cpu_count()`` at a time.  The DOT texts are built here, in order, before any layout
    starts; each layout runs in a copy of the current context (the language of its messages)."""
    jobs = [
        (pipeline, dot_source(project, pipeline, options.language))
        for pipeline in project.pipelines
        if len(pipeline.stages) <= limit
    ]
    workers = max(1, min(len(jobs), os.cpu_count() or 1))
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="funnelc-svg")
    started = {
        id(pipeline): executor.submit(
            contextvars.copy_context().run,
            render_svg,
            dot,
            options.renderer,
            options.render_timeout,
        )
        for pipeline, dot in jobs
    }
    executor.shutdown(wait=False)  # the queued layouts still run; the threads end after them
    return started


def _xml_problem(svg: bytes) -> str | None:
    """Why ``svg`` is not well-formed XML, or ``None`` if it is."""
    import xml.etree.ElementTree as ET

    try:
        ET.fromstring(svg)
    except ET.ParseError as error:
        return str(error)
    return None


TARGET = SvgTarget()

if TYPE_CHECKING:
    _CONFORMS: Target = TARGET
