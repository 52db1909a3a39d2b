"""Mutation fuzz through every pass and every target, and hostile inputs answered in linear time.

``tests/fuzzing.py`` makes the mutants (seeded: a failure names its seed, and
``python -m tests.fuzzing SEED`` prints the input).  10 000 of them go through
parse → lower → resolve → validate → lint and both diagnostic renderers; one in eight, when it
still compiles, goes on through the json, dot, amoCRM, Bitrix24 and mermaid targets, and a few
through svg (a subprocess per render, so only a sample).  Nothing may raise, every span lies in its
file, every code is in the catalogue.

Time is bounded by a line through a floor measured in the same run (the valid sample compiled
and linted), generously: an input of ``n`` characters may take up to ``FACTOR`` times what the
floor costs per character, plus ``FACTOR`` floors.  A slow input is timed again before it
fails, so a pause of the shared machine is not taken for superlinear work.  Hostile inputs of
a few hundred kilobytes (a file of ``{``, of ``@``, deeply nested blocks, random bytes, …)
must parse faster than a valid file a third their size; before recovery was capped, a file of
``{`` took seconds and nested blocks minutes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping

import pytest

import funnelc
from funnelc.build import emit_all
from funnelc.codes import CODES
from funnelc.compiler import Result
from funnelc.emit import EmitOptions
from funnelc.lint.engine import all_rules
from funnelc.parse import parse, parser
from funnelc.render import render_human, render_json
from funnelc.source import SourceFile
from tests.fuzzing import Mutant, mutant, seeds, valid
from tests.test_robustness import BUILTIN

MUTANTS = 10_000
EMIT_EVERY = 8
SVG_SAMPLE = 4
FACTOR = 40.0
TARGETS = ["json", "dot", "amocrm", "bitrix24", "mermaid"]

KNOWN_CODES = {*CODES, *(r.code for r in all_rules())}
POOL = seeds()
GOOD = valid(POOL)


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _floor(emit: bool) -> float:
    """Seconds to compile, lint, render (and with ``emit``, emit to every target) the valid
    sample: the best of a few."""
    m = Mutant(-1, {"sample.funnel": BUILTIN}, "sample.funnel")
    return min(_timed(lambda: _run(m, emit)) for _ in range(5))


def _check_result(m: Mutant, result: Result) -> None:
    for d in result.diagnostics:
        assert d.code in KNOWN_CODES, (m.seed, d.code)
        if d.span is not None:
            assert d.span.path in result.sources, (m.seed, d.span)
            length = len(result.sources[d.span.path].text)
            assert 0 <= d.span.start <= d.span.end <= length, (m.seed, d.span, length)
    render_human(result.diagnostics, result.sources)
    render_json(result.diagnostics, result.sources)


def _run(m: Mutant, emit: bool) -> Result:
    try:
        result = funnelc.compile_texts(m.files, lint=True)
        _check_result(m, result)
        if emit and result.project is not None:
            emit_all(result.project, TARGETS, EmitOptions())
    except Exception as error:  # pragma: no cover - the report of a failure
        raise AssertionError(
            f"mutant {m.seed} raised (python -m tests.fuzzing {m.seed})"
        ) from error
    return result


def test_ten_thousand_mutants_raise_nothing_and_take_linear_time() -> None:
    floors = {emit: _floor(emit) for emit in (False, True)}
    size = float(len(BUILTIN))
    emitted = 0
    slow: list[tuple[int, float, float]] = []
    for seed in range(MUTANTS):
        m = mutant(seed, POOL, GOOD)
        # Every mutant is checked and linted; one in EMIT_EVERY also goes through the targets
        # (when it still compiles), which keeps the test within CI's budget.
        emit = seed % EMIT_EVERY == 0
        start = time.perf_counter()
        result = _run(m, emit)
        elapsed = time.perf_counter() - start
        emitted += emit and result.project is not None
        bound = FACTOR * floors[emit] * (1 + m.size / size)
        if elapsed > bound:
            # Timed again (best of three) before it counts: the machine is shared.
            again = min(_timed(lambda m=m, e=emit: _run(m, e)) for _ in range(3))  # type: ignore[misc]
            if again > bound:
                slow.append((seed, again, bound))
    assert not slow, f"superlinear inputs (seed, seconds, bound): {slow[:10]}"
    # The mutants really reach lint and the targets, not only the parser.
    assert emitted > MUTANTS // EMIT_EVERY // 5, emitted


def test_a_sample_of_mutants_renders_svg() -> None:
    rng = random.Random(7)
    done = 0
    for seed in rng.sample(range(MUTANTS), 400):
        m = mutant(seed, POOL, GOOD)
        result = funnelc.compile_texts(m.files, lint=True)
        if result.project is None or not result.project.pipelines:
            continue
        built = emit_all(result.project, ["svg"], EmitOptions())
        assert any(name.endswith(".svg") for name in built.files) or built.diagnostics, seed
        done += 1
        if done == SVG_SAMPLE:
            break
    assert done == SVG_SAMPLE


# --- hostile inputs ----------------------------------------------------------------------------

HOSTILE_SIZE = 300_000


def _random_text(n: int) -> str:
    rng = random.Random(3)
    return bytes(rng.randrange(256) for _ in range(n)).decode("latin-1")


HOSTILE: Mapping[str, Callable[[int], str]] = {
    "open-braces": lambda n: "{" * n,
    "close-braces": lambda n: "}" * n,
    "at-signs": lambda n: "@" * n,
    "quotes": lambda n: '"' * n,
    "triple-quotes": lambda n: '"""' * (n // 3),
    "random-bytes": _random_text,
    "one-long-line-of-ids": lambda n: "stage " + "a " * (n // 2),
    "one-long-string": lambda n: 'pipeline p "P" { deal { stage a "' + "я" * n,
    "nested-blocks": lambda n: 'pipeline p "P" {' + " deal {" * (n // 7),
    "nested-stage-bodies": lambda n: 'pipeline p "P" { deal { stage a "A" {' + " {" * (n // 2),
    "short-lines": lambda n: "x\n" * (n // 2),
    "short-bad-lines": lambda n: "@\n" * (n // 2),
    "unclosed-strings-per-line": lambda n: '"\n' * (n // 2),
    "extra-closing-braces": lambda n: 'pipeline p "P" { deal { stage a "A" { } }\n' + "}\n" * n,
    "stages-each-broken": lambda n: (
        'pipeline p "P" { deal {\n' + 'stage a "A" { sla 1.5d gaol "x" }\n' * (n // 34)
    ),
}


@pytest.fixture(scope="module")
def valid_floor() -> float:
    """Parsing valid text a third the size of the hostile inputs: the best of two."""
    text = (BUILTIN * (HOSTILE_SIZE // len(BUILTIN) + 1))[: HOSTILE_SIZE // 3]
    source = SourceFile("valid.funnel", text)
    parser()
    return min(_timed(lambda: parse(source)) for _ in range(2))


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_input_parses_in_linear_time(kind: str, valid_floor: float) -> None:
    source = SourceFile("hostile.funnel", HOSTILE[kind](HOSTILE_SIZE))
    results = []

    def once() -> None:
        results.append(parse(source))

    elapsed = min(_timed(once) for _ in range(2))
    assert results[0].diagnostics and results[0].tree is None
    assert elapsed <= 2 * valid_floor + 0.05, (elapsed, valid_floor)


def test_hostile_input_compiles_and_renders(tmp_path: object) -> None:
    """The whole compiler (not only the parser) answers a megabyte of junk with diagnostics."""
    for kind in ("open-braces", "nested-blocks", "random-bytes"):
        result = funnelc.compile_texts({"junk.funnel": HOSTILE[kind](1_000_000)})
        assert not result.ok
        assert 1 <= len(result.diagnostics) <= 20
        render_json(result.diagnostics, result.sources)
