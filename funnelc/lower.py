"""Pass 2, lower: Lark tree → immutable :class:`~funnelc.model.Module`, plus diagnostics.

This is the only module that touches Lark trees.  It decodes strings, reads durations,
percentages and colours, checks the values that need no context (a zero duration, a
probability over 100 %, an unknown field type, an attribute given twice) and records a span
for every node.  Names are not looked up here; that is ``resolve``'s job.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from collections.abc import Callable
from dataclasses import replace

from lark import Token, Tree

from funnelc import codes
from funnelc.diagnostics import Diagnostic, Label, did_you_mean, suggest, suggestion
from funnelc.i18n import LANGUAGES, N_, _
from funnelc.model import (
    FIELD_TYPES,
    Duration,
    DurationUnit,
    ExplicitEdge,
    Field,
    FieldType,
    Ident,
    Import,
    LeadPhase,
    LossReason,
    Module,
    Phase,
    Pipeline,
    Ref,
    Revive,
    Stage,
    StageKind,
    Text,
)
from funnelc.parse import ParseResult
from funnelc.source import SourceFile, Span

_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "0": "\0"}
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|[uU][0-9A-Fa-f]*|.)", re.S)
_FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""Characters no string may contain, written or escaped: the C0 controls but tab and line
feed, DEL, the C1 controls, and the bidirectional embeddings, overrides and isolates, which
make text look other than it is (in a CRM, a Markdown checklist, a diagram)."""
_DURATION = re.compile(r"([0-9]+)(min|bd|h|d|w)")
_HEX_COLOUR = re.compile(r"#([0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})")

NAMED_COLOURS: dict[str, str] = {
    "black": "#000000",
    "white": "#ffffff",
    "gray": "#808080",
    "grey": "#808080",
    "silver": "#c0c0c0",
    "red": "#ff0000",
    "maroon": "#800000",
    "orange": "#ffa500",
    "yellow": "#ffff00",
    "olive": "#808000",
    "lime": "#00ff00",
    "green": "#008000",
    "teal": "#008080",
    "aqua": "#00ffff",
    "cyan": "#00ffff",
    "blue": "#0000ff",
    "navy": "#000080",
    "purple": "#800080",
    "fuchsia": "#ff00ff",
    "magenta": "#ff00ff",
    "pink": "#ffc0cb",
    "brown": "#a52a2a",
}
"""Colour names accepted besides hex codes (the CSS basic palette plus a few common ones)."""

_UNITS = {u.value: u for u in DurationUnit}
_MINUTES_PER = {
    DurationUnit.MINUTES: 1,
    DurationUnit.HOURS: 60,
    DurationUnit.DAYS: 24 * 60,
    DurationUnit.WEEKS: 7 * 24 * 60,
    DurationUnit.BUSINESS_DAYS: 24 * 60,
}
_MAX_MINUTES = 10 * 366 * 24 * 60  # ten years

_TYPE_ALIASES = {
    "string": "text",
    "str": "text",
    "integer": "number",
    "int": "number",
    "float": "number",
    "decimal": "number",
    "numeric": "number",
    "currency": "money",
    "price": "money",
    "boolean": "bool",
    "checkbox": "bool",
    "select": "choice",
    "enum": "choice",
    "list": "choice",
    "multiselect": "multichoice",
    "timestamp": "datetime",
    "link": "url",
    "tel": "phone",
}
"""Type names people bring from other tools, and the funnelc type they mean."""


class _Lowerer:
    # A plain class, not a dataclass: making one costs a third of a millisecond at import,
    # which every `funnelc check` pays (see bench/run.py's start-up figure).
    __slots__ = ("diagnostics", "source")

    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.diagnostics: list[Diagnostic] = []

    # ---- leaves ----------------------------------------------------------------------------
    def span(self, node: Tree[Token] | Token) -> Span:
        if isinstance(node, Token):
            start = node.start_pos or 0
            end = node.end_pos if node.end_pos is not None else start
            return self.source.span(start, end)
        meta = node.meta
        if meta.empty:
            return self.source.span(0, 0)
        return self.source.span(meta.start_pos, meta.end_pos)

    def ident(self, token: Token) -> Ident:
        return Ident(str(token), self.span(token))

    def ref(self, node: Tree[Token] | Token) -> Ref:
        if isinstance(node, Token):
            return Ref(str(node), self.span(node))
        parts = [str(t) for t in node.children if isinstance(t, Token)]
        if len(parts) == 2:
            return Ref(parts[1], self.span(node), pipeline=parts[0])
        return Ref(parts[0], self.span(node))

    def text(self, node: Tree[Token] | Token, blank: str | Callable[[], str] | None = None) -> Text:
        """The decoded value of a string.  ``blank`` names what the string is (``the name of
        stage `a```) when it must not be blank: a blank one is then reported (F006).  It may be
        a function, called only then (a message made for every stage costs a check time)."""
        token = node if isinstance(node, Token) else node.children[0]
        assert isinstance(token, Token)
        raw = str(token)
        base = token.start_pos or 0
        if token.type == "LONG_STRING":
            # Dedent the text as written, then decode escapes, so that an escaped tab or
            # newline is content and not indentation to strip.
            body = raw[3:-3]
            self.check_escapes(body, base + 3, long=True)
            value = _unescape(_dedent_block(body))
        else:
            body = raw[1:-1]
            self.check_escapes(body, base + 1, long=False)
            value = _unescape(body)
        span = self.span(token)
        if blank is not None:
            self.check_blank(value, span, blank)
        return Text(value, span)

    def check_blank(self, value: str, span: Span, what: str | Callable[[], str]) -> None:
        if not value.strip():
            named = what if isinstance(what, str) else what()
            self.diagnostics.append(codes.make("F006", span, what=named))

    def check_escapes(self, body: str, base: int, *, long: bool) -> None:
        """Report every escape sequence the language does not have (F004), and the first
        control or bidirectional character of the string, written or escaped (F005)."""
        bad = _FORBIDDEN.search(body)
        while bad and long and bad.group(0) == "\r" and body.startswith("\n", bad.end()):
            bad = _FORBIDDEN.search(body, bad.end())  # a CRLF line end of a multi-line string
        first = (bad.start(), bad.end(), bad.group(0)) if bad else None
        if "\\" in body:
            for match in _ESCAPE.finditer(body):
                decoded = _decode_escape(match.group(1))
                if decoded is None:
                    start = base + match.start()
                    self.diagnostics.append(
                        codes.make(
                            "F004",
                            self.source.span(start, start + len(match.group(0))),
                            escape=match.group(0),
                        )
                    )
                    continue
                hidden = _FORBIDDEN.search(decoded)
                if hidden and (first is None or match.start() < first[0]):
                    first = (match.start(), match.end(), hidden.group(0))
        if first is not None:
            start, end, char = first
            self.diagnostics.append(
                codes.make(
                    "F005", self.source.span(base + start, base + end), char=_describe_char(char)
                )
            )

    def duration(self, token: Token) -> Duration:
        match = _DURATION.fullmatch(str(token))
        assert match is not None, token
        digits, unit = match.group(1), _UNITS[match.group(2)]
        span = self.span(token)
        # Anything over ten years is a typo, and huge numbers would reach every output.
        if len(digits) > 6 or int(digits) * _MINUTES_PER[unit] > _MAX_MINUTES:
            shown = str(token) if len(str(token)) <= 20 else str(token)[:17] + "…"
            self.diagnostics.append(codes.make("F404", span, value=shown))
            return Duration(1, unit, span)
        value = int(digits)
        if value == 0:
            self.diagnostics.append(codes.make("F402", span))
        return Duration(value, unit, span)

    def probability(self, token: Token) -> int:
        text = str(token).rstrip("%")
        if len(text.lstrip("-")) > 3:
            shown = text if len(text) <= 12 else text[:9] + "…"
            self.diagnostics.append(codes.make("F401", self.span(token), value=shown))
            return 0
        value = int(text)
        if not 0 <= value <= 100:
            self.diagnostics.append(codes.make("F401", self.span(token), value=str(value)))
        return value

    def colour(self, node: Tree[Token]) -> Text:
        raw = self.text(node.children[0])
        value = raw.value.strip().lower()
        if _HEX_COLOUR.fullmatch(value):
            if len(value) == 4:
                value = "#" + "".join(c * 2 for c in value[1:])
            return Text(value, raw.span)
        if value in NAMED_COLOURS:
            return Text(NAMED_COLOURS[value], raw.span)
        hint = suggest(
            value, NAMED_COLOURS, _("write a hex code such as `#2e7d32`, or a name such as `green`")
        )
        self.diagnostics.append(codes.make("F403", raw.span, value=raw.value, hint=hint))
        return raw

    # ---- declarations ----------------------------------------------------------------------
    def field_decl(self, node: Tree[Token]) -> Field:
        id_token, name_node, type_node = node.children
        assert isinstance(id_token, Token) and isinstance(type_node, Tree)
        kind_token = type_node.children[0]
        assert isinstance(kind_token, Token)
        options: tuple[str, ...] = ()
        if len(type_node.children) > 1:
            options_node = type_node.children[1]
            assert isinstance(options_node, Tree)
            options = tuple(
                self.text(o, _("an option of field `{id}`").format(id=id_token)).value
                for o in options_node.children
            )
        kind = str(kind_token)
        if kind not in FIELD_TYPES:
            hint = suggestion(
                _TYPE_ALIASES.get(kind.lower()) or did_you_mean(kind, FIELD_TYPES),
                _("types are {types}").format(types=", ".join(FIELD_TYPES)),
            )
            self.diagnostics.append(codes.make("F106", self.span(kind_token), name=kind, hint=hint))
        elif options and kind not in ("choice", "multichoice"):
            options_node = type_node.children[1]
            assert isinstance(options_node, Tree)
            self.diagnostics.append(codes.make("F109", self.span(options_node), kind=kind))
        elif kind in ("choice", "multichoice") and not options:
            self.diagnostics.append(
                codes.make("F108", self.span(type_node), kind=kind, field=str(id_token))
            )
        return Field(
            id=self.ident(id_token),
            name=self.text(name_node, _("the name of field `{id}`").format(id=id_token)),
            type=FieldType(kind, options, self.span(type_node)),
            span=self.span(node),
        )

    def reason_decl(self, node: Tree[Token]) -> LossReason:
        id_token, name_node = node.children
        assert isinstance(id_token, Token)
        name = self.text(name_node, _("the name of reason `{id}`").format(id=id_token))
        return LossReason(self.ident(id_token), name, self.span(node))

    def misplaced(self, node: Tree[Token], detail: str, hint: str) -> None:
        """Report a stage written where the grammar tolerates it only to explain the mistake;
        the caret goes under its keyword and id (`stage accepted`)."""
        id_token = node.children[0]
        assert isinstance(id_token, Token)
        span = self.span(node)
        self.diagnostics.append(
            codes.make(
                "F001",
                Span(span.path, span.start, self.span(id_token).end),
                detail=_(detail),
                hint=_(hint),
            )
        )

    # ---- stages ------------------------------------------------------------------------------
    def once(
        self, seen: dict[str, Span], attr: str, node: Tree[Token], owner: str | Callable[[], str]
    ) -> None:
        """Report a second ``attr`` of ``owner`` (F107); ``owner`` may be a function, called
        only then."""
        span = self.span(node)
        if attr in seen:
            if not isinstance(owner, str):
                owner = owner()
            self.diagnostics.append(
                codes.make(
                    "F107",
                    span,
                    labels=(Label(seen[attr], _("first given here")),),
                    attr=attr,
                    owner=owner,
                    hint=(
                        _("merge the two `{attr}` blocks into one").format(attr=attr)
                        if attr in ("lead", "deal")
                        else _("keep one `{attr}`").format(attr=attr)
                    ),
                )
            )
        else:
            seen[attr] = span

    def stage(self, node: Tree[Token], phase: Phase, kind: StageKind) -> Stage:
        children = list(node.children)
        id_token = children.pop(0)
        name_node = children.pop(0)
        assert isinstance(id_token, Token) and isinstance(name_node, Token)
        ident = self.ident(id_token)
        attrs: dict[str, object] = {}
        key = False
        exits: list[Text] = []
        tasks: list[Text] = []
        requires: list[Ref] = []
        reasons: list[Ref] = []
        seen: dict[str, Span] = {}
        for child in children:
            assert isinstance(child, Tree)
            if child.data == "key":
                key = True
                continue
            if child.data == "was":
                was_token = child.children[0]
                assert isinstance(was_token, Token)
                attrs["was"] = self.ident(was_token)
                continue
            for attr in child.children:
                assert isinstance(attr, Tree)
                name = str(attr.data)
                args = attr.children
                if name == "exit":
                    exits.append(self.text(args[0]))
                elif name == "task":
                    tasks.append(self.text(args[0]))
                elif name == "requires":
                    requires.extend(self.ref(a) for a in args)
                elif name == "reasons":
                    reasons.extend(self.ref(a) for a in args)
                else:
                    self.once(
                        seen,
                        "timeout" if name == "stage_timeout" else name,
                        attr,
                        lambda: (
                            _("stage `{id}`") if kind is StageKind.OPEN else _("outcome `{id}`")
                        ).format(id=ident.name),
                    )
                    if name == "goal":
                        attrs["goal"] = self.text(args[0])
                    elif name == "sla":
                        attrs["sla"] = self.duration(args[0])  # type: ignore[arg-type]
                    elif name == "probability":
                        attrs["probability"] = self.probability(args[0])  # type: ignore[arg-type]
                    elif name == "color":
                        attrs["color"] = self.colour(attr)
                    elif name == "stage_timeout":
                        attrs["timeout"] = self.ref(args[0])
                    elif name == "then":
                        attrs["then"] = self.ref(args[0])
                    elif name == "next":
                        attrs["next"] = self.ref(args[0])
        return Stage(
            id=ident,
            name=self.text(
                name_node,
                lambda: (
                    _("the name of stage `{id}`")
                    if kind is StageKind.OPEN
                    else _("the name of outcome `{id}`")
                ).format(id=ident.name),
            ),
            phase=phase,
            kind=kind,
            span=self.span(node),
            key=key,
            exits=tuple(exits),
            tasks=tuple(tasks),
            requires=tuple(requires),
            reasons=tuple(reasons),
            **attrs,  # type: ignore[arg-type]
        )

    def phase_block(self, node: Tree[Token], phase: Phase) -> tuple[list[Stage], LeadPhase | None]:
        stages: list[Stage] = []
        definition: Text | None = None
        accept: list[Text] = []
        seen: dict[str, Span] = {}
        for child in node.children:
            assert isinstance(child, Tree)
            if child.data == "stage":
                stages.append(self.stage(child, phase, StageKind.OPEN))
            elif child.data == "won":
                stages.append(self.stage(child, phase, StageKind.WON))
            elif child.data == "lost":
                stages.append(self.stage(child, phase, StageKind.LOST))
            elif child.data == "misplaced_won":
                won = child.children[0]
                assert isinstance(won, Tree)
                self.misplaced(
                    won,
                    N_("won outcomes belong to the deal phase"),
                    N_("a lead is won when sales accepts it; put `won` in the `deal { … }` block"),
                )
                stages.append(self.stage(won, Phase.DEAL, StageKind.WON))
            elif child.data == "definition":
                self.once(seen, "definition", child, _("the lead phase"))
                definition = self.text(child.children[0])
            elif child.data == "accept":
                accept.append(self.text(child.children[0]))
        lead = (
            LeadPhase(self.span(node), definition=definition, accept=tuple(accept))
            if phase is Phase.LEAD
            else None
        )
        return stages, lead

    def language(self, token: Token) -> Ident | None:
        """``language ru``: the id, or ``None`` (and F420) for a language funnelc lacks."""
        ident = self.ident(token)
        if ident.name in LANGUAGES:
            return ident
        languages = ", ".join(f"`{lang}`" for lang in LANGUAGES)
        fallback = _("write one of {languages}").format(languages=languages)
        hint = suggest(ident.name, LANGUAGES, fallback)
        self.diagnostics.append(codes.make("F420", ident.span, value=ident.name, hint=hint))
        return None

    # ---- pipelines ---------------------------------------------------------------------------
    def pipeline(self, node: Tree[Token]) -> Pipeline:
        id_token, name_node, *items = node.children
        assert isinstance(id_token, Token) and isinstance(name_node, Token)
        ident = self.ident(id_token)
        owner = _("pipeline `{id}`").format(id=ident.name)
        fields: list[Field] = []
        reasons: list[LossReason] = []
        lead: LeadPhase | None = None
        lead_stages: list[Stage] = []
        deal_stages: list[Stage] = []
        edges: list[ExplicitEdge] = []
        revives: list[Revive] = []
        attrs: dict[str, object] = {}
        seen: dict[str, Span] = {}
        for item in items:
            assert isinstance(item, Tree)
            kind = item.data
            if kind == "was":
                was_token = item.children[0]
                assert isinstance(was_token, Token)
                attrs["was"] = self.ident(was_token)
            elif kind == "segment":
                self.once(seen, "segment", item, owner)
                attrs["segment"] = self.text(item.children[0])
            elif kind == "language":
                self.once(seen, "language", item, owner)
                attrs["language"] = self.language(item.children[0])  # type: ignore[arg-type]
            elif kind == "field_decl":
                fields.append(self.field_decl(item))
            elif kind == "reason_decl":
                reasons.append(self.reason_decl(item))
            elif kind == "lead_block":
                self.once(seen, "lead", item, owner)
                more, lead = self.phase_block(item, Phase.LEAD)
                lead_stages.extend(more)
            elif kind == "deal_block":
                self.once(seen, "deal", item, owner)
                more, _lead = self.phase_block(item, Phase.DEAL)
                deal_stages.extend(more)
            elif kind == "misplaced_stage":
                stray = item.children[0]
                assert isinstance(stray, Tree)
                self.misplaced(
                    stray,
                    N_("a stage must be inside a `lead { … }` or `deal { … }` block")
                    if stray.data == "stage"
                    else N_("an outcome must be inside a `lead { … }` or `deal { … }` block"),
                    N_("stages belong to a phase: wrap them in `deal { … }` (or `lead { … }`)"),
                )
                kind_of = {"stage": StageKind.OPEN, "won": StageKind.WON, "lost": StageKind.LOST}
                deal_stages.append(self.stage(stray, Phase.DEAL, kind_of[str(stray.data)]))
            elif kind == "default_timeout":
                self.once(seen, "timeout", item, owner)
                attrs["timeout"] = self.ref(item.children[0])
            elif kind == "edge":
                source, target, *label = item.children
                edges.append(
                    ExplicitEdge(
                        source=self.ref(source),
                        target=self.ref(target),
                        span=self.span(item),
                        label=self.text(label[0]) if label else None,
                    )
                )
            elif kind == "revive":
                source, target, *rest = item.children
                delay: Duration | None = None
                label_text: Text | None = None
                for extra in rest:
                    if isinstance(extra, Tree) and extra.data == "delay":
                        delay = self.duration(extra.children[0])  # type: ignore[arg-type]
                    else:
                        label_text = self.text(extra)
                revives.append(
                    Revive(
                        source=self.ref(source),
                        target=self.ref(target),
                        span=self.span(item),
                        delay=delay,
                        label=label_text,
                    )
                )
        return Pipeline(
            id=ident,
            name=self.text(name_node, _("the name of pipeline `{id}`").format(id=ident.name)),
            span=self.span(node),
            fields=tuple(fields),
            reasons=tuple(reasons),
            lead=lead,
            stages=tuple(lead_stages + deal_stages),
            edges=tuple(edges),
            revives=tuple(revives),
            **attrs,  # type: ignore[arg-type]
        )

    def import_decl(self, node: Tree[Token]) -> Import:
        token = node.children[0]
        assert isinstance(token, Token)
        raw = str(token)
        if "\\" in raw and token.type == "STRING":
            # `import "shared\realty.funnel"`: a Windows path, not escapes (`\r` would make
            # it a carriage return).  Say so, and go on with the path that was meant.
            fixed = re.sub(r"\\+", "/", raw[1:-1])
            span = self.span(token)
            from funnelc.diagnostics import Applicability
            from funnelc.fixes import quote, replacement

            # Safe: the import already means the path with `/` (it is followed as such).
            fix = replacement(
                span,
                quote(fixed),
                _("write the path with `/`"),
                Applicability.SAFE,
            )
            self.diagnostics.append(codes.make("F007", span, path=raw[1:-1], fixed=fixed, fix=fix))
            return Import(Text(fixed, span), self.span(node))
        return Import(self.text(token), self.span(node))

    def module(self, tree: Tree[Token]) -> Module:
        imports: list[Import] = []
        fields: list[Field] = []
        reasons: list[LossReason] = []
        pipelines: list[Pipeline] = []
        for item in tree.children:
            assert isinstance(item, Tree)
            if item.data == "import_decl":
                imports.append(self.import_decl(item))
            elif item.data == "field_decl":
                fields.append(self.field_decl(item))
            elif item.data == "reason_decl":
                reasons.append(self.reason_decl(item))
            elif item.data == "pipeline":
                pipelines.append(self.pipeline(item))
        return Module(
            path=self.source.path,
            imports=tuple(imports),
            fields=tuple(fields),
            reasons=tuple(reasons),
            pipelines=tuple(pipelines),
        )


def _describe_char(char: str) -> str:
    """How a forbidden character is named in a message: its code point and, for the
    bidirectional controls, its Unicode name."""
    code = f"U+{ord(char):04X}"
    if 0x202A <= ord(char) <= 0x202E or 0x2066 <= ord(char) <= 0x2069:
        return _("the bidirectional control {code} ({name})").format(
            code=code, name=unicodedata.name(char, "")
        )
    return _("the control character {code}").format(code=code)


def _decode_escape(escape: str) -> str | None:
    """The text an escape (without its backslash) stands for, or ``None`` if it is invalid."""
    if escape in _ESCAPES:
        return _ESCAPES[escape]
    if (escape[0], len(escape)) in (("u", 5), ("U", 9)):
        code = int(escape[1:], 16)
        if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
            return chr(code)
    if escape == "\n":
        return ""  # a backslash at the end of a line continues it
    return None


def _unescape(body: str) -> str:
    if "\\" not in body:
        return body

    def replace(match: re.Match[str]) -> str:
        decoded = _decode_escape(match.group(1))
        return match.group(0) if decoded is None else decoded

    return _ESCAPE.sub(replace, body)


def _dedent_block(value: str) -> str:
    """A multi-line string loses the line break after its opening quotes, the indentation
    common to its lines, and trailing blank space before its closing quotes."""
    if value.startswith("\n"):
        value = value[1:]
    elif value.startswith("\r\n"):
        value = value[2:]
    return textwrap.dedent(value).rstrip()


def lower(source: SourceFile, parsed: ParseResult) -> tuple[Module | None, list[Diagnostic]]:
    """Lower a parsed file.  Returns no module when the file did not parse."""
    if parsed.tree is None:
        return None, list(parsed.diagnostics)
    lowerer = _Lowerer(source)
    module = lowerer.module(parsed.tree)
    return replace(module, comments=parsed.comments), lowerer.diagnostics
