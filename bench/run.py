"""Benchmarks of funnelc: the cost of each pass, of each emitter, and of a cold start.

Run from the repository root::

    .venv/bin/python bench/run.py [--sizes 10,100,1000,10000] [--repeat N] [--no-render]
                                  [--render-all] [--shapes one,many] [--installed]

It prints figures and asserts nothing; bench/README.md explains each figure and the targets.
Pass times are medians of ``--repeat`` runs measured with ``time.perf_counter``; peak memory
comes from a separate run under ``tracemalloc``, because tracing slows allocation down by a
large factor and would distort the times.  Every pass is timed alone, on the output of the
pass before it (computed once, outside the timing).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script, bench/ itself is on sys.path, not the root
    sys.path.insert(0, str(ROOT))

import funnelc  # noqa: E402
from bench.generate import PER_PIPELINE, SHAPES, Shape, generate  # noqa: E402
from funnelc.diagnostics import Diagnostic, has_errors  # noqa: E402
from funnelc.lower import lower  # noqa: E402
from funnelc.model import Project  # noqa: E402
from funnelc.parse import parse, parser  # noqa: E402
from funnelc.resolve import resolve  # noqa: E402
from funnelc.source import SourceFile  # noqa: E402
from funnelc.validate import validate  # noqa: E402

CHECK_TARGET_S = 2.0
CHECK_TARGET_STAGES = 10_000
STARTUP_TARGET_RATIO = 1.25
REBUILD_TARGET_RATIO = 1.2
SVG_LIMIT = 1_000
"""Above this many open stages in one pipeline, svg is skipped unless ``--render-all``."""
EMITTERS = ("json", "dot", "svg", "bitrix24")
FLOOR_CODE = "import typer, lark, networkx"


# ---- measuring ---------------------------------------------------------------------------------
SLOW_S = 10.0
"""A figure whose first run takes longer than this is not repeated (svg of big pipelines)."""


def median_time(run: Callable[[], object], repeat: int) -> tuple[float, int]:
    """Median wall time of ``run`` in seconds and the number of runs it is the median of.

    Garbage is collected before each run so one run's garbage is not paid for by the next; a
    first run slower than :data:`SLOW_S` is not repeated.
    """
    times: list[float] = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
        if times[0] > SLOW_S:
            break
    return statistics.median(times), len(times)


def peak_memory(run: Callable[[], object]) -> int:
    """Peak bytes allocated by ``run`` on the Python heap (child processes not included)."""
    gc.collect()
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@dataclass
class Row:
    name: str
    seconds: float | None = None
    peak: int | None = None
    note: str = ""


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Run with the cyclic garbage collector paused, as ``funnelc.compile`` runs the passes.

    Timed alone with it running, a pass would pay for full collections over whatever else is
    alive in this process; the ``compile()`` row measures the real thing end to end.
    """
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class Facts:
    pipelines: int
    stages: int
    edges: int


def lint_runner() -> tuple[Callable[[Project], object] | None, str]:
    try:
        from funnelc.lint.engine import lint
    except ImportError:
        return None, "n/a (no funnelc.lint)"
    return lint, "not part of check; `funnelc check` also lints"


def fail(diagnostics: Sequence[Diagnostic]) -> NoReturn:
    for diagnostic in diagnostics[:10]:
        print(f"  {diagnostic.code}: {diagnostic.message}", file=sys.stderr)
    raise SystemExit("the generated input does not compile; fix bench/generate.py")


def emitter(name: str) -> tuple[Callable[[Project], object] | None, str]:
    """A function emitting every pipeline of a project with target ``name``, or why not."""
    from funnelc.emit import REGISTRY, EmitOptions, get_target, sharing

    if name not in REGISTRY:
        return None, "n/a (not in REGISTRY)"
    try:
        target = get_target(name)
    except Exception as error:  # an unfinished target may fail in any way on import
        return None, f"n/a ({type(error).__name__} on import)"
    # The svg target skips pipelines above 300 stages (F620); the bench times the layout anyway.
    options = EmitOptions(target_options={"svg": {"max-stages": 1_000_000}}, render_timeout=600)

    check = target.check if target.capabilities.checks else None

    def run(project: Project) -> object:
        # A target with checks (a CRM's) runs as a build runs it (funnelc.build): its check of
        # the whole project, then every pipeline, in one sharing() block — it analyses the
        # build once.  The others are timed pipeline by pipeline, outside any build.
        with sharing() if check is not None else contextlib.nullcontext():
            if check is not None:
                errors = [d for d in check(project, options) if d.is_error]
                if errors:
                    raise RuntimeError(f"{errors[0].code}: {errors[0].message}")
            for pipeline in project.pipelines:
                emitted = target.emit(project, pipeline, options)
                errors = [d for d in emitted.diagnostics if d.is_error]
                if errors:
                    raise RuntimeError(f"{errors[0].code}: {errors[0].message}")
        return None

    return run, ""


def timed(name: str, run: Callable[[], object], repeat: int, note: str = "") -> Row:
    seconds, runs = median_time(run, repeat)
    if runs < repeat:
        note = f"{note}; {runs} run, too slow to repeat".lstrip("; ")
    peak = peak_memory(run) if seconds <= SLOW_S else None
    return Row(name, seconds, peak, note)


def measure(
    path: Path, shape: Shape, open_stages: int, args: argparse.Namespace
) -> tuple[list[Row], Facts]:
    """Time each pass on the output of the one before, keeping alive only what the compiler
    keeps alive at that point (the parse tree is gone by the time ``resolve`` runs)."""
    source = SourceFile(path.as_posix(), path.read_text(encoding="utf-8"))
    rows: list[Row] = []
    with cyclic_gc_paused():
        rows.append(timed("parse", functools.partial(parse, source), args.repeat))
        parsed = parse(source)
        rows.append(timed("lower", functools.partial(lower, source, parsed), args.repeat))
        module, problems = lower(source, parsed)
        del parsed
        if module is None or has_errors(problems):
            fail(problems)
        imports: dict[str, tuple[str, ...]] = {source.path: ()}
        rows.append(timed("resolve", functools.partial(resolve, [module], imports), args.repeat))
        resolved, problems = resolve([module], imports)
        rows.append(timed("validate", functools.partial(validate, resolved), args.repeat))
        if has_errors([*problems, *validate(resolved)]):
            fail([*problems, *validate(resolved)])
        del module, resolved
    check_seconds = sum(r.seconds or 0.0 for r in rows)
    rows.append(Row("= check", check_seconds, max(r.peak or 0 for r in rows), "sum of the four"))
    rows.append(
        timed(
            "compile()",
            lambda: funnelc.compile([path]),
            args.repeat,
            "funnelc.compile([file]) end to end: read + the four",
        )
    )
    result = funnelc.compile([path])
    if not result.ok or result.project is None:
        fail(result.diagnostics)
    project = result.project
    del result
    facts = Facts(
        pipelines=len(project.pipelines),
        stages=sum(len(p.stages) for p in project.pipelines),
        edges=len(project.edges),
    )
    run_lint, why = lint_runner()
    if run_lint is None:
        rows.append(Row("lint", note=why))
    else:
        with cyclic_gc_paused():
            rows.append(timed("lint", lambda: run_lint(project), args.repeat, why))
    for name in EMITTERS:
        if name == "svg" and args.no_render:
            rows.append(Row(name, note="skipped (--no-render)"))
            continue
        if name == "svg" and shape == "one" and open_stages > SVG_LIMIT and not args.render_all:
            rows.append(Row(name, note=f"skipped (> {SVG_LIMIT} stages in one pipeline)"))
            continue
        run_emit, why = emitter(name)
        if run_emit is None:
            rows.append(Row(name, note=why))
            continue
        note = "incl. the graphviz-pure subprocess; peak excludes it" if name == "svg" else ""
        repeat = args.repeat if name != "svg" else min(args.repeat, args.svg_repeat)
        try:
            rows.append(timed(name, functools.partial(run_emit, project), repeat, note))
        except Exception as error:
            rows.append(Row(name, note=f"failed: {type(error).__name__}: {error}"[:90]))
    return rows, facts


# ---- printing ----------------------------------------------------------------------------------
def thousands(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def print_table(
    title: str, rows: list[Row], open_stages: int, previous: dict[str, tuple[int, float]]
) -> None:
    print(title)
    print(f"  {'pass':<10} {'median ms':>10} {'µs/stage':>9} {'×prev':>6} {'peak MiB':>9}  note")
    for row in rows:
        if row.seconds is None:
            print(f"  {row.name:<10} {'—':>10} {'—':>9} {'—':>6} {'—':>9}  {row.note}")
            continue
        per_stage = row.seconds / open_stages
        ratio = "—"
        if row.name in previous:
            before_stages, before_seconds = previous[row.name]
            before_per_stage = before_seconds / before_stages
            if before_per_stage > 0:
                ratio = f"{per_stage / before_per_stage:.2f}"
        previous[row.name] = (open_stages, row.seconds)
        peak = "—" if row.peak is None else f"{row.peak / 2**20:.1f}"
        print(
            f"  {row.name:<10} {row.seconds * 1e3:>10.1f} {per_stage * 1e6:>9.1f} {ratio:>6} "
            f"{peak:>9}  {row.note}".rstrip()
        )
    print()


# ---- start-up ----------------------------------------------------------------------------------
def clean_env() -> dict[str, str]:
    """The environment for timed subprocesses: without PYTHONDONTWRITEBYTECODE, so cached
    bytecode is used as it is for anyone with an installed wheel."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["NO_COLOR"] = "1"
    return env


def time_interleaved(
    commands: Sequence[list[str]], runs: int, cwd: Path, env: dict[str, str] | None = None
) -> list[float]:
    """Median wall time of each of ``commands`` as fresh processes, run in turn (A B A B …)
    after 3 warm-up rounds, so that a load on the shared machine falls on all of them alike;
    a ratio of two of them is then fair even when the machine is busy."""
    return time_interleaved_with_cpu(commands, runs, cwd, env)[0]


def time_interleaved_with_cpu(
    commands: Sequence[list[str]], runs: int, cwd: Path, env: dict[str, str] | None = None
) -> tuple[list[float], list[float]]:
    """:func:`time_interleaved`, plus the median CPU time (user + system) of each command's
    process: it does not count the time a process waits for a core, so on a loaded machine its
    ratios move less than the wall-time ones."""
    env = env or clean_env()
    times: list[list[float]] = [[] for _ in commands]
    cpu: list[list[float]] = [[] for _ in commands]
    for round_ in range(runs + 3):
        for index, command in enumerate(commands):
            start = time.perf_counter()
            child = subprocess.Popen(
                command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            _pid, status, usage = os.wait4(child.pid, 0)
            elapsed = time.perf_counter() - start
            child.returncode = os.waitstatus_to_exitcode(status)
            if round_ >= 3:
                times[index].append(elapsed)
                cpu[index].append(usage.ru_utime + usage.ru_stime)
    return [statistics.median(t) for t in times], [statistics.median(c) for c in cpu]


def import_times(command: list[str], cwd: Path, runs: int = 5) -> list[tuple[str, int, int]]:
    """``(module, depth, median cumulative µs)`` from ``-X importtime``, heaviest first."""
    samples: dict[tuple[str, int], list[int]] = {}
    for _ in range(runs):
        done = subprocess.run(
            [command[0], "-X", "importtime", *command[1:]],
            cwd=cwd,
            env=clean_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "cumulative" in line:
                continue
            _, cumulative, name = (part for part in line[len("import time:") :].split("|"))
            depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
            samples.setdefault((name.strip(), depth), []).append(int(cumulative))
    medians = [(name, depth, int(statistics.median(v))) for (name, depth), v in samples.items()]
    return sorted(medians, key=lambda item: -item[2])


PHASES_CODE = """
import gc, json, sys, time
gc.disable()  # as the console entry point runs
marks = [("start", time.perf_counter())]
import typer, lark, networkx
marks.append(("import typer, lark, networkx (the floor)", time.perf_counter()))
import funnelc.cli
marks.append(("import funnelc.cli", time.perf_counter()))
import funnelc.compiler, funnelc.lint.engine, funnelc.lint.rules
from funnelc.session import Session
marks.append(("import the compiler and the lint rules", time.perf_counter()))
session = Session(persist=True)
result = funnelc.compiler.compile([sys.argv[1]], lint=False, session=session)
marks.append(("compile: read, parse, lower, resolve, validate", time.perf_counter()))
funnelc.lint.engine.lint(result.project, names=session.names)
marks.append(("lint: the rules (stage-name verdicts from the warm cache)", time.perf_counter()))
from funnelc.lint.names import _analyzer
_analyzer()
marks.append(("(not in a warm check) pymorphy3 MorphAnalyzer(): a cold cache", time.perf_counter()))
print(json.dumps([(b[0], b[1] - a[1]) for a, b in zip(marks, marks[1:])]))
"""


def phases(python: str, examples: Path, runs: int = 7) -> list[tuple[str, float]]:
    """Where a check's time goes, measured inside fresh processes (median per phase); empty if
    the probe fails, e.g. because an internal name it uses has changed."""
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        done = subprocess.run(
            [python, "-c", PHASES_CODE, str(examples)],
            cwd=ROOT,
            env=clean_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return []
        for name, seconds in json.loads(done.stdout):
            samples.setdefault(name, []).append(seconds)
    return [(name, statistics.median(values)) for name, values in samples.items()]


def check_command(bin_dir: Path) -> list[str]:
    """``python <bin>/funnelc``: the installed console script, run by that venv's python so
    it matches the import floor's interpreter exactly."""
    python = bin_dir / "python"
    script = bin_dir / "funnelc"
    if script.is_file():
        return [str(python), str(script)]
    return [str(python), "-m", "funnelc"]


def examples_dir(requested: Path, scratch: Path) -> tuple[Path, str]:
    if any(requested.rglob("*.funnel")):
        with contextlib.suppress(ValueError):
            return requested, requested.resolve().relative_to(ROOT).as_posix()
        return requested, requested.as_posix()
    fallback = scratch / "examples"
    fallback.mkdir(exist_ok=True)
    (fallback / "generated.funnel").write_text(generate(50, "one"), encoding="utf-8")
    return fallback, f"{fallback} (examples/ has no .funnel files yet: a generated 50-stage file)"


def startup(args: argparse.Namespace, scratch: Path) -> None:
    print("== start-up: a cold `funnelc check` process vs. the import floor ==")
    print(f"  {load_average()} at the start")
    examples, shown = examples_dir(args.examples, scratch)
    bin_dir = Path(sys.executable).parent
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "funnelc", "targets"],
        cwd=ROOT,
        check=True,
    )
    print(
        "  funnelc/ and targets/ were byte-compiled (python -m compileall) and the processes run "
        "without PYTHONDONTWRITEBYTECODE, so .pyc files are used as with an installed wheel."
    )
    print(f"  input: {shown}")
    report_startup("dev venv (editable install)", bin_dir, examples, args.startup_runs)
    if args.installed:
        installed_bin = install_wheel(scratch)
        report_startup("fresh venv, wheel installed", installed_bin, examples, args.startup_runs)


def report_startup(label: str, bin_dir: Path, examples: Path, runs: int) -> None:
    python = str(bin_dir / "python")
    check = [*check_command(bin_dir), "check", str(examples)]
    probe = subprocess.run(check, cwd=ROOT, env=clean_env(), capture_output=True, check=False)
    if probe.returncode != 0:
        print(
            f"  warning: `funnelc check` exited {probe.returncode}; the figure is not a clean run"
        )
        print("  " + probe.stderr.decode("utf-8", "replace").strip()[:400].replace("\n", "\n  "))
    (floor, cold), (floor_cpu, cold_cpu) = time_interleaved_with_cpu(
        [[python, "-c", FLOOR_CODE], check], runs, ROOT
    )
    ratio = cold / floor
    verdict = "OK" if ratio <= STARTUP_TARGET_RATIO else "OVER TARGET"
    budget = STARTUP_TARGET_RATIO * floor - cold
    print(f"  [{label}] {runs} interleaved runs each, medians; interpreter {python}")
    print(f"    python -c {FLOOR_CODE!r:<34} {floor * 1e3:8.1f} ms  (import floor)")
    print(f"    funnelc check {examples.name + '/':<36} {cold * 1e3:8.1f} ms")
    print(f"    ratio {ratio:.2f}× (target ≤ {STARTUP_TARGET_RATIO}×): {verdict}")
    print(
        f"    remaining budget: {budget * 1e3:+.1f} ms ({budget / floor * 100:+.1f} % of the "
        f"floor) before a cold check reaches {STARTUP_TARGET_RATIO}× the floor"
    )
    print(
        f"    in CPU time (user + system, medians): floor {floor_cpu * 1e3:.1f} ms, check "
        f"{cold_cpu * 1e3:.1f} ms, ratio {cold_cpu / floor_cpu:.2f}× (waiting for a core does "
        "not count: steadier than wall time on a loaded machine)"
    )
    breakdown = phases(python, examples)
    if breakdown:
        print(
            "    where the time goes (medians of 7 fresh processes, measured inside them, "
            "interpreter start excluded):"
        )
        for name, seconds in breakdown:
            print(f"      {seconds * 1e3:8.1f} ms  {name}")
    heaviest = import_times(check, ROOT)
    total = sum(us for _, depth, us in heaviest if depth == 0)
    print(
        "    heaviest imports of `funnelc check` "
        f"(-X importtime, top-level total {total / 1e3:.1f} ms)"
    )
    print(f"      {'cumulative ms':>13}  module (indent = depth in the import tree)")
    for name, depth, us in heaviest[:10]:
        print(f"      {us / 1e3:>13.1f}  {'  ' * depth}{name}")
    print()


def noop_rebuild(args: argparse.Namespace, scratch: Path) -> None:
    """A no-op ``funnelc build`` (nothing changed since the last build) against ``funnelc
    check`` of the same input, fresh processes run alternately, so that a change in the load of
    the machine hits both; medians of each."""
    print("== no-op rebuild: `funnelc build` with nothing changed vs. `funnelc check` ==")
    print(f"  {load_average()} at the start")
    examples, shown = examples_dir(args.examples, scratch)
    bin_dir = Path(sys.executable).parent
    out = scratch / "rebuild-out"
    check = [*check_command(bin_dir), "check", str(examples)]
    rebuild = [*check_command(bin_dir), "build", str(examples), "--out", str(out)]
    first = subprocess.run(rebuild, cwd=ROOT, env=clean_env(), capture_output=True, check=False)
    if first.returncode != 0:
        print(f"  warning: the first `funnelc build` exited {first.returncode}; skipped")
        print("  " + first.stderr.decode("utf-8", "replace").strip()[:400].replace("\n", "\n  "))
        print()
        return
    times: dict[str, list[float]] = {"check": [], "rebuild": []}
    for index in range(3 + args.rebuild_runs):
        for name, command in (("check", check), ("rebuild", rebuild))[:: 1 - 2 * (index % 2)]:
            start = time.perf_counter()
            subprocess.run(command, cwd=ROOT, env=clean_env(), capture_output=True, check=False)
            if index >= 3:  # the first rounds warm the caches
                times[name].append(time.perf_counter() - start)
    done = subprocess.run(rebuild, cwd=ROOT, env=clean_env(), capture_output=True, check=False)
    summary = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
    checked, rebuilt = (statistics.median(times[k]) for k in ("check", "rebuild"))
    ratio = rebuilt / checked
    verdict = "OK" if ratio <= REBUILD_TARGET_RATIO else "OVER TARGET"
    print(f"  input: {shown}; targets: the config's or json, dot, svg; out: a scratch directory")
    print(f"  {args.rebuild_runs} runs each, interleaved (alternating order), median")
    print(f"    {'funnelc check ' + examples.name + '/':<40} {checked * 1e3:8.1f} ms")
    label = f"funnelc build {examples.name}/ --out … (no-op)"
    print(f"    {label:<40} {rebuilt * 1e3:8.1f} ms")
    if summary:
        print(f"      ({summary[0]})")
    print(f"    ratio {ratio:.2f}× (target ≤ {REBUILD_TARGET_RATIO}×): {verdict}")
    print()


CLI_SIZES = (1_000, 10_000)


def load_average() -> str:
    """The machine's load averages (1, 5, 15 min): how busy the shared machine was, since a
    wall time means little without it (2 cores: a load above 2 means waiting for a core)."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load average: n/a"
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def cli_check(args: argparse.Namespace, scratch: Path) -> None:
    """`funnelc check FILE` as a user runs it, for one pipeline of 1 000 and 10 000 stages with
    distinct, realistic names: a fresh process each run, the stage-name cache warm (one run
    before the timed ones fills it, in a cache directory of the benchmark's own)."""
    print("== `funnelc check` of one big pipeline (fresh processes, warm stage-name cache) ==")
    print(f"  {load_average()} at the start")
    bin_dir = Path(sys.executable).parent
    env = {**clean_env(), "FUNNELC_CACHE_DIR": str(scratch / "name-cache")}
    env.pop("FUNNELC_NO_CACHE", None)
    measured: dict[int, float] = {}
    measured_cpu: dict[int, float] = {}
    for size in CLI_SIZES:
        path = scratch / f"cli-{size}.funnel"
        path.write_text(generate(size, "one"), encoding="utf-8", newline="\n")
        command = [*check_command(bin_dir), "check", str(path)]
        first = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False)
        warnings = first.stderr.count(b"\nwarning[") + first.stderr.startswith(b"warning[")
        cpu: list[float] = []
        for _ in range(args.cli_runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        (seconds,) = time_interleaved([command], args.cli_runs, ROOT, env)
        measured[size] = seconds
        cpu_median = statistics.median(cpu)
        measured_cpu[size] = cpu_median
        print(
            f"  {thousands(size):>6} stages: {seconds:6.2f} s wall, {cpu_median:6.2f} s "
            f"CPU (medians of {args.cli_runs}; exit {first.returncode}, "
            f"{thousands(warnings)} warnings printed)"
        )
    if len(measured) == 2:
        small, big = CLI_SIZES
        growth = measured[big] / measured[small]
        per_stage = growth / (big / small)
        verdict = "OK" if measured[big] < CHECK_TARGET_S else "OVER TARGET"
        print(
            f"  growth {thousands(small)} → {thousands(big)}: ×{growth:.1f} "
            f"(×{per_stage:.2f} per stage; 1.00 = linear); "
            f"{thousands(big)} stages in {measured[big]:.2f} s (target < {CHECK_TARGET_S:.0f} s): "
            f"{verdict}"
        )
        cpu_growth = measured_cpu[big] / measured_cpu[small]
        cpu_verdict = "OK" if measured_cpu[big] < CHECK_TARGET_S else "OVER TARGET"
        print(
            f"  in CPU time: ×{cpu_growth:.1f} (×{cpu_growth / (big / small):.2f} per stage); "
            f"{thousands(big)} stages in {measured_cpu[big]:.2f} s CPU: {cpu_verdict}"
        )
    print(f"  {load_average()} at the end")
    print()


def install_wheel(scratch: Path) -> Path:
    """Build the wheel and install it, with its dependencies from the registry, into a fresh
    venv; returns that venv's bin directory."""
    dist = scratch / "dist"
    print("  building the wheel (python -m build -w) …", flush=True)
    built = subprocess.run(
        [sys.executable, "-m", "build", "-w", "-o", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        sys.stderr.write(built.stdout[-2000:] + built.stderr[-2000:])
        raise SystemExit("python -m build failed")
    wheel = next(dist.glob("funnelc-*.whl"))
    venv = scratch / "venv"
    print(f"  installing {wheel.name} into a fresh venv …", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        env=clean_env(),  # so pip writes .pyc files, as it does for every user
        capture_output=True,
        text=True,
        check=False,
    )
    if installed.returncode != 0:
        sys.stderr.write(installed.stdout + installed.stderr)
        raise SystemExit("pip install of the wheel failed")
    return venv / "bin"


# ---- main --------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser_ = argparse.ArgumentParser(description="Benchmarks of funnelc (see bench/README.md).")
    parser_.add_argument(
        "--sizes", default="10,100,1000,10000", help="open stages, comma-separated"
    )
    parser_.add_argument("--shapes", default=",".join(SHAPES), help="one, many or both")
    parser_.add_argument("--repeat", type=int, default=5, help="timed runs per figure (median)")
    parser_.add_argument("--no-render", action="store_true", help="skip the svg target")
    parser_.add_argument(
        "--render-all", action="store_true", help=f"render svg above {SVG_LIMIT} stages too"
    )
    parser_.add_argument(
        "--svg-repeat", type=int, default=3, help="timed runs for svg (each run is slow)"
    )
    parser_.add_argument("--no-startup", action="store_true", help="skip the start-up figures")
    parser_.add_argument("--startup-runs", type=int, default=20, help="processes per command")
    parser_.add_argument(
        "--installed", action="store_true", help="also time a wheel installed in a fresh venv"
    )
    parser_.add_argument("--no-rebuild", action="store_true", help="skip the no-op rebuild figure")
    parser_.add_argument("--rebuild-runs", type=int, default=15, help="processes per command")
    parser_.add_argument("--examples", type=Path, default=ROOT / "examples")
    parser_.add_argument(
        "--no-cli-check", action="store_true", help="skip `funnelc check` of 1 000/10 000 stages"
    )
    parser_.add_argument("--cli-runs", type=int, default=5, help="runs of each `funnelc check`")
    parser_.add_argument(
        "--only-startup", action="store_true", help="only the start-up and CLI check figures"
    )
    args = parser_.parse_args(argv)
    args.size_list = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    args.shape_list = [s.strip() for s in args.shapes.split(",") if s.strip()]
    unknown = set(args.shape_list) - set(SHAPES)
    if unknown or args.repeat < 1 or args.startup_runs < 1 or args.rebuild_runs < 1:
        parser_.error(f"bad --shapes {sorted(unknown)} or counts")
    return args


@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="funnelc-bench-") as name:
        yield Path(name)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    os.chdir(ROOT)
    print(
        f"funnelc benchmarks · Python {sys.version.split()[0]} · {os.cpu_count()} CPUs · "
        f"median of {args.repeat} runs · peak = tracemalloc peak in a separate run"
    )
    print("×prev = µs/stage at this size ÷ µs/stage at the previous size (1.00 = linear growth)")
    print(f"{load_average()} at the start")
    print()
    parser()  # load (or build) the parser once, outside every timing
    funnelc.compile_text(generate(10, "one"))  # first-call costs (lazy imports), not timed
    checked: dict[str, tuple[float, float]] = {}
    with scratch_dir() as scratch:
        for shape in [] if args.only_startup else args.shape_list:
            previous: dict[str, tuple[int, float]] = {}
            for size in args.size_list:
                if shape == "many" and size < 2 * PER_PIPELINE:
                    continue  # a single pipeline: the same as shape "one"
                text = generate(size, shape)
                path = scratch / f"{shape}-{size}.funnel"
                path.write_text(text, encoding="utf-8", newline="\n")
                rows, facts = measure(path, shape, size, args)
                title = (
                    f"== {thousands(size)} open stages · shape {shape}: "
                    f"{thousands(facts.pipelines)} pipeline(s), {thousands(facts.stages)} "
                    f"stages with outcomes, {thousands(facts.edges)} edges, "
                    f"{thousands(text.count(chr(10)))} lines, {len(text.encode()) / 1024:.0f} KiB"
                )
                print_table(title, rows, size, previous)
                if size == CHECK_TARGET_STAGES:
                    by_name = {row.name: row.seconds or 0.0 for row in rows}
                    checked[shape] = (by_name["= check"], by_name["compile()"])
        for shape, (passes, end_to_end) in checked.items():
            verdict = "OK" if max(passes, end_to_end) < CHECK_TARGET_S else "OVER TARGET"
            print(
                f"{thousands(CHECK_TARGET_STAGES)} stages checked (parse+lower+resolve+validate) "
                f"in {end_to_end:.2f} s end to end, {passes:.2f} s as the sum of the passes "
                f"(target < {CHECK_TARGET_S:.0f} s), shape {shape}: {verdict}"
            )
        if checked:
            print()
        if not args.no_cli_check:
            cli_check(args, scratch)
        if not args.no_startup:
            startup(args, scratch)
        if not args.no_rebuild:
            noop_rebuild(args, scratch)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
