"""Completion: keywords that may stand where the cursor is, stage ids after ``->`` and in
``revive``/``timeout``/``then``/``next``, field ids after ``requires``, loss reason ids after
``reasons``, durations and their units after ``sla``/``after``.

The context comes from the text before the cursor (the file is usually broken while it is
typed, so no parse is needed): a small scanner that skips strings and comments and keeps the
stack of open blocks, and the id of the pipeline the cursor is in.  The ids come from the
last build's index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from funnelc.lsp.analysis import Build, closure, import_target
from funnelc.model import DurationUnit, StageKind

KEYWORDS: dict[str, tuple[str, ...]] = {
    "top": ("import", "field", "reason", "pipeline"),
    "pipeline": (
        "segment",
        "language",
        "field",
        "reason",
        "lead",
        "deal",
        "timeout",
        "revive",
    ),
    "lead": ("definition", "accept", "stage", "lost"),
    "deal": ("stage", "won", "lost"),
    "stage": ("goal", "exit", "requires", "sla", "probability", "task", "color", "timeout", "then"),
    "won": ("goal", "next", "color"),
    "lost": ("goal", "next", "reasons", "color"),
}
"""The statements each block may hold (the grammar's ``_pipeline_item``, ``_lead_item``…)."""

ALL_KEYWORDS = frozenset(k for words in KEYWORDS.values() for k in words) | {"key", "after"}

_TOKEN = re.compile(
    r'(?P<long>"""(?:[^"\\]|\\.|"(?!""))*(?:"""|$))'
    r'|(?P<string>"(?:[^"\\\n]|\\.)*"?)'
    r"|(?P<comment>#[^\n]*)"
    r"|(?P<open>\{)|(?P<close>\})"
    r"|(?P<id>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<arrow>->)"
    r"|(?P<other>\S)",
    re.DOTALL,
)

DURATIONS = ("15min", "2h", "1d", "3bd", "1w", "30d")
UNITS = tuple(u.value for u in DurationUnit)


@dataclass(frozen=True, slots=True)
class Item:
    label: str
    kind: str
    """``keyword``, ``stage``, ``field``, ``reason``, ``pipeline``, ``duration`` or ``unit``."""
    detail: str = ""
    insert: str | None = None


@dataclass(frozen=True, slots=True)
class Context:
    block: str
    """The innermost open block: ``top``, ``pipeline``, ``lead``, ``deal``, ``stage``, …"""
    pipeline: str | None
    statement: tuple[str, ...]
    """The words of the current statement before the cursor (strings as ``"``)."""
    in_string_or_comment: bool = False


def context(text: str, offset: int) -> Context:
    """The block and statement the cursor at ``offset`` is in."""
    stack: list[tuple[str, str | None]] = [("top", None)]
    statement: list[str] = []
    inside = False
    for m in _TOKEN.finditer(text, 0, offset):
        kind = m.lastgroup
        if m.end() >= offset and kind in ("long", "string", "comment"):
            closed = kind == "comment" or (len(m.group()) > 1 and m.group().endswith('"'))
            if kind == "comment" or not closed or m.end() > offset:
                inside = True
                break
        if kind == "comment":
            continue
        if kind == "open":
            head = statement[0] if statement else ""
            block = head if head in KEYWORDS and head != "top" else "body"
            if head == "pipeline" and len(statement) > 1:
                stack.append(("pipeline", statement[1]))
            else:
                stack.append((block, stack[-1][1]))
            statement = []
        elif kind == "close":
            if len(stack) > 1:
                stack.pop()
            statement = []
        elif kind in ("long", "string"):
            statement.append('"')
        elif kind == "id":
            word = m.group()
            if m.end() == offset:
                break  # the word being typed
            block = stack[-1][0]
            if word in KEYWORDS.get(block, ()) and _starts_statement(statement, block):
                statement = [word]
            elif not statement and block in ("pipeline",) and word not in ALL_KEYWORDS:
                statement = [word]  # an edge: `a -> b`
            else:
                statement.append(word)
        else:
            statement.append(m.group())
    block, pipeline = stack[-1]
    return Context(block, pipeline, tuple(statement), inside)


def _starts_statement(statement: list[str], block: str) -> bool:
    """Whether a keyword of ``block`` starts a new statement here (the previous statement
    is complete enough: every statement of the language ends with an id, a string, a
    duration, a percentage or a closing parenthesis)."""
    if not statement:
        return True
    last = statement[-1]
    return last not in ("->", ",", ".", "(", "requires", "reasons", "then", "next", "revive")


def complete(build: Build | None, path: str, text: str, offset: int) -> list[Item]:
    """The completion items at ``offset``."""
    ctx = context(text, offset)
    if ctx.in_string_or_comment:
        return []
    line_start = text.rfind("\n", 0, offset) + 1
    before = text[line_start:offset]
    words = ctx.statement
    head = words[0] if words else ""
    last = words[-1] if words else ""
    if re.search(r"\b(sla|after)\s+\d+[a-z]*$", before):
        digits = re.search(r"(\d+)[a-z]*$", before)
        assert digits is not None
        return [Item(digits.group(1) + u, "unit", u) for u in UNITS]
    if re.search(r"\b(sla|after)\s+$", before):
        return [Item(d, "duration") for d in DURATIONS]
    if (
        last == "->"
        or (head in ("then", "next") and len(words) == 1)
        or (head == "revive" and len(words) == 1)
    ):
        qualified = (head == "revive" and last == "->") or head == "next"
        return _stages(
            build, ctx, lost_first=head == "revive" and last != "->", qualified=qualified
        )
    if last == "." and len(words) >= 2:
        return _stages_of(build, words[-2])
    if head == "requires" and (last in ("requires", ",")):
        return _declared(build, path, ctx, "field")
    if head == "reasons" and (last in ("reasons", ",")):
        return _declared(build, path, ctx, "reason")
    if ctx.block == "body":
        return []
    keywords = KEYWORDS.get(ctx.block, ())
    items = [Item(k, "keyword") for k in keywords]
    if ctx.block == "pipeline":
        items.extend(_stages(build, ctx))  # an edge starts with a stage id
    return items


def _stages(
    build: Build | None, ctx: Context, *, lost_first: bool = False, qualified: bool = False
) -> list[Item]:
    if build is None or ctx.pipeline is None:
        return []
    items: list[Item] = []
    for key, declared in build.index.declared.items():
        if key[0] != "stage" or key[1] != ctx.pipeline:
            continue
        stage = declared.entity
        detail = getattr(getattr(stage, "name", None), "value", "")
        if lost_first and getattr(stage, "kind", None) is not StageKind.LOST:
            continue
        items.append(Item(key[2], "stage", detail))
    if qualified:
        for key, declared in build.index.declared.items():
            if key[0] == "pipeline" and key[1] != ctx.pipeline:
                name = getattr(getattr(declared.entity, "name", None), "value", "")
                items.append(Item(key[1], "pipeline", name))
    return items


def _stages_of(build: Build | None, pipeline: str) -> list[Item]:
    if build is None:
        return []
    return [
        Item(key[2], "stage", getattr(getattr(d.entity, "name", None), "value", ""))
        for key, d in build.index.declared.items()
        if key[0] == "stage" and key[1] == pipeline
    ]


def _declared(build: Build | None, path: str, ctx: Context, kind: str) -> list[Item]:
    """The fields (or reasons) visible in the pipeline the cursor is in."""
    if build is None:
        return []
    imports = {
        m.path: tuple(import_target(m.path, i.path.value) for i in m.imports) for m in build.modules
    }
    visible = set(closure(path, imports))
    items: dict[str, Item] = {}
    for key, declared in build.index.declared.items():
        if key[0] != kind:
            continue
        _, where, pipeline, ident = key
        if (pipeline == "" and where in visible) or (where == path and pipeline == ctx.pipeline):
            name = getattr(getattr(declared.entity, "name", None), "value", "")
            items.setdefault(ident, Item(ident, kind, name))
    return list(items.values())
