"""A seeded mutation fuzzer for .funnel files (used by ``tests/test_fuzz.py`` and by hand).

Seeds are the examples, the built-in sample and every case under ``tests/errors``.  A mutant is
one seed with 1–4 edits: characters or whole tokens deleted, hostile tokens inserted, slices
duplicated or swapped, the text truncated, a string's content replaced with hostile text (so
that the file still parses and reaches lint and the targets), a line duplicated (a duplicate
definition), a number changed.  Everything is drawn from ``random.Random(seed)``, so a failure
is reproduced by its seed alone: ``python -m tests.fuzzing SEED`` prints the mutant.
"""

from __future__ import annotations

import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HOSTILE_TOKENS = [
    "{", "}", "{{", "}}", "(", ")", ",", ".", "->", "→", ":", ";", "=", "#", "%", "@", '"', '"""',
    '""', "'", "«", "»", "“", "\\", "\\u", "\\0", "\\u0000", "\\u202e", "\\U0010FFFF", "\\q",
    "stage", "won", "lost", "deal", "lead", "pipeline", "import", "reason", "field", "key",
    "timeout", "revive", "after", "next", "reasons", "requires", "sla", "probability", "gaol",
    "2h", "30min", "0d", "1.5d", "1,5d", "99999999999999999999d", "101%", "-5%", "30%", "7",
    "a", "_", "x.y", "x.y.z", "Этап", "ёжик", "😀", "👩\u200d💼", "日本", "e\u0301",
    "\t", "\n", "\r\n", "\r", "\x00", "\x07", "\x0c", "\x1b[31m", "\x7f", "\x85", "\x9b",
    "\ufeff", "\u200b", "\u2028", "\u202e", "\u2066", "\ud7ff", "\uffff", " ",
]  # fmt: skip
"""Tokens of the language and the usual ways to get them wrong, hostile characters included."""

HOSTILE_TEXTS = [
    "x\\n\\n- [ ] Give admin rights to everyone",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "`code` *em* _u_ | cell | ~~s~~",
    "{{&fields[SEMANTICS]=S&x=}}",
    "$result[find_new][0][ID]",
    "a&b=c?d#e%20f+g",
    "Встреча состоялась «да» — “ок”",
    "🚀 👩‍👩‍👧 👍🏽 ёлка",
    "\\\\server\\share",
    "   ",
    "",
    "Ж" * 300,
    "x" * 2000,
    '\\u0416\\t\\"',
    "\u202eevil",
    "NUL\\0here",
    "# not a comment",
    'quote \\" inside',
]
"""Contents put inside a string, so the file still parses and reaches lint and the targets."""

_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|\w+%?|->|\S')
_NUMBER = re.compile(r"\b[0-9]+(?=min|bd|h|d|w|%)")


def seeds() -> list[dict[str, str]]:
    """Sets of files compiled together; each set's keys resolve its imports."""
    from tests.test_robustness import BUILTIN

    sets: list[dict[str, str]] = [{"sample.funnel": BUILTIN}]
    examples = ROOT / "examples"
    files = sorted(examples.rglob("*.funnel"))
    if files:
        sets.append({p.relative_to(examples).as_posix(): _read(p) for p in files})
    for folder in sorted((ROOT / "tests" / "fixtures").iterdir()):
        for path in sorted(folder.glob("*.funnel")) if folder.is_dir() else []:
            sets.append({"fixture.funnel": _read(path)})
    for path in sorted((ROOT / "tests" / "errors").glob("*.funnel")):
        sets.append({"case.funnel": _read(path)})
    return sets


def valid(pool: list[dict[str, str]]) -> list[dict[str, str]]:
    """The sets that compile: mutants of them mostly still parse and reach lint and targets."""
    import funnelc

    return [files for files in pool if funnelc.compile_texts(files).ok]


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


@dataclass(frozen=True)
class Mutant:
    seed: int
    files: dict[str, str]
    key: str
    """The file that was mutated."""

    @property
    def size(self) -> int:
        return sum(len(t) for t in self.files.values())


def _edit(rng: random.Random, text: str, gentle: bool = False) -> str:
    n = len(text)
    a = rng.randint(0, n)
    b = rng.randint(a, min(n, a + 80))
    operation = rng.choice(
        ["string", "string", "string", "line", "number", "delete_token"]
        if gentle
        else ["delete", "delete_token", "insert", "insert", "duplicate", "swap", "truncate",
              "string", "line", "number"]
    )  # fmt: skip
    if operation == "delete":
        return text[:a] + text[b:]
    if operation == "delete_token":
        tokens = list(_TOKEN.finditer(text))
        if tokens:
            t = rng.choice(tokens)
            return text[: t.start()] + text[t.end() :]
    if operation == "insert":
        return text[:a] + rng.choice(HOSTILE_TOKENS) + text[a:]
    if operation == "duplicate":
        return text[:b] + text[a:b] * rng.randint(1, 3) + text[b:]
    if operation == "swap":
        c = rng.randint(b, n)
        d = rng.randint(c, min(n, c + 80))
        return text[:a] + text[c:d] + text[b:c] + text[a:b] + text[d:]
    if operation == "truncate":
        return text[:a]
    if operation == "string":
        strings = list(_STRING.finditer(text))
        if strings:
            s = rng.choice(strings)
            return text[: s.start()] + f'"{rng.choice(HOSTILE_TEXTS)}"' + text[s.end() :]
    if operation == "line":
        lines = text.splitlines(keepends=True)
        if lines:
            i = rng.randrange(len(lines))
            return "".join([*lines[: i + 1], lines[i], *lines[i + 1 :]])
    if operation == "number":
        numbers = list(_NUMBER.finditer(text))
        if numbers:
            m = rng.choice(numbers)
            value = rng.choice(["0", "1", "100", "101", "999999", "00", "7"])
            return text[: m.start()] + value + text[m.end() :]
    return text


def mutant(seed: int, pool: list[dict[str, str]], good: list[dict[str, str]]) -> Mutant:
    """Mutant number ``seed``: most often a valid set with 1–2 edits that tend to keep it
    parsing (hostile string contents, duplicated lines, numbers), else any seed with 1–4
    edits of any kind."""
    rng = random.Random(seed)
    gentle = bool(good) and rng.random() < 0.6
    files = dict(rng.choice(good if gentle else pool))
    key = rng.choice(sorted(files))
    text = files[key]
    for _ in range(rng.randint(1, 2) if gentle else rng.randint(1, 4)):
        text = _edit(rng, text, gentle)
    files[key] = text
    return Mutant(seed, files, key)


if __name__ == "__main__":
    everything = seeds()
    m = mutant(int(sys.argv[1]), everything, valid(everything))
    sys.stdout.write(m.files[m.key])
