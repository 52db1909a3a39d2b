"""The serialised parser: the one shipped next to the grammar is fresh and behaves like a parser
built from the grammar; a stale, damaged or unwritable copy only ever means building one; and
only a ``persist`` session (the CLI's) writes a copy, into the user's cache directory."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from lark import Lark
from lark.exceptions import UnexpectedInput

from funnelc import parse
from funnelc.resources import grammar_path

ROOT = Path(__file__).resolve().parent.parent
OTHER_INPUTS = [
    'pipeline p "P" { deal { stage a "A" { sla 2d probability 10% } won w "W" lost l "L" } }',
    'pipeline p "P" { deal { stage key "Key" key was stage won w "W" { next q.s } } }',
    'field f "F" choice("a", "b",)\nreason r """long\n"name"""',
]

BAD_INPUTS = [
    'pipeline p "P" { deal { stage "A" } }',
    "pipeline p P { }",
    'field f "F" text @',
    "x",
]


def failure(made: Lark, text: str) -> tuple[str, int, int]:
    try:
        made.parse(text)
    except UnexpectedInput as error:
        return type(error).__name__, error.line, error.column
    return "", 0, 0


def key() -> str:
    return parse.parser_key(grammar_path().read_text(encoding="utf-8"))


def inputs() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(ROOT.glob("examples/**/*.funnel"))]
    assert texts, "no examples to parse"
    return texts + OTHER_INPUTS


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As if no parser had been made in this process yet (restored afterwards)."""
    monkeypatch.setattr(parse, "_PROCESS", {})
    yield


def test_the_shipped_parser_is_fresh() -> None:
    header = parse.prebuilt_path().read_bytes().partition(b"\n")[0].decode()
    assert parse.read_serialised(parse.prebuilt_path(), key()) is not None, (
        f"{parse.prebuilt_path().name} is stale ({header!r}: made from another grammar, other "
        "options or another version of Lark): run `python -m funnelc.parse` and commit it"
    )


def test_the_shipped_parser_parses_like_a_built_one() -> None:
    shipped = parse.read_serialised(parse.prebuilt_path(), key())
    assert shipped is not None
    built = parse.build_parser()
    for text in inputs():
        assert shipped.parse(text) == built.parse(text)
    for bad in BAD_INPUTS:
        assert failure(shipped, bad) == failure(built, bad) != ("", 0, 0)
    assert sorted(t.name for t in shipped.terminals) == sorted(t.name for t in built.terminals)


def test_the_process_parser_is_the_shipped_one_and_made_once(
    fresh_process: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_build(grammar: str | None = None) -> Lark:
        raise AssertionError("the grammar was built although the shipped parser fits")

    monkeypatch.setattr(parse, "build_parser", no_build)
    first = parse.parser()
    assert parse.parser() is first
    assert parse.prepare_parser(None) is first


def damaged(case: str) -> bytes:
    header = f"funnelc-parser {key()} lark x\n".encode()
    body = parse.serialise(parse.parser(), key()).partition(b"\n")[2]
    return {
        "empty": b"",
        "stale": b"funnelc-parser 0000 lark 0.0\n" + body,
        "foreign": b"not a parser at all",
        "garbage": header + b"\x80\x05garbage",
        "no-body": header,
        "truncated": header + body[: len(body) // 2],
        "not-a-lark": header + pickle.dumps({"data": {}, "memo": {1: 2}}),
    }[case]


@pytest.mark.parametrize(
    "case", ["empty", "stale", "foreign", "garbage", "no-body", "truncated", "not-a-lark"]
)
def test_a_stale_or_damaged_copy_is_not_used_and_raises_nothing(tmp_path: Path, case: str) -> None:
    path = tmp_path / "copy.pickle"
    path.write_bytes(damaged(case))
    assert parse.read_serialised(path, key()) is None


def test_a_missing_copy_is_not_used(tmp_path: Path) -> None:
    assert parse.read_serialised(tmp_path / "nothing.pickle", key()) is None


def test_when_the_shipped_parser_is_stale_a_library_process_builds_and_writes_nothing(
    fresh_process: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stale = tmp_path / "shipped.pickle"
    stale.write_bytes(b"funnelc-parser 0000 lark 0.0\n")
    monkeypatch.setattr(parse, "prebuilt_path", lambda: stale)
    made = parse.parser()
    assert made.parse(OTHER_INPUTS[0]) is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shipped.pickle"]
    assert stale.read_bytes() == b"funnelc-parser 0000 lark 0.0\n"


def test_when_the_shipped_parser_is_stale_the_cli_keeps_one_in_its_cache(
    fresh_process: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(parse, "prebuilt_path", lambda: tmp_path / "missing.pickle")
    store = tmp_path / "cache"
    made = parse.prepare_parser(store)
    [kept] = store.iterdir()
    assert kept.name == f"parser-{key()[:20]}.pickle"
    assert parse.read_serialised(kept, key()) is not None
    assert made.parse(OTHER_INPUTS[0]) == parse.build_parser().parse(OTHER_INPUTS[0])

    # The next process reads it instead of building the grammar.
    monkeypatch.setattr(parse, "_PROCESS", {})
    calls: list[object] = []
    real = parse.build_parser

    def counting(grammar: str | None = None) -> Lark:
        calls.append(grammar)
        return real(grammar)

    monkeypatch.setattr(parse, "build_parser", counting)
    assert parse.prepare_parser(store).parse(OTHER_INPUTS[0]) is not None
    assert calls == []


def test_a_damaged_cached_copy_is_rebuilt_and_replaced(
    fresh_process: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(parse, "prebuilt_path", lambda: tmp_path / "missing.pickle")
    store = tmp_path / "cache"
    store.mkdir()
    kept = store / f"parser-{key()[:20]}.pickle"
    kept.write_bytes(f"funnelc-parser {key()} lark x\n".encode() + b"\x80\x05junk")
    assert parse.prepare_parser(store).parse(OTHER_INPUTS[0]) is not None
    assert parse.read_serialised(kept, key()) is not None
    assert [p.name for p in store.iterdir()] == [kept.name]  # no temporary file left behind


def test_an_unwritable_cache_directory_is_no_error(
    fresh_process: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(parse, "prebuilt_path", lambda: tmp_path / "missing.pickle")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    # The directory cannot be created: its parent is a file.
    assert parse.prepare_parser(blocker / "cache").parse(OTHER_INPUTS[0]) is not None

    # The directory exists but refuses new files (as a read-only one does for any user).
    monkeypatch.setattr(parse, "_PROCESS", {})
    store = tmp_path / "read-only"
    store.mkdir()

    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    assert parse.prepare_parser(store).parse(OTHER_INPUTS[0]) is not None
    assert list(store.iterdir()) == []


def test_the_renamed_copy_is_the_only_write_and_a_failed_one_leaves_no_temporary(
    fresh_process: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(parse, "prebuilt_path", lambda: tmp_path / "missing.pickle")
    store = tmp_path / "cache"

    def fail(self: Path, target: object) -> Path:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(Path, "replace", fail)
    assert parse.prepare_parser(store).parse(OTHER_INPUTS[0]) is not None
    assert list(store.iterdir()) == []


_NO_WRITES = """
import os, sys
from pathlib import Path
import funnelc
from funnelc.session import Session
result = funnelc.compile(sys.argv[1], lint=True)
assert result.ok, result.diagnostics
result = Session().compile(sys.argv[1], lint=True)
assert result.ok, result.diagnostics
from funnelc.fmt import format_text
for path in sorted(Path(sys.argv[1]).rglob("*.funnel")):
    assert format_text(path.read_text(encoding="utf-8"), str(path)).text
"""


def test_a_library_compile_writes_nothing_anywhere(tmp_path: Path) -> None:
    """Neither the temporary directory (where Lark's own ``cache=True`` would write) nor the
    cache directory gets a file from :func:`funnelc.compile` or from the formatter."""
    temporary, cache, home = (tmp_path / name for name in ("tmp", "cache", "home"))
    for directory in (temporary, cache, home):
        directory.mkdir()
    env = {
        **os.environ,
        "TMPDIR": str(temporary),
        "XDG_CACHE_HOME": str(cache),
        "HOME": str(home),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("FUNNELC_CACHE_DIR", None)
    env.pop("FUNNELC_NO_CACHE", None)
    done = subprocess.run(
        [sys.executable, "-c", _NO_WRITES, str(ROOT / "examples")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert [p for d in (temporary, cache, home) for p in d.rglob("*")] == []
