"""The documentation says only what exists.

Every ``funnelc <command> --flag`` the README, CONTRIBUTING.md, the CHANGELOG, ``docs/*.md``,
``docs/targets/*.md`` and ``bench/README.md`` show — in a shell, console or YAML block, or in
an inline code span — names a real command and only that command's options; the values of
``--target`` and of a choice option (``--format``) are real ones.  A flag the README mentions
on its own (``--strict``) belongs to some command.  ``python -m MODULE`` names a module that
exists and ``python FILE`` a file, and the options a bench script is documented with are in its
``--help``.  The README's command table and the CHANGELOG name every command, the README's
output table and the CHANGELOG every target, and the README's dependency tables name exactly
the dependencies of ``pyproject.toml``.  (``docs/codes/`` is checked by running its examples.)
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import typer

from funnelc.cli import app
from funnelc.registry import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted(
    [
        ROOT / "README.md",
        ROOT / "CONTRIBUTING.md",
        ROOT / "CHANGELOG.md",
        ROOT / "bench" / "README.md",
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / "docs" / "targets").glob("*.md"),
    ]
)
SHELL_FENCES = {"sh", "bash", "console", "shell", "yaml", "yml", ""}
"""Fenced blocks whose lines may be commands (a bare fence: sample output or a command)."""
ENDS = re.compile(r"^(\||\|\||&&|;|#.*|>.*|<.*|2>.*|\)|`)$")
"""A token that ends a command: a pipe, a list, a comment, a redirection."""
FOREIGN_FLAGS = {
    "--bless": "pytest's option, tests/conftest.py",
    "--port": "python -m funnelc.fakes",
    "--limits": "python -m funnelc.fakes",
}
"""Flags the README mentions that belong to something other than the `funnelc` command."""


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def snippets(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of every inline code span outside fences and every line of a shell-like
    fenced block."""
    fence: str | None = None
    language = ""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        opening = re.match(r"^\s*(`{3,}|~{3,})\s*([\w+-]*)", line)
        if opening:
            if fence is None:
                fence, language = opening.group(1), opening.group(2).lower()
            elif opening.group(1).startswith(fence):
                fence = None
            continue
        if fence is not None:
            if language in SHELL_FENCES:
                yield number, line
            continue
        for span in re.findall(r"(`+)(.+?)\1", line):
            yield number, span[1].replace("\\|", "|")


def commands(text: str) -> Iterator[list[str]]:
    """The argument lists of every `funnelc …` invocation in a snippet."""
    for match in re.finditer(r"(?:^|(?<=[\s/\"'(]))funnelc(?=[ \t])(.*)", text):
        tokens: list[str] = []
        for token in match.group(1).split():
            if ENDS.match(token):
                break
            tokens.append(token.strip("[]()\"',"))
        if tokens:
            yield tokens


@cache
def cli() -> Any:
    """The command line as click sees it (typer's own copy of click, hence `Any`)."""
    group = typer.main.get_command(app)
    assert hasattr(group, "commands")
    return group


@cache
def options(name: str | None) -> dict[str, Any]:
    """Every option string (`--out`, `-o`) of a command, or of `funnelc` itself."""
    command = cli() if name is None else cli().commands[name]
    found: dict[str, Any] = {}
    for param in command.get_params(command.context_class(command, info_name=name or "funnelc")):
        if param.param_type_name == "option":
            for opt in (*param.opts, *param.secondary_opts):
                found[opt] = param
    return found


def documented_invocations() -> list[tuple[str, list[str]]]:
    found = []
    for path in DOCS:
        for number, text in snippets(path):
            for tokens in commands(text):
                found.append((f"{_rel(path)}:{number}", tokens))
    return found


def _placeholder(value: str) -> bool:
    return not value or "…" in value or value.isupper() or not value[0].isalpha() or "$" in value


def test_the_documents_show_commands() -> None:
    """The extraction finds what it is meant to (else the next test would pass on nothing)."""
    where = {(place.split(":")[0], tokens[0]) for place, tokens in documented_invocations()}
    assert ("README.md", "build") in where
    assert ("README.md", "plan") in where  # the "Try it without an account" block
    assert ("docs/style.md", "fmt") in where
    assert ("docs/diff.md", "breaking") in where
    assert ("CHANGELOG.md", "diff") in where


@pytest.mark.parametrize("place, tokens", documented_invocations(), ids=lambda v: str(v))
def test_every_documented_command_and_flag_exists(place: str, tokens: list[str]) -> None:
    commands = cli().commands
    name: str | None = None
    rest = tokens
    if not tokens[0].startswith("-"):
        name, rest = tokens[0], tokens[1:]
        if _placeholder(name):
            return
        assert name in commands, f"{place}: `funnelc {name}` is not a command"
    known = options(name)
    for index, token in enumerate(rest):
        if not token.startswith("-") or token in {"-", "--"}:
            continue
        flag, _, inline = token.partition("=")
        assert flag in known, f"{place}: `funnelc {name or ''}` has no option `{flag}`"
        param = known[flag]
        value = inline or (rest[index + 1] if index + 1 < len(rest) else "")
        if param.is_flag or _placeholder(value) or value.startswith("-"):
            continue
        values = re.split(r"[|,]", value)
        if param.name == "target":
            for target in values:
                assert target in REGISTRY, f"{place}: `{target}` is not a target"
        elif getattr(param.type, "choices", None):
            for choice in values:
                assert choice in param.type.choices, f"{place}: `{flag} {choice}` is not a choice"


def test_every_flag_the_readme_mentions_exists() -> None:
    everywhere = set(options(None))
    for name in cli().commands:
        everywhere |= set(options(name))
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    mentioned = set(re.findall(r"`(--[a-z][a-z-]*)", text))
    unknown = mentioned - everywhere - set(FOREIGN_FLAGS)
    assert not unknown, f"README.md mentions options no command has: {sorted(unknown)}"
    assert mentioned & set(FOREIGN_FLAGS), "FOREIGN_FLAGS lists flags the README no longer has"


def _python_invocations() -> Iterator[tuple[str, str, list[str]]]:
    """(place, `-m module` or a file, the rest) of every `python …` line in the documents."""
    pattern = re.compile(r"(?:^|(?<=[\s/]))python3?[ \t]+(-m[ \t]+)?(\S+)(.*)")
    for path in DOCS:
        for number, text in snippets(path):
            for match in pattern.finditer(text):
                target = ("-m " if match.group(1) else "") + match.group(2)
                rest = []
                for token in match.group(3).split():
                    if ENDS.match(token):
                        break
                    rest.append(token)
                yield f"{_rel(path)}:{number}", target, rest


def test_every_documented_python_module_and_script_exists() -> None:
    seen = 0
    for place, target, _ in _python_invocations():
        if target.startswith("-m "):
            module = target[3:]
            if module.startswith("funnelc"):
                seen += 1
                assert importlib.util.find_spec(module) is not None, f"{place}: no `{module}`"
        elif target.endswith(".py"):
            seen += 1
            assert (ROOT / target).is_file(), f"{place}: no file `{target}`"
    assert seen >= 10


def test_the_scripts_and_modules_take_the_options_they_are_documented_with() -> None:
    """`python bench/run.py --sizes …`, `python -m funnelc.fakes … --port …`: each option shown
    is in the script's `--help` (for `run.py`, also every row of its options table)."""
    documented: dict[str, set[str]] = {}
    for _, target, rest in _python_invocations():
        if target.startswith(("bench/", "docs/", ".ci/", "-m funnelc")):
            flags = {t.split("=")[0] for t in rest if t.startswith("--")}
            documented.setdefault(target, set()).update(flags)
    readme = (ROOT / "bench" / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("Options of `run.py`") : readme.index("## The input")]
    documented["bench/run.py"] |= set(re.findall(r"^\| `(--[a-z-]+)", table, re.MULTILINE))
    assert documented["bench/lsp_bench.py"] and documented["-m funnelc.fakes"]
    for target, flags in documented.items():
        if not flags:
            continue
        argv = target.split() if target.startswith("-m ") else [str(ROOT / target)]
        shown = subprocess.run(
            [sys.executable, *argv, "--help"], capture_output=True, text=True, check=True, cwd=ROOT
        ).stdout
        accepted = set(re.findall(r"--[a-z][a-z-]*", shown))
        assert flags <= accepted, f"`python {target}` has no {sorted(flags - accepted)}"


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end != -1 else len(text)]


def test_the_readme_and_the_changelog_name_every_command_and_target() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    table = _section(readme, "## Commands")
    outputs = _section(readme, "## Outputs")
    for name in cli().commands:
        assert f"| `funnelc {name}" in table, f"README's command table lacks `{name}`"
        assert re.search(rf"`(funnelc )?{name}[` ]", changelog), f"CHANGELOG lacks `{name}`"
    for target in REGISTRY:
        assert f"| `{target}` |" in outputs, f"README's output table lacks `{target}`"
        assert f"`{target}`" in changelog, f"CHANGELOG lacks the target `{target}`"


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower() for r in requirements}


def _first_column(table: str) -> set[str]:
    names: set[str] = set()
    for row in re.findall(r"^\| ([^|]+) \|", table, re.MULTILINE):
        if row.strip() in {"package", "---"}:
            continue
        for name in row.split(","):
            names.add(re.sub(r"\[.*\]", "", name).strip().lower())
    return names


def test_the_readme_explains_exactly_the_dependencies_of_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = _names(project["dependencies"])
    test = _names(project["optional-dependencies"]["test"])
    section = _section(
        (ROOT / "README.md").read_text(encoding="utf-8"), "## Dependencies and why each is there"
    )
    main_table, _, test_part = section.partition("Test-only")
    documented_runtime = _first_column(main_table)
    indirect = {n for n in documented_runtime if "(through " in n}
    assert documented_runtime - indirect == runtime
    for name in indirect:  # "rich (through typer)": brought by a dependency that is listed
        assert name.split("(through ")[1].rstrip(")") in runtime
    assert _first_column(test_part) == test
