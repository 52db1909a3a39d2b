"""The ``funnelc`` command line (typer): check, build, explain, schema, targets.

Exit codes: 0 — no errors; 1 — the input has errors (or the build failed); 2 — the command was
used wrongly (unknown option, missing argument, bad config).  Human diagnostics go to stderr;
``--format json`` writes the JSON list, and nothing else, to stdout.

Heavy modules (networkx, graphviz, jsonschema, the targets) are imported inside the commands
that need them, so ``funnelc check`` stays close to the cost of importing typer and lark.
"""

from __future__ import annotations

import enum
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from funnelc.version import __version__

app = typer.Typer(
    name="funnelc",
    help="Pipeline-as-code for sales funnels: check .funnel files and build diagrams and "
    "CRM import files from them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Format(enum.StrEnum):
    human = "human"
    json = "json"


class ColorChoice(enum.StrEnum):
    auto = "auto"
    always = "always"
    never = "never"


class Unsupported(enum.StrEnum):
    ignore = "ignore"
    warn = "warn"
    error = "error"


class Renderer(enum.StrEnum):
    pure = "pure"
    system = "system"


def use_color(choice: ColorChoice, stream: object) -> bool:
    """Colour only on a terminal, never when ``NO_COLOR`` is set (https://no-color.org)."""
    if choice is ColorChoice.always:
        return True
    if choice is ColorChoice.never or os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"funnelc {__version__}")
        raise typer.Exit(0)


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Pipeline-as-code for sales funnels."""


PathsArg = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Files or directories (searched for *.funnel). Default: the config's sources, "
        "or the current directory.",
        show_default=False,
    ),
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="How to print diagnostics.")]
ColorOpt = Annotated[ColorChoice, typer.Option("--color", help="Colour the human output.")]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Project config (funnelc.toml or pyproject.toml). Default: the nearest one.",
        show_default=False,
    ),
]


def _emit_diagnostics(
    diagnostics: Sequence[object], sources: object, fmt: Format, color: ColorChoice
) -> None:
    from funnelc.diagnostics import Diagnostic
    from funnelc.render import render_human, render_json, summary

    items = [d for d in diagnostics if isinstance(d, Diagnostic)]
    sources_map = sources if isinstance(sources, dict) else {}
    if fmt is Format.json:
        sys.stdout.write(render_json(items, sources_map))
        return
    if items:
        painted = use_color(color, sys.stderr)
        sys.stderr.write(render_human(items, sources_map, color=painted))
        total = summary(items)
        if total:
            sys.stderr.write(f"{total} found\n")


def _config(config: Path | None) -> object:
    from funnelc.config import discover_config

    loaded, problems = discover_config(Path.cwd(), config)
    if problems:
        from funnelc.render import render_human

        sys.stderr.write(render_human(problems, {}, color=use_color(ColorChoice.auto, sys.stderr)))
        raise typer.Exit(2)
    return loaded


def _inputs(paths: list[Path] | None, config: object) -> list[Path]:
    from funnelc.config import Config

    assert isinstance(config, Config)
    if paths:
        return list(paths)
    if config.sources:
        return list(config.sources)
    return [Path()]


@app.command()
def check(
    paths: PathsArg = None,
    fmt: FormatOpt = Format.human,
    color: ColorOpt = ColorChoice.auto,
    config: ConfigOpt = None,
) -> None:
    """Parse and validate .funnel files; exit 1 if there are errors."""
    from funnelc.compiler import compile

    settings = _config(config)
    result = compile(_inputs(paths, settings))
    _emit_diagnostics(result.diagnostics, dict(result.sources), fmt, color)
    raise typer.Exit(0 if result.ok else 1)


@app.command()
def build(
    paths: PathsArg = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output directory. Default: the config's, or build/."),
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            "-t",
            help="A target to build (repeatable). Default: the config's, or every target.",
            show_default=False,
        ),
    ] = None,
    renderer: Annotated[
        Renderer | None,
        typer.Option(
            help="Graphviz program for svg: the bundled graphviz-pure (default, same bytes on "
            "every machine) or the system `dot`.",
            show_default=False,
        ),
    ] = None,
    render_timeout: Annotated[
        float | None,
        typer.Option(help="Seconds one pipeline's layout may take. [default: 60]", min=0.1),
    ] = None,
    unsupported: Annotated[
        Unsupported | None,
        typer.Option(
            help="What to do when a target cannot express something the funnel says "
            "(it then goes to the manual steps). [default: warn]",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOpt = Format.human,
    color: ColorOpt = ColorChoice.auto,
    config: ConfigOpt = None,
) -> None:
    """Check, then write every target for every pipeline to OUT/<target>/<pipeline>.<ext>.

    Nothing is written unless the whole build succeeds; each file is replaced atomically.
    """
    from funnelc.build import build as run_build
    from funnelc.build import check_targets
    from funnelc.compiler import compile
    from funnelc.config import Config
    from funnelc.emit import DEFAULT_TARGETS, EmitOptions

    settings = _config(config)
    assert isinstance(settings, Config)
    targets = list(target or settings.targets or DEFAULT_TARGETS)
    unknown = check_targets(targets)
    if unknown:
        _emit_diagnostics(unknown, {}, fmt, color)
        raise typer.Exit(2)
    result = compile(_inputs(paths, settings))
    if not result.ok or result.project is None:
        _emit_diagnostics(result.diagnostics, dict(result.sources), fmt, color)
        raise typer.Exit(1)
    options = EmitOptions(
        renderer=(renderer.value if renderer else settings.renderer or "pure"),
        render_timeout=render_timeout or settings.render_timeout or 60.0,
        validate_output=bool(os.environ.get("FUNNELC_DEBUG")),
        unsupported=(unsupported.value if unsupported else settings.unsupported or "warn"),
        target_options=settings.target_options,
    )
    out_dir = out or settings.out or Path("build")
    built = run_build(result.project, targets, out_dir, options)
    diagnostics = (*result.diagnostics, *built.diagnostics)
    _emit_diagnostics(diagnostics, dict(result.sources), fmt, color)
    from funnelc.diagnostics import has_errors

    if has_errors(built.diagnostics):
        if fmt is Format.human:
            written_some = any(d.code == "F605" for d in built.diagnostics)
            sys.stderr.write(
                f"build failed; nothing was written to {out_dir.as_posix()}\n"
                if not written_some
                else "build failed while writing; every file is either complete and new, "
                "or as it was before\n"
            )
        raise typer.Exit(1)
    if fmt is Format.human:
        unchanged = len(built.files) - len(built.written)
        sys.stderr.write(
            f"built {len(result.project.pipelines)} pipeline(s) for {', '.join(targets)} "
            f"into {out_dir.as_posix()}: {len(built.written)} written, {unchanged} unchanged"
            + (f", {len(built.removed)} stale removed" if built.removed else "")
            + "\n"
        )
    raise typer.Exit(0)


@app.command()
def explain(
    code: Annotated[str, typer.Argument(help="A diagnostic code (F102) or its name.")],
) -> None:
    """Print the long explanation of a diagnostic code."""
    from funnelc.codes import CODES, lookup
    from funnelc.diagnostics import did_you_mean
    from funnelc.resources import codes_dir

    entry = lookup(code)
    if entry is None:
        guess = did_you_mean(code.upper(), CODES) or did_you_mean(
            code.lower(), [c.name for c in CODES.values()]
        )
        if guess is None and code[1:].isdigit() and code[:1].upper() in {c[0] for c in CODES}:
            # A code that does not exist: offer the nearest one of the same letter.
            same = [c for c in CODES if c[0] == code[0].upper()]
            guess = min(same, key=lambda c: (abs(int(c[1:]) - int(code[1:])), c))
        hint = f" (did you mean `{guess}`?)" if guess else ""
        typer.echo(f"error: unknown code `{code}`{hint}; `funnelc codes` lists them", err=True)
        raise typer.Exit(2)
    path = codes_dir() / f"{entry.code}.md"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        text = f"# {entry.code}: {entry.name}\n\n{entry.summary}\n"
    typer.echo(text.rstrip("\n"))


@app.command(name="codes")
def list_codes() -> None:
    """List every diagnostic code with its name and summary."""
    from funnelc.codes import CODES

    for entry in CODES.values():
        typer.echo(f"{entry.code}  {entry.name:<28} {entry.summary}")


@app.command()
def schema() -> None:
    """Print the JSON Schema of the json target's output."""
    from funnelc.schema import schema_path

    sys.stdout.write(schema_path().read_text(encoding="utf-8"))


@app.command(name="targets")
def list_targets() -> None:
    """List the build targets, what each expresses and what it leaves to manual steps."""
    from funnelc.emit import DEFAULT_TARGETS, REGISTRY, get_target

    for name in REGISTRY:
        target = get_target(name)
        default = "  (default)" if name in DEFAULT_TARGETS else ""
        typer.echo(f"{name:<10} {target.description}{default}")
        capabilities: dict[str, str] = dict(getattr(target, "capabilities", {}) or {})
        for how in ("native", "manual", "unsupported"):
            constructs = [c for c, h in capabilities.items() if h == how]
            if constructs:
                label = {"native": "sets", "manual": "manual steps", "unsupported": "drops"}[how]
                typer.echo(f"{'':<10}   {label}: {', '.join(constructs)}")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``funnelc`` command."""
    app(args=list(argv) if argv is not None else None, prog_name="funnelc")
