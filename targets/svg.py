"""Target ``svg``: the ``dot`` target's diagram laid out by Graphviz, one file per pipeline.

The DOT source comes from :func:`funnelc.targets.dot.dot_source`, so the two outputs always
show the same diagram; :mod:`funnelc.renderer` runs the layout program chosen by
``options.renderer`` under ``options.render_timeout``.  A failed or timed-out layout is the
user's problem to see, not a traceback: it becomes diagnostic F601 or F602 on the pipeline's id,
and no file is produced for that pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from funnelc import codes
from funnelc.diagnostics import Diagnostic
from funnelc.emit import NO_CAPABILITIES, NO_TEXTS, Capabilities, EmitOptions, Emitted
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

    @property
    def texts(self) -> Mapping[str, str]:
        return NO_TEXTS

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
            svg = render_svg(
                dot_source(project, pipeline, options.language),
                renderer=options.renderer,
                timeout=options.render_timeout,
            )
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
