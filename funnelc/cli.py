"""The ``funnelc`` command line (typer): check, build, explain, schema, targets, lsp.

Exit codes: 0 — no errors; 1 — the input has errors (or the build failed); 2 — the command was
used wrongly (unknown option, missing argument, bad config).  Human diagnostics go to stderr;
``--format json`` writes the JSON list, and nothing else, to stdout.

Heavy modules (networkx, graphviz, jsonschema, the targets) are imported inside the commands
that need them, so ``funnelc check`` stays close to the cost of importing typer and lark.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer._click.exceptions import NoArgsIsHelpError, UsageError

from funnelc.i18n import N_, _
from funnelc.version import __version__

if TYPE_CHECKING:
    from collections.abc import Mapping

    from typer._click import Command, HelpFormatter
    from typer._click import Context as ClickContext

    from funnelc.compiler import Result as CompileResult
    from funnelc.config import Config
    from funnelc.diagnostics import Diagnostic
    from funnelc.diff.report import Report
    from funnelc.diff.run import Versions
    from funnelc.emit import EmitOptions
    from funnelc.lint.engine import LintConfig
    from funnelc.source import SourceFile

_CLICK_WORDS = (
    (N_("Usage:"), "Usage:"),
    (N_("Arguments:"), "Arguments:"),
    (N_("Options:"), "Options:"),
    (N_("Commands:"), "Commands:"),
    (N_("Show this message and exit."), "Show this message and exit."),
    (N_("[default: {value}]"), "[default: {value}]"),
    (N_("[required]"), "[required]"),
)


# Click's error messages (typer's vendored click writes them as f-strings, so they are
# recognised by pattern and rewritten), applied in order to the text an error prints.
_CLICK_ERRORS = (
    (
        r"Invalid value for (?P<param>.+?): (?P<message>.+)",
        N_("invalid value for {param}: {message}"),
    ),
    (
        r"(?P<value>'[^']*') is not one of (?P<choices>.+?)\.",
        N_("{value} is not one of {choices}."),
    ),
    (r"(?P<value>'[^']*') is not a valid (?P<kind>[\w ]+)\.", N_("{value} is not a valid {kind}.")),
    (
        r"(?P<value>\S+) is not in the range (?P<range>.+?)\.",
        N_("{value} is not in the range {range}."),
    ),
    (r"No such option: (?P<name>\S+)", N_("no such option: {name}")),
    (r"No such command (?P<name>'[^']*')\.", N_("no such command {name}.")),
    (r"Did you mean (?P<name>.+?)\?", N_("did you mean {name}?")),
    (r"\(Possible options: (?P<names>.+?)\)", N_("(possible options: {names})")),
    (r"Missing argument (?P<name>.+?)\.", N_("missing argument {name}.")),
    (r"Missing option (?P<name>.+?)\.", N_("missing option {name}.")),
    (r"Missing command\.", N_("missing command.")),
    (r"Option (?P<name>'[^']*') requires an argument\.", N_("option {name} requires a value.")),
    (
        r"Got unexpected extra arguments? \((?P<args>.*)\)",
        N_("unexpected extra arguments ({args})"),
    ),
    (r"Try (?P<command>'[^']*') for help\.", N_("Try {command} for help.")),
    (r"^Error: ", N_("error: ")),
    (r"^Usage:", N_("Usage:")),
)


def _translated_error(text: str) -> str:
    import re

    for pattern, message in _CLICK_ERRORS:
        template = _(message)

        def fill(match: re.Match[str], template: str = template) -> str:
            return template.format(**match.groupdict())

        text = re.sub(pattern, fill, text, flags=re.M)
    return text


class LocalisedUsageError(UsageError):
    """A usage error printed in the user's language (see :data:`_CLICK_ERRORS`)."""

    def __init__(self, original: UsageError, lang: str) -> None:
        super().__init__(original.format_message(), getattr(original, "ctx", None))
        self.original = original
        self.lang = lang
        self.exit_code = original.exit_code

    def show(self, file: IO[Any] | None = None) -> None:
        import io

        from funnelc.i18n import using

        buffer = io.StringIO()
        self.original.show(file=buffer)
        with using(self.lang):
            text = _translated_error(buffer.getvalue())
        stream = file if file is not None else sys.stderr
        stream.write(text)


def _localised_errors(args: Sequence[str], run: Callable[[], object]) -> object:
    """Run ``run``; a usage error it raises is re-raised to print in the user's language
    (``--lang`` among ``args``, else the environment)."""
    given = _lang_in(args)  # before click consumes the list
    try:
        return run()
    except UsageError as error:
        from funnelc.i18n import LANGUAGES, detect_language

        lang = given or detect_language()
        if isinstance(error, NoArgsIsHelpError | LocalisedUsageError) or (
            lang == "en" or lang not in LANGUAGES
        ):
            raise
        raise LocalisedUsageError(error, lang) from None


def _lang_in(args: Sequence[str]) -> str | None:
    """The value of ``--lang`` among raw arguments (help is printed before options are
    parsed, so it looks for itself)."""
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


def _localise_help(command: typer.core.TyperCommand | typer.core.TyperGroup) -> None:
    """Translate the help texts of a command (and of its subcommands) in place: typer builds
    these objects afresh for every run, so nothing outlives it."""
    if command.help:
        command.help = _(command.help)
    for param in command.params:
        text = getattr(param, "help", None)
        if text:
            param.help = _(text)  # type: ignore[attr-defined]
    for sub in getattr(command, "commands", {}).values():
        if sub.help:
            sub.help = _(sub.help)


def _translated_help(text: str) -> str:
    """Click's own words of a help page in the current language."""
    import re

    for message, english in _CLICK_WORDS:
        if "{value}" in english:
            pattern = re.escape(english).replace(r"\{value\}", "(.*?)")
            template = _(message)

            def fill(match: re.Match[str], template: str = template) -> str:
                return template.format(value=match.group(1))

            text = re.sub(pattern, fill, text)
        else:
            text = text.replace(english, _(message))
    return text


def _format_localised(
    command: typer.core.TyperCommand | typer.core.TyperGroup,
    base: Callable[..., None],
    ctx: ClickContext,
    formatter: HelpFormatter,
) -> None:
    from funnelc.i18n import LANGUAGES, detect_language, using

    lang = ctx.meta.get("funnelc.lang") or detect_language()
    if lang == "en" or lang not in LANGUAGES:
        base(ctx, formatter)
        return
    with using(lang):
        _localise_help(command)
        inner = type(formatter)(width=formatter.width)
        base(ctx, inner)
        formatter.write(_translated_help(inner.getvalue()))


class LocalisedCommand(typer.core.TyperCommand):
    """A command whose ``--help`` speaks the language ``--lang`` (or the locale) asks for."""

    def parse_args(self, ctx: ClickContext, args: list[str]) -> list[str]:
        ctx.meta["funnelc.lang"] = _lang_in(args)
        rest = _localised_errors(args, lambda: super(LocalisedCommand, self).parse_args(ctx, args))
        return rest  # type: ignore[return-value]

    def format_help(self, ctx: ClickContext, formatter: HelpFormatter) -> None:
        _format_localised(self, super().format_help, ctx, formatter)


class LocalisedGroup(typer.core.TyperGroup):
    def format_help(self, ctx: ClickContext, formatter: HelpFormatter) -> None:
        _format_localised(self, super().format_help, ctx, formatter)

    def resolve_command(
        self, ctx: ClickContext, args: list[str]
    ) -> tuple[str | None, Command | None, list[str]]:
        base = super().resolve_command
        resolved = _localised_errors(sys.argv[1:] + list(args), lambda: base(ctx, args))
        return resolved  # type: ignore[return-value]


app = typer.Typer(
    cls=LocalisedGroup,
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
    sarif = "sarif"
    github = "github"


class Language(enum.StrEnum):
    en = "en"
    ru = "ru"


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
StrictOpt = Annotated[
    bool,
    typer.Option(
        "--strict", help="Fail on warnings too (lint findings are warnings unless configured)."
    ),
]
LangOpt = Annotated[
    Language | None,
    typer.Option(
        "--lang",
        help="Language of the messages. Default: FUNNELC_LANG, else the locale (LANG).",
        show_default=False,
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Project config (funnelc.toml or pyproject.toml). Default: the nearest one.",
        show_default=False,
    ),
]


def _emit_diagnostics(
    diagnostics: Sequence[Diagnostic],
    sources: Mapping[str, SourceFile],
    fmt: Format,
    color: ColorChoice,
    root: Path | None = None,
    strict: bool = False,
) -> None:
    """Print diagnostics in the current language: machine formats on stdout and nothing else
    there; the human format and its summary line on stderr (with, when ``--strict`` is what
    fails the run, a line that says so).  ``root`` is the project root SARIF locations are
    relative to."""
    from funnelc.i18n import language
    from funnelc.render import counted, render_human, render_json, summary

    lang = language()
    if fmt is Format.json:
        sys.stdout.write(render_json(diagnostics, sources, lang))
        return
    if fmt is Format.sarif:
        from funnelc.sarif import render_sarif

        sys.stdout.write(render_sarif(diagnostics, sources, root=root, lang=lang))
        return
    if fmt is Format.github:
        from funnelc.sarif import render_github

        sys.stdout.write(render_github(diagnostics, sources, lang))
        return
    if diagnostics:
        painted = use_color(color, sys.stderr)
        sys.stderr.write(render_human(diagnostics, sources, color=painted, lang=lang))
        total = summary(diagnostics, lang)
        if total:
            sys.stderr.write(_("{summary} found").format(summary=total) + "\n")
        warnings = sum(1 for d in diagnostics if d.severity.value == "warning")
        if strict and warnings and not any(d.is_error for d in diagnostics):
            sys.stderr.write(
                counted(
                    "the warning fails the run because of `--strict`",
                    "the {count} warnings fail the run because of `--strict`",
                    warnings,
                    lang,
                )
                + "\n"
            )


def localised(command: Callable[..., None]) -> Callable[..., None]:
    """Run a command with the language its ``--lang`` option (or the environment) asks for,
    and restore the previous language afterwards (commands also run in-process in tests)."""

    @functools.wraps(command)
    def run(*args: object, **kwargs: object) -> None:
        from funnelc.i18n import detect_language, using

        lang = kwargs.get("lang")
        with using(lang.value if isinstance(lang, Language) else detect_language()):
            command(*args, **kwargs)

    return run


def _config(config: Path | None, strict: bool) -> tuple[Config, LintConfig]:
    """The project config and its ``[lint]`` table, read once; a problem in either is a usage
    error (exit 2).  ``--strict`` on the command line adds to the config's ``strict``."""
    from funnelc.config import discover_config
    from funnelc.lint.engine import LintConfig, config_from_table

    loaded, problems = discover_config(Path.cwd(), config)
    lint = LintConfig()
    if loaded.path is not None and not problems:
        lint, lint_problems = config_from_table(loaded.lint, loaded.path)
        problems = [*problems, *lint_problems]
    if problems:
        from funnelc.render import render_human

        sys.stderr.write(render_human(problems, {}, color=use_color(ColorChoice.auto, sys.stderr)))
        raise typer.Exit(2)
    return loaded, replace(lint, strict=lint.strict or strict)


def _root(config: Config) -> Path | None:
    """The project root: the directory of the config file (``None``: the inputs' root)."""
    return config.path.parent if config.path is not None else None


def _inputs(paths: list[Path] | None, config: Config) -> list[Path]:
    if paths:
        return list(paths)
    if config.sources:
        return list(config.sources)
    return [Path()]


@app.command(cls=LocalisedCommand)
@localised
def check(
    paths: PathsArg = None,
    strict: StrictOpt = False,
    fmt: FormatOpt = Format.human,
    color: ColorOpt = ColorChoice.auto,
    lang: LangOpt = None,
    config: ConfigOpt = None,
    fix: Annotated[
        bool,
        typer.Option(
            "--fix",
            help="Apply the safe fixes the diagnostics carry, rewriting the files; then report "
            "what remains.",
        ),
    ] = False,
    unsafe_fixes: Annotated[
        bool,
        typer.Option(
            "--unsafe-fixes",
            help="With --fix or --diff, apply the unsafe fixes too (guesses and placeholders "
            "to review).",
        ),
    ] = False,
    diff: Annotated[
        bool,
        typer.Option(
            "--diff",
            help="Write nothing; print the fixes --fix would apply as a unified diff; exit 1 "
            "if there are any.",
        ),
    ] = False,
) -> None:
    """Parse, validate and lint .funnel files; exit 1 if there are errors (or, with --strict,
    warnings). --fix applies the diagnostics' safe fixes (--unsafe-fixes: all of them)."""
    from funnelc.compiler import compile, compile_texts
    from funnelc.lint.engine import fails
    from funnelc.session import Session

    if diff and fmt is not Format.human:
        typer.echo(
            _("error: `--diff` prints a diff on stdout; it cannot be combined with `--format`"),
            err=True,
        )
        raise typer.Exit(2)
    settings, lint = _config(config, strict)
    session = Session(persist=True)
    result = compile(_inputs(paths, settings), lint=lint, root=_root(settings), session=session)
    if fix or diff:
        inputs, root = _inputs(paths, settings), _root(settings)
        _fix(
            result,
            lambda: compile(inputs, lint=lint, root=root, session=session),
            lambda texts: compile_texts(texts, lint=lint, session=session),
            fmt,
            color,
            strict=lint.strict,
            unsafe=unsafe_fixes,
            write=not diff,
        )
    _emit_diagnostics(result.diagnostics, result.sources, fmt, color, result.root, lint.strict)
    raise typer.Exit(1 if fails(result.diagnostics, lint.strict) else 0)


def _faithful_files(sources: Mapping[str, SourceFile]) -> dict[str, tuple[bytes, str]]:
    """The sources that are files on disk still holding exactly the text that was compiled,
    with the byte-order mark and the line break to write them back with (those of the file's
    first line, as `fmt` does).  Only they may be rewritten by fixes."""
    import codecs

    found: dict[str, tuple[bytes, str]] = {}
    for path, source in sources.items():
        try:
            data = Path(path).read_bytes()
        except OSError:
            continue
        bom = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
        try:
            text = data[len(bom) :].decode("utf-8")
        except UnicodeDecodeError:
            continue
        first = text.find("\n")
        newline = "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"
        if text.replace("\r\n", "\n").replace("\r", "\n") == source.text:
            found[path] = (bom, newline)
    return found


def _fix(
    result: CompileResult,
    again: Callable[[], CompileResult],
    recompile: Callable[[Mapping[str, str]], CompileResult],
    fmt: Format,
    color: ColorChoice,
    *,
    strict: bool,
    unsafe: bool,
    write: bool,
) -> None:
    """``check --fix`` / ``--diff``: apply the fixes in rounds (:func:`funnelc.fixes.fix_texts`),
    write the changed files atomically (or print the diff), report what remains and exit."""
    from funnelc.fixes import allowed, fix_texts
    from funnelc.fmt import unified_diff, write_atomically
    from funnelc.i18n import ngettext
    from funnelc.lint.engine import fails

    on_disk = _faithful_files(result.sources)
    run = fix_texts(result, recompile, unsafe=unsafe, fixable=set(on_disk))
    problems: list[Diagnostic] = []
    written = 0
    for path in run.changed:
        if not write:
            sys.stdout.write(unified_diff(result.sources[path].text, run.texts[path], path))
            continue
        bom, newline = on_disk[path]
        text = run.texts[path].replace("\n", newline) if newline != "\n" else run.texts[path]
        problem = write_atomically(Path(path), bom + text.encode("utf-8"))
        if problem is not None:
            problems.append(problem)
        else:
            written += 1
    final = run.result
    if write and written:
        # What a second `check` will say: compile the files as they now are on disk.
        final = again()
    diagnostics = [*final.diagnostics, *problems]
    _emit_diagnostics(diagnostics, final.sources, fmt, color, final.root, strict)
    remaining = len(final.diagnostics)
    more = sum(1 for d in final.diagnostics if d.fix is not None and not allowed(d.fix, unsafe))
    safe_left = sum(1 for d in final.diagnostics if d.fix is not None and allowed(d.fix, unsafe))
    lines = [
        (
            ngettext("{count} fix applied", "{count} fixes applied", run.applied)
            if write
            else ngettext(
                "{count} fix would be applied", "{count} fixes would be applied", run.applied
            )
        ).format(count=run.applied)
        + ", "
        + ngettext("{count} file changed", "{count} files changed", len(run.changed)).format(
            count=len(run.changed)
        )
        + ", "
        + ngettext("{count} problem remains", "{count} problems remain", remaining).format(
            count=remaining
        ),
    ]
    if more:
        lines.append(
            ngettext(
                "{count} more is fixable with `--unsafe-fixes`",
                "{count} more are fixable with `--unsafe-fixes`",
                more,
            ).format(count=more)
        )
    if safe_left:
        lines.append(
            ngettext(
                "{count} fix could not be applied in {rounds} rounds; run `--fix` again",
                "{count} fixes could not be applied in {rounds} rounds; run `--fix` again",
                safe_left,
            ).format(count=safe_left, rounds=run.rounds)
        )
    for path in run.reverted:
        lines.append(
            _(
                "left {path} alone: a fix would have broken its syntax (a bug: please report it)"
            ).format(path=path)
        )
    sys.stderr.write("".join(line + "\n" for line in lines))
    failed = fails(diagnostics, strict) or (not write and bool(run.changed))
    raise typer.Exit(1 if failed else 0)


@app.command(cls=LocalisedCommand)
@localised
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
    check_only: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Write nothing: build into a temporary directory and exit 1, naming the files "
            "and showing a short diff, if OUT's files are missing, stale or extra.",
        ),
    ] = False,
    strict: StrictOpt = False,
    fmt: FormatOpt = Format.human,
    color: ColorOpt = ColorChoice.auto,
    lang: LangOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Check, then write every target for every pipeline to OUT/<target>/<pipeline>.<ext>.

    Nothing is written unless the whole build succeeds, and a killed build is finished or
    undone by the next one, so OUT holds either the old build or the new one. Stale files are
    removed only for the targets being built, and only files an earlier funnelc build of those
    targets wrote (listed in OUT/.funnelc-manifest, bytes unchanged); other targets' files and
    files funnelc did not write are never touched, and each removal is listed. Nothing is
    written, read or deleted through a symbolic link inside OUT. A target whose inputs did not
    change since the last build is not emitted again.
    """
    from funnelc.build import build as run_build
    from funnelc.build import check_targets
    from funnelc.compiler import compile
    from funnelc.emit import DEFAULT_TARGETS, EmitOptions
    from funnelc.lint.engine import fails
    from funnelc.session import Session

    settings, lint = _config(config, strict)
    targets = list(target or settings.targets or DEFAULT_TARGETS)
    unknown = check_targets(targets)
    if unknown:
        _emit_diagnostics(unknown, {}, fmt, color)
        raise typer.Exit(2)
    result = compile(
        _inputs(paths, settings), lint=lint, root=_root(settings), session=Session(persist=True)
    )
    if not result.ok or result.project is None or fails(result.diagnostics, lint.strict):
        _emit_diagnostics(result.diagnostics, result.sources, fmt, color, result.root, lint.strict)
        raise typer.Exit(1)
    options = EmitOptions(
        renderer=(renderer.value if renderer else settings.renderer or "pure"),
        render_timeout=render_timeout or settings.render_timeout or 60.0,
        validate_output=bool(os.environ.get("FUNNELC_DEBUG")),
        unsupported=(unsupported.value if unsupported else settings.unsupported or "warn"),
        language=settings.language,
        target_options=settings.target_options,
    )
    out_dir = out or settings.out or Path("build")
    if check_only:
        _check_outputs(result, targets, _shown(out_dir), options, lint.strict, fmt, color)
    built = run_build(result.project, targets, out_dir, options, strict=lint.strict)
    diagnostics = (*result.diagnostics, *built.diagnostics)
    _emit_diagnostics(diagnostics, result.sources, fmt, color, result.root, lint.strict)
    if fails(built.diagnostics, lint.strict):
        if fmt is Format.human:
            written_some = any(d.code == "F605" for d in built.diagnostics)
            sys.stderr.write(
                _("build failed; nothing was written to {out}").format(out=out_dir.as_posix())
                + "\n"
                if not written_some
                else _(
                    "build failed while writing; every file is either complete and new, "
                    "or as it was before"
                )
                + "\n"
            )
        raise typer.Exit(1)
    if fmt is Format.human:
        unchanged = len(built.files) - len(built.written)
        sys.stderr.write(
            _(
                "built {pipelines} pipeline(s) for {targets} into {out}: "
                "{written} written, {unchanged} unchanged"
            ).format(
                pipelines=len(result.project.pipelines),
                targets=", ".join(targets),
                out=out_dir.as_posix(),
                written=len(built.written),
                unchanged=unchanged,
            )
            + (
                _(", {removed} stale removed").format(removed=len(built.removed))
                if built.removed
                else ""
            )
            + "\n"
        )
        for relative in built.removed:
            sys.stderr.write(
                _("  removed {path} (written by an earlier build of this target)").format(
                    path=(out_dir / relative).as_posix()
                )
                + "\n"
            )
        for relative in built.kept:
            sys.stderr.write(
                _("  kept {path}: no longer built, but changed since funnelc wrote it").format(
                    path=(out_dir / relative).as_posix()
                )
                + "\n"
            )
    raise typer.Exit(0)


def _shown(path: Path) -> Path:
    """``path`` relative to the working directory when it is below it (the config's ``out`` is
    absolute), so that messages name it as the user would."""
    if path.is_absolute():
        with contextlib.suppress(ValueError):
            return path.relative_to(Path.cwd())
    return path


def _check_outputs(
    result: CompileResult,
    targets: list[str],
    out_dir: Path,
    options: EmitOptions,
    strict: bool,
    fmt: Format,
    color: ColorChoice,
) -> NoReturn:
    """``build --check``: exit 0 if ``out_dir`` holds what the sources produce, else 1."""
    from funnelc.build import check_outputs, describe_differences
    from funnelc.lint.engine import fails

    assert result.project is not None
    checked = check_outputs(result.project, targets, out_dir, options, strict=strict)
    _emit_diagnostics(
        (*result.diagnostics, *checked.diagnostics),
        result.sources,
        fmt,
        color,
        result.root,
        strict,
    )
    if checked.differences:
        sys.stderr.write(describe_differences(checked.differences, out_dir))
    if fails(checked.diagnostics, strict):
        if fmt is Format.human and checked.differences:
            sys.stderr.write(
                _(
                    "{count} file(s) in {out} are not what the sources produce; "
                    "run `funnelc build` and commit the result"
                ).format(count=len(checked.differences), out=out_dir.as_posix())
                + "\n"
            )
        raise typer.Exit(1)
    if fmt is Format.human:
        sys.stderr.write(
            _("{out} is up to date: {files} file(s) for {targets}").format(
                out=out_dir.as_posix(), files=len(checked.files), targets=", ".join(targets)
            )
            + "\n"
        )
    raise typer.Exit(0)


@app.command(name="fmt", cls=LocalisedCommand)
@localised
def fmt_command(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="Files or directories (searched for *.funnel); `-` reads stdin and writes "
            "stdout. Default: the config's sources, or the current directory.",
            show_default=False,
        ),
    ] = None,
    check_only: Annotated[
        bool,
        typer.Option(
            "--check", help="Write nothing; list the files that would change and exit 1 if any."
        ),
    ] = False,
    diff: Annotated[
        bool,
        typer.Option("--diff", help="Write nothing; print a unified diff; exit 1 if any changes."),
    ] = False,
    color: ColorOpt = ColorChoice.auto,
    lang: LangOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Rewrite .funnel files in the canonical style (docs/style.md); comments are kept, the
    meaning never changes, and a file with syntax errors is left alone (exit 1)."""
    from funnelc import fmt as formatter

    if paths and "-" in paths:
        if len(paths) > 1:
            typer.echo(_("error: `-` (stdin) cannot be combined with paths"), err=True)
            raise typer.Exit(2)
        data = sys.stdin.buffer.read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            typer.echo(
                _("error: stdin is not UTF-8 (byte {offset})").format(offset=error.start),
                err=True,
            )
            raise typer.Exit(1) from None
        result = formatter.format_text(text)
        if result.text is None:
            normal = text.replace("\r\n", "\n").replace("\r", "\n").removeprefix("\ufeff")
            from funnelc.source import SourceFile

            _emit_diagnostics(
                result.diagnostics, {"<stdin>": SourceFile("<stdin>", normal)}, Format.human, color
            )
            raise typer.Exit(1)
        changed = result.text != text
        if diff:
            sys.stdout.write(
                formatter.unified_diff(
                    text.replace("\r\n", "\n"), result.text.replace("\r\n", "\n"), "<stdin>"
                )
            )
        elif not check_only:
            sys.stdout.buffer.write(result.text.encode("utf-8"))
            sys.stdout.flush()
        raise typer.Exit(1 if changed and (check_only or diff) else 0)
    settings, _lint = _config(config, False)
    inputs = _inputs([Path(p) for p in paths] if paths else None, settings)
    write = not (check_only or diff)
    report = formatter.format_files(
        inputs,
        write=write,
        diff=diff,
        on_file=lambda path: typer.echo(_("reformatted {path}").format(path=path), err=True),
    )
    for text in report.diffs:
        sys.stdout.write(text)
    if check_only and not diff:
        for path in report.changed:
            typer.echo(_("would reformat {path}").format(path=path))
    _emit_diagnostics(report.diagnostics, report.sources, Format.human, color)
    count = len(report.written if write else report.changed)
    unchanged = len(report.unchanged)
    from funnelc.i18n import ngettext

    done = (
        ngettext("{count} file reformatted", "{count} files reformatted", count)
        if write
        else ngettext(
            "{count} file would be reformatted", "{count} files would be reformatted", count
        )
    )
    kept = ngettext("{count} file already formatted", "{count} files already formatted", unchanged)
    sys.stderr.write(f"{done.format(count=count)}, {kept.format(count=unchanged)}\n")
    from funnelc.diagnostics import has_errors

    failed = has_errors(report.diagnostics) or (not write and count > 0)
    raise typer.Exit(1 if failed else 0)


@app.command(cls=LocalisedCommand)
@localised
def watch(
    paths: PathsArg = None,
    rebuild: Annotated[
        bool, typer.Option("--build", help="Build on every change instead of only checking.")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="With --build: the output directory (as for build)."),
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target", "-t", help="With --build: a target (repeatable).", show_default=False
        ),
    ] = None,
    interval: Annotated[
        float, typer.Option(help="Seconds between two looks at the files.", min=0.05)
    ] = 0.3,
    clear: Annotated[
        bool,
        typer.Option("--clear/--no-clear", help="Clear the terminal before each run."),
    ] = True,
    strict: StrictOpt = False,
    color: ColorOpt = ColorChoice.auto,
    lang: LangOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Check (or, with --build, build) again on every save, until Ctrl-C.

    Looks at the .funnel files, the files they import and the config every --interval
    seconds (their modification times and sizes: no extra dependency, any file system), and
    runs once the changes have settled.
    """
    import time

    from funnelc.compiler import compile
    from funnelc.config import discover_config, find_config
    from funnelc.lint.engine import fails
    from funnelc.loader import discover
    from funnelc.watch import Watcher, directories

    read: list[Path] = []
    config_file = config or find_config(Path.cwd()) or Path("funnelc.toml")

    def inputs() -> list[Path]:
        settings, _problems = discover_config(Path.cwd(), config)
        return _inputs(paths, settings)

    def listing() -> tuple[list[Path], list[Path]]:
        given = inputs()
        found, _problems = discover(given)
        return [file for file, _root, _index in found], directories(given)

    def run() -> bool:
        try:
            settings, lint = _config(config, strict)
        except typer.Exit:
            return False
        given = _inputs(paths, settings)
        shown = " ".join(_shown(p).as_posix() for p in given)
        stamp = time.strftime("%H:%M:%S")
        if rebuild:
            where = (out or settings.out or Path("build")).as_posix()
            header = _("building {inputs} into {out}").format(inputs=shown, out=where)
        else:
            header = _("checking {inputs}").format(inputs=shown)
        sys.stderr.write(f"[{stamp}] {header}\n")
        sys.stderr.flush()
        # With --build the build compiles (and reports) again; this pass learns what it reads.
        result = compile(given, lint=False if rebuild else lint, root=_root(settings))
        read[:] = [Path(name) for name in result.sources]
        if not rebuild:
            _emit_diagnostics(result.diagnostics, result.sources, Format.human, color, result.root)
            return not fails(result.diagnostics, lint.strict)
        try:
            build(
                paths=paths,
                out=out,
                target=target,
                strict=strict,
                fmt=Format.human,
                color=color,
                lang=lang,
                config=config,
            )
        except typer.Exit as done:
            return done.exit_code == 0
        return True

    watcher = Watcher(listing, lambda: [*read, config_file], interval=interval)
    wipe = clear and sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
    try:
        while True:
            if wipe:
                sys.stderr.write("\033[H\033[2J\033[3J")
            ok = run()
            watcher.settle()
            status = _("watching {count} file(s); Ctrl-C to stop").format(count=watcher.count)
            if ok:
                status = _("no errors") + "; " + status
            sys.stderr.write(status + "\n")
            sys.stderr.flush()
            watcher.wait()
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        raise typer.Exit(0) from None


class DiffFormat(enum.StrEnum):
    human = "human"
    markdown = "markdown"
    json = "json"


ComparedPathsArg = Annotated[
    list[Path] | None,
    typer.Argument(
        help="OLD and NEW (files or directories); with --against, the paths to compare. "
        "Default: the config's sources, or the current directory.",
        show_default=False,
    ),
]
AgainstOpt = Annotated[
    str | None,
    typer.Option(
        "--against",
        help="A git revision to compare the working tree with (the old files are read from "
        "git; no checkout is touched).",
        show_default=False,
    ),
]
DiffTargetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--target",
        "-t",
        help="The targets the funnels are built for (bitrix24 adds its checks). Default: the "
        "config's.",
        show_default=False,
    ),
]


def _versions(
    paths: list[Path] | None, against: str | None, settings: Config, lang: str
) -> Versions:
    """The two versions compiled, or exit 2 (usage) or 1 (a version does not compile)."""
    from funnelc.diff.git import GitError
    from funnelc.diff.run import from_git, from_paths

    if against is not None:
        try:
            versions = from_git(against, _inputs(paths, settings), _root(settings))
        except GitError as error:
            word = _("error")
            message = _("cannot read `{rev}` from git: {reason}").format(
                rev=against, reason=str(error)
            )
            sys.stderr.write(f"{word}: {message}\n")
            raise typer.Exit(2) from None
    else:
        if not paths or len(paths) != 2:
            word = _("error")
            message = _("give two paths, OLD and NEW, or `--against REV`")
            sys.stderr.write(f"{word}: {message}\n")
            raise typer.Exit(2)
        versions = from_paths(paths[0], paths[1])
    for label, result in ((versions.old_label, versions.old), (versions.new_label, versions.new)):
        if not result.ok or result.project is None:
            from funnelc.render import render_human

            sys.stderr.write(
                render_human(result.diagnostics, result.sources, color=False, lang=lang)
            )
            message = _("{version} does not compile, so there is nothing to compare").format(
                version=label
            )
            sys.stderr.write(f"{_('error')}: {message}\n")
            raise typer.Exit(1)
    return versions


def _report(
    paths: list[Path] | None,
    against: str | None,
    target: list[str] | None,
    config: Path | None,
    lang: str,
) -> Report:
    from funnelc.diff.breaking import breaking_changes, config_from_table
    from funnelc.diff.model_diff import diff_projects
    from funnelc.diff.report import Report
    from funnelc.emit import DEFAULT_TARGETS

    settings, _lint = _config(config, False)
    allowed, problems = config_from_table(settings.breaking, str(settings.path))
    if problems and settings.path is not None:
        from funnelc.config import _error
        from funnelc.render import render_human

        found = [_error(settings.path, p) for p in problems]
        sys.stderr.write(render_human(found, {}, color=use_color(ColorChoice.auto, sys.stderr)))
        raise typer.Exit(2)
    versions = _versions(paths, against, settings, lang)
    assert versions.old.project is not None and versions.new.project is not None
    diff = diff_projects(versions.old.project, versions.new.project)
    targets = list(target or settings.targets or DEFAULT_TARGETS)
    if "bitrix24" in settings.target_options and "bitrix24" not in targets:
        targets.append("bitrix24")
    breaking = breaking_changes(
        diff, targets=targets, target_options=settings.target_options, config=allowed
    )
    return Report(
        diff,
        versions.old_label,
        versions.new_label,
        breaking,
        dict(versions.new.sources),
        settings.language,
    )


@app.command(name="diff", cls=LocalisedCommand)
@localised
def diff(
    paths: ComparedPathsArg = None,
    against: AgainstOpt = None,
    fmt: Annotated[
        DiffFormat, typer.Option("--format", "-f", help="human, markdown (a PR comment) or json.")
    ] = DiffFormat.human,
    target: DiffTargetOpt = None,
    color: ColorOpt = ColorChoice.auto,
    lang: LangOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Show what changed in the funnels between two versions, breaking changes included.

    Exit 0 when both versions compile (whatever changed), 1 when one does not, 2 on a usage
    error. `funnelc breaking` fails on breaking changes.
    """
    from funnelc.i18n import language

    code = language()
    report = _report(paths, against, target, config, code)
    if fmt is DiffFormat.json:
        from funnelc.diff.render_json import render as render_json

        sys.stdout.write(render_json(report, code))
    elif fmt is DiffFormat.markdown:
        from funnelc.diff.render_markdown import render as render_markdown

        sys.stdout.write(render_markdown(report, code))
    else:
        from funnelc.diff.render_human import render as render_text

        sys.stdout.write(render_text(report, color=use_color(color, sys.stdout), lang=code))
    raise typer.Exit(0)


@app.command(name="breaking", cls=LocalisedCommand)
@localised
def breaking(
    paths: ComparedPathsArg = None,
    against: AgainstOpt = None,
    fmt: FormatOpt = Format.human,
    target: DiffTargetOpt = None,
    color: ColorOpt = ColorChoice.auto,
    lang: LangOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Find the changes that would hurt a live CRM (F950-F958); exit 1 if one is not allowed
    by `[breaking] allow` in the config."""
    from funnelc.diff.breaking import fails
    from funnelc.i18n import language, ngettext

    report = _report(paths, against, target, config, language())
    _emit_diagnostics(report.breaking, report.sources, fmt, color)
    failed = fails(report.breaking)
    if fmt is Format.human and not report.breaking:
        sys.stderr.write(_("no breaking changes") + "\n")
    elif fmt is Format.human and not failed:
        count = len(report.breaking)
        sys.stderr.write(
            ngettext(
                "the breaking change is allowed by the config",
                "the {count} breaking changes are allowed by the config",
                count,
            ).format(count=count)
            + "\n"
        )
    raise typer.Exit(1 if failed else 0)


class SyncTarget(enum.StrEnum):
    amocrm = "amocrm"
    bitrix24 = "bitrix24"


class PlanFormat(enum.StrEnum):
    human = "human"
    json = "json"


SyncTargetOpt = Annotated[
    SyncTarget, typer.Option("--target", "-t", help="The CRM: amocrm or bitrix24.")
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="The CRM's address instead of the environment's (the Bitrix24 webhook's path, "
        "which holds its secret, is kept).",
        show_default=False,
    ),
]
AllowDeleteOpt = Annotated[
    bool,
    typer.Option(
        "--allow-delete",
        help="Delete what the funnels no longer have (never a stage or pipeline with deals).",
    ),
]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="Trace every request (secrets masked).")
]


def _sync(
    target: SyncTarget,
    inputs: list[Path],
    *,
    base_url: str | None,
    allow_delete: bool,
    verbose: bool,
    then: Callable[[Any, Any, Any], int],
) -> None:
    """Read the account and plan (:func:`funnelc.sync.run.prepare`), then ``then(outcome,
    out, err)`` once there is a plan — with stdout and stderr redacted (no secret can be
    printed, even by an unexpected error); a :class:`~funnelc.sync.client.SyncError` is
    exit 1."""
    from funnelc.sync.client import SyncError
    from funnelc.sync.redact import RedactingStream, redact
    from funnelc.sync.run import prepare

    # Text streams in all but name (RedactingStream wraps one; prepare and then take IO[str]).
    out: Any = RedactingStream(sys.stdout)
    err: Any = RedactingStream(sys.stderr)

    def trace(text: str) -> None:
        err.write(text + "\n")

    def run() -> int:
        outcome = prepare(
            target.value,
            inputs,
            base_url=base_url,
            allow_delete=allow_delete,
            client_options=_client_options(trace if verbose else None),
            err=err,
        )
        if outcome.plan is None:
            return outcome.code
        return then(outcome, out, err)

    try:
        code = run()
    except SyncError as error:
        err.write(_("error: {message}").format(message=str(error)) + "\n")
        code = 1
    except (typer.Exit, KeyboardInterrupt):
        raise
    except Exception as error:  # a bug, but never with a secret in it
        err.write(redact(f"internal error: {type(error).__name__}: {error}") + "\n")
        code = 1
    finally:
        out.flush()
        err.flush()
    raise typer.Exit(code)


def _client_options(trace: Callable[[str], None] | None) -> dict[str, Any]:
    options: dict[str, Any] = {"trace": trace}
    backoff = os.environ.get("FUNNELC_SYNC_BACKOFF")
    if backoff:
        options["backoff"] = float(backoff)
    return options


@app.command(cls=LocalisedCommand)
@localised
def plan(
    target: SyncTargetOpt,
    paths: PathsArg = None,
    fmt: Annotated[
        PlanFormat, typer.Option("--format", "-f", help="human, or json (a machine plan).")
    ] = PlanFormat.human,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Save the plan (JSON) for `funnelc apply FILE`."),
    ] = None,
    base_url: BaseUrlOpt = None,
    allow_delete: AllowDeleteOpt = False,
    verbose: VerboseOpt = False,
    color: ColorOpt = ColorChoice.auto,
    lang: LangOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Read the CRM account, compare it with the funnels and show what `apply` would change.
    Exit 0: no changes; 2: changes pending; 1: error."""
    from funnelc.sync.run import print_summary

    settings, _lint = _config(config, False)
    inputs = _inputs(paths, settings)

    def show(outcome: Any, out: Any, err: Any) -> int:
        text = outcome.plan.dumps() + "\n"
        if out_file is not None:
            out_file.write_text(text, encoding="utf-8")
        if fmt is PlanFormat.json:
            out.write(text)
        else:
            print_summary(outcome.plan, out, use_color(color, sys.stdout))
        return 1 if outcome.plan.conflicts else outcome.code

    _sync(target, inputs, base_url=base_url, allow_delete=allow_delete, verbose=verbose, then=show)


@app.command(cls=LocalisedCommand)
@localised
def apply(
    target: SyncTargetOpt,
    args: Annotated[
        list[Path] | None,
        typer.Argument(
            help="A plan saved by `funnelc plan --out FILE`, or the funnels (files or "
            "directories). Default: the config's sources, or the current directory.",
            show_default=False,
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")] = False,
    base_url: BaseUrlOpt = None,
    allow_delete: AllowDeleteOpt = False,
    verbose: VerboseOpt = False,
    color: ColorOpt = ColorChoice.auto,
    lang: LangOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Make exactly the changes `funnelc plan` shows. A saved plan is refused if the account,
    the funnels or the lock changed since. Asks on a terminal unless --yes."""
    from funnelc.sync.run import read_plan_file, run_apply

    settings, _lint = _config(config, False)
    saved = read_plan_file(args[0]) if args and len(args) == 1 and args[0].is_file() else None
    if saved is not None:
        inputs = [Path(p) for p in saved.get("sources") or []] or _inputs(None, settings)
        if saved.get("target") != target.value:
            sys.stderr.write(
                _("error: the plan is for {target}, not {other}").format(
                    target=saved.get("target"), other=target.value
                )
                + "\n"
            )
            raise typer.Exit(1)
        allow_delete = bool(saved.get("allow_delete"))
    else:
        inputs = _inputs(args, settings)

    def make(outcome: Any, out: Any, err: Any) -> int:
        return run_apply(
            outcome,
            saved,
            yes=yes,
            out=out,
            err=err,
            color=use_color(color, sys.stdout),
            terminal=use_color(color, sys.stderr),
        )

    _sync(target, inputs, base_url=base_url, allow_delete=allow_delete, verbose=verbose, then=make)


@app.command(cls=LocalisedCommand)
@localised
def explain(
    code: Annotated[str, typer.Argument(help="A diagnostic code (F102) or its name.")],
    lang: LangOpt = None,
) -> None:
    """Print the long explanation of a diagnostic code."""
    from funnelc.codes import CODES, lookup
    from funnelc.diagnostics import did_you_mean
    from funnelc.i18n import language
    from funnelc.lint.engine import find_rule
    from funnelc.resources import code_page

    rule = find_rule(code)
    if rule is not None:
        from funnelc.lint.docs import explain_rule

        typer.echo(explain_rule(rule, lang=language()).rstrip("\n"))
        return
    entry = lookup(code)
    if entry is None:
        from funnelc.lint.engine import all_rules

        known = [*CODES, *(r.code for r in all_rules())]
        names = [*(c.name for c in CODES.values()), *(r.name for r in all_rules())]
        letter, digits = code[:1].upper(), code[1:]
        padded = f"{letter}{digits.zfill(3)}" if digits.isdigit() and len(digits) < 3 else ""
        guess = (
            (padded if padded in known else None)
            or did_you_mean(code.upper(), known)
            or did_you_mean(code.lower(), names)
        )
        if guess is None and digits.isdigit() and letter in {c[0] for c in known}:
            # A code that does not exist: offer the nearest one of the same letter.
            same = [c for c in known if c[0] == letter]
            guess = min(same, key=lambda c: (abs(int(c[1:]) - int(digits)), c))
        message = (
            _("unknown code `{code}`; did you mean `{guess}`?")
            if guess
            else _("unknown code `{code}`; `funnelc codes` and `funnelc rules` list them")
        )
        word = _("error")
        typer.echo(f"{word}: " + message.format(code=code, guess=guess or ""), err=True)
        raise typer.Exit(2)
    try:
        text = code_page(entry.code, language()).read_text(encoding="utf-8")
    except OSError:
        text = f"# {entry.code}: {entry.name}\n\n{_(entry.summary)}\n"
    typer.echo(text.rstrip("\n"))


@app.command(cls=LocalisedCommand)
@localised
def rules(
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="human or json (sarif/github: as json).")
    ] = Format.human,
    lang: LangOpt = None,
) -> None:
    """List the methodology rules: code, name, group, severity, preset, principle."""
    from funnelc.i18n import language
    from funnelc.lint.docs import rules_json, rules_table

    if fmt is Format.human:
        typer.echo(rules_table(language()).rstrip("\n"))
    else:
        sys.stdout.write(rules_json(language()))


@app.command(name="codes", cls=LocalisedCommand)
@localised
def list_codes(lang: LangOpt = None) -> None:
    """List every diagnostic code with its name and summary."""
    from funnelc.codes import CODES

    for entry in CODES.values():
        typer.echo(f"{entry.code}  {entry.name:<28} {_(entry.summary)}")


@app.command(cls=LocalisedCommand)
@localised
def schema(
    config: Annotated[
        bool,
        typer.Option(
            "--config", help="Print the JSON Schema of funnelc.toml instead (for editors)."
        ),
    ] = False,
    lang: LangOpt = None,
) -> None:
    """Print the JSON Schema of the json target's output, or with --config of funnelc.toml."""
    if config:
        from funnelc.config import json_schema_text

        sys.stdout.write(json_schema_text())
        return
    from funnelc.schema import schema_path

    sys.stdout.write(schema_path().read_text(encoding="utf-8"))


@app.command(name="targets", cls=LocalisedCommand)
@localised
def list_targets(lang: LangOpt = None) -> None:
    """List the build targets, what each expresses and what it leaves to manual steps."""
    from funnelc.emit import DEFAULT_TARGETS, REGISTRY, get_target

    labels = {"native": _("sets"), "manual": _("manual steps"), "unsupported": _("drops")}
    for name in REGISTRY:
        target = get_target(name)
        default = "  " + _("(default)") if name in DEFAULT_TARGETS else ""
        typer.echo(f"{name:<10} {_(target.description)}{default}")
        capabilities = target.capabilities.constructs
        for how in ("native", "manual", "unsupported"):
            constructs = [c for c, h in capabilities.items() if h == how]
            if constructs:
                shown = ", ".join(_(c) for c in constructs)
                typer.echo(f"{'':<10}   {labels[how]}: {shown}")


@app.command(cls=LocalisedCommand)
@localised
def lsp(
    stdio: Annotated[
        bool, typer.Option("--stdio", help="Talk over stdin and stdout (the only transport).")
    ] = True,
    lang: LangOpt = None,
) -> None:
    """Start the language server on stdin and stdout (editors run this; see docs/lsp.md)."""
    from funnelc.lsp.server import main as serve  # pygls is imported here only

    serve(lang.value if isinstance(lang, Language) else None)


def _command_name(info: typer.models.CommandInfo) -> str:
    if info.name:
        return info.name
    callback = info.callback
    return callback.__name__.replace("_", "-") if callback is not None else ""


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``funnelc`` command.

    Typer builds the click command of every registered command on each start (about 0.5 ms
    each, and there are fourteen), although a run uses one.  When the first argument names a
    command, only that one is registered for this run; anything else (``--help``, a typo,
    completion) gets the whole group, with its listing and its "did you mean".
    """
    args = list(argv) if argv is not None else sys.argv[1:]
    first = args[0] if args else ""
    everything = app.registered_commands
    chosen = [info for info in everything if _command_name(info) == first]
    if chosen:
        app.registered_commands = chosen
    try:
        app(args=args, prog_name="funnelc")
    finally:
        app.registered_commands = everything
