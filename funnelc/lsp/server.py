"""``funnelc lsp``: the language server on stdio (pygls 2).

Handlers are thin: they turn protocol positions into character offsets (:mod:`.positions`,
in the encoding negotiated at ``initialize``), call the pure functions of the other modules
of this package, and turn offsets back into positions.  This module is imported only by the
``lsp`` command, so no other command pays for pygls.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lsprotocol import types as t
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import from_fs_path, to_fs_path

from funnelc.diagnostics import Diagnostic, Severity
from funnelc.lsp import actions, completion, hover, rename, semantic_tokens, symbols
from funnelc.lsp.positions import Encoding, LineIndex, encoding_of
from funnelc.lsp.workspace import Workspace
from funnelc.source import Span
from funnelc.version import __version__

DEBOUNCE = float(os.environ.get("FUNNELC_LSP_DEBOUNCE_MS", "150")) / 1000
"""Seconds of quiet after a change before a document is checked again, when changes come in
a burst; the first change after a quiet spell is checked at once."""

_SEVERITY = {
    Severity.ERROR: t.DiagnosticSeverity.Error,
    Severity.WARNING: t.DiagnosticSeverity.Warning,
    Severity.INFO: t.DiagnosticSeverity.Information,
}
_SYMBOL_KIND = {
    "pipeline": t.SymbolKind.Module,
    "phase": t.SymbolKind.Namespace,
    "stage": t.SymbolKind.EnumMember,
    "outcome": t.SymbolKind.Event,
    "field": t.SymbolKind.Field,
    "reason": t.SymbolKind.Enum,
}
_COMPLETION_KIND = {
    "keyword": t.CompletionItemKind.Keyword,
    "stage": t.CompletionItemKind.EnumMember,
    "pipeline": t.CompletionItemKind.Module,
    "field": t.CompletionItemKind.Field,
    "reason": t.CompletionItemKind.Enum,
    "duration": t.CompletionItemKind.Value,
    "unit": t.CompletionItemKind.Unit,
}


def _renderer() -> Callable[[object, str], str] | None:
    try:
        from funnelc.i18n import render  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return None
    return render  # type: ignore[no-any-return,unused-ignore]


_RENDER = _renderer()


def _render(text: object, lang: str) -> str:
    """A message in ``lang``: rendered late where the compiler supports it, else as made (the
    build runs in ``lang`` already)."""
    return str(text) if _RENDER is None else str(_RENDER(text, lang))


class _Protocol(LanguageServerProtocol):
    """pygls 2.1's protocol, without its leak: a notification handled by a generator (the
    built-in ``didOpen``/``didChange``/``didClose``) leaves its future in ``_request_futures``
    for ever (about 1.5 KB an edit).  A future that is done there is one of those: a request's
    own is removed when its response is sent."""

    def _handle_notification(self, method_name: str, params: Any) -> None:
        super()._handle_notification(method_name, params)  # type: ignore[no-untyped-call,unused-ignore]
        futures = self._request_futures
        for msg_id in [k for k, future in futures.items() if future.done()]:
            del futures[msg_id]


class FunnelServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("funnelc", __version__, protocol_cls=_Protocol)
        self.state = Workspace()
        self.uris: dict[str, str] = {}
        self.pending: dict[str, asyncio.Task[None]] = {}
        self.last_change: dict[str, float] = {}
        self.language: str | None = None
        self.line_indexes: dict[str, LineIndex] = {}
        """``funnelc lsp --lang``: the messages' language whatever the client's locale."""

    # ---- the edge: uris, paths, positions ----------------------------------------------------
    @property
    def encoding(self) -> Encoding:
        return encoding_of(str(self.workspace.position_encoding or "utf-16"))

    def path_of(self, uri: str) -> str:
        if urlparse(uri).scheme == "file":
            path = to_fs_path(uri)
            if path is not None:
                return Path(path).absolute().as_posix()
        return uri

    def uri_of(self, path: str) -> str:
        known = self.uris.get(path)
        if known is not None:
            return known
        return from_fs_path(path) or path if "://" not in path else path

    def lines(self, path: str) -> LineIndex | None:
        """The line index of ``path`` as last checked (kept for the latest text of each file
        only: a new text replaces the old index)."""
        text: str | None = None
        for build in self.state.builds_for(path):
            source = build.sources.get(path)
            if source is not None:
                text = source.text
                break
        else:
            text = self.state.read(path)
        if text is None:
            return None
        cached = self.line_indexes.get(path)
        if cached is None or cached.text is not text:
            cached = self.line_indexes[path] = LineIndex(text)
        return cached

    def range(self, span: Span, lines: LineIndex | None = None) -> t.Range:
        lines = lines or self.lines(span.path) or LineIndex("")
        start, end = lines.range(span.start, span.end, self.encoding)
        return t.Range(t.Position(*start), t.Position(*end))

    def location(self, span: Span) -> t.Location:
        return t.Location(uri=self.uri_of(span.path), range=self.range(span))

    def offset(self, uri: str, position: t.Position) -> tuple[str, int, LineIndex] | None:
        path = self.path_of(uri)
        self.flush(uri)
        lines = self.lines(path)
        if lines is None:
            return None
        return path, lines.offset(position.line, position.character, self.encoding), lines

    # ---- diagnostics -------------------------------------------------------------------------
    def to_lsp(self, d: Diagnostic, lines: LineIndex) -> t.Diagnostic:
        """The protocol's diagnostic; ``lines`` is the index of the file of ``d``'s span."""
        lang = self.state.language
        assert d.span is not None
        uri = self.uri_of(d.span.path)
        here = t.Location(uri=uri, range=self.range(d.span, lines))

        def location(span: Span) -> t.Location:
            if span.path == d.span.path:  # type: ignore[union-attr]
                return t.Location(uri=uri, range=self.range(span, lines))
            return self.location(span)

        related = [
            t.DiagnosticRelatedInformation(location(label.span), _render(label.message, lang))
            for label in d.labels
            if label.message
        ]
        if d.help:
            related.append(t.DiagnosticRelatedInformation(here, "help: " + _render(d.help, lang)))
        related.extend(t.DiagnosticRelatedInformation(here, _render(n, lang)) for n in d.notes)
        return t.Diagnostic(
            range=here.range,
            message=_render(d.message, lang),
            severity=_SEVERITY[d.severity],
            code=d.code,
            source="funnelc",
            related_information=related or None,
        )

    def publish(self, path: str) -> None:
        build = self.state.builds.get(path)
        if build is None:
            return
        lines = self.lines(path) or LineIndex("")
        version = self.state.overlays.get(path, (None, ""))[0]
        self.text_document_publish_diagnostics(
            t.PublishDiagnosticsParams(
                uri=self.uri_of(path),
                version=version,
                diagnostics=[self.to_lsp(d, lines) for d in build.diagnostics_for(path)],
            )
        )

    def check_now(self, uri: str) -> None:
        path = self.path_of(uri)
        if path not in self.state.overlays:
            return
        for changed in self.state.check(path):
            self.publish(changed)

    def flush(self, uri: str) -> None:
        """Check ``uri`` now if a check is pending or its build is older than its text (a
        request must be answered about the text the client has)."""
        task = self.pending.pop(uri, None)
        if task is not None:
            task.cancel()
        path = self.path_of(uri)
        if path in self.state.overlays and not self.state.fresh(path):
            self.check_now(uri)

    def schedule(self, uri: str, version: int) -> None:
        """Check ``uri`` after a quiet spell (at once if the previous change was long ago);
        a newer change cancels the pending check, and a check of a version that is no longer
        the latest is skipped."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        delay = DEBOUNCE if now - self.last_change.get(uri, float("-inf")) < DEBOUNCE else 0.0
        self.last_change[uri] = now
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()

        async def run() -> None:
            await asyncio.sleep(delay)
            if self.pending.get(uri) is not task:
                return
            del self.pending[uri]
            path = self.path_of(uri)
            overlay = self.state.overlays.get(path)
            if overlay is None or overlay[0] != version:
                return  # stale
            self.check_now(uri)

        task = loop.create_task(run())
        self.pending[uri] = task


server = FunnelServer()


@server.feature(t.INITIALIZE)
def initialize(ls: FunnelServer, params: t.InitializeParams) -> None:
    locale = (params.locale or "").lower()
    if ls.language is not None:
        language = ls.language
    elif locale:
        language = "ru" if locale.startswith("ru") else "en"
    else:
        from funnelc.i18n import detect_language

        language = detect_language()
    ls.state = Workspace(language=language)


@server.feature(t.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: FunnelServer, params: t.DidOpenTextDocumentParams) -> None:
    doc = params.text_document
    path = ls.path_of(doc.uri)
    ls.uris[path] = doc.uri
    ls.state.open(path, doc.version, ls.workspace.get_text_document(doc.uri).source)
    ls.check_now(doc.uri)


@server.feature(t.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: FunnelServer, params: t.DidChangeTextDocumentParams) -> None:
    doc = ls.workspace.get_text_document(params.text_document.uri)
    version = params.text_document.version
    ls.state.change(ls.path_of(doc.uri), version, doc.source)
    ls.schedule(doc.uri, version)


@server.feature(t.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: FunnelServer, params: t.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    task = ls.pending.pop(uri, None)
    if task is not None:
        task.cancel()
    ls.last_change.pop(uri, None)
    path = ls.path_of(uri)
    ls.state.close(path)
    ls.uris.pop(path, None)
    ls.line_indexes.pop(path, None)
    ls.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


@server.feature(t.TEXT_DOCUMENT_HOVER)
def on_hover(ls: FunnelServer, params: t.HoverParams) -> t.Hover | None:
    at = ls.offset(params.text_document.uri, params.position)
    if at is None:
        return None
    path, offset, lines = at
    for build in ls.state.builds_for(path):
        from funnelc.i18n import using

        with using(ls.state.language):
            found = hover.hover(build, path, offset)
        if found is not None:
            text, span = found
            return t.Hover(
                contents=t.MarkupContent(kind=t.MarkupKind.Markdown, value=text),
                range=ls.range(span, lines),
            )
    return None


@server.feature(t.TEXT_DOCUMENT_DEFINITION)
def on_definition(ls: FunnelServer, params: t.DefinitionParams) -> t.Location | None:
    at = ls.offset(params.text_document.uri, params.position)
    if at is None:
        return None
    span = rename.definition(ls.state.builds_for(at[0]), at[0], at[1])
    return ls.location(span) if span is not None else None


@server.feature(t.TEXT_DOCUMENT_REFERENCES)
def on_references(ls: FunnelServer, params: t.ReferenceParams) -> list[t.Location]:
    at = ls.offset(params.text_document.uri, params.position)
    if at is None:
        return []
    spans = rename.references(
        ls.state.builds_for(at[0]),
        at[0],
        at[1],
        include_declaration=params.context.include_declaration,
    )
    return [ls.location(s) for s in spans]


@server.feature(t.TEXT_DOCUMENT_PREPARE_RENAME)
def on_prepare_rename(ls: FunnelServer, params: t.PrepareRenameParams) -> t.Range | None:
    at = ls.offset(params.text_document.uri, params.position)
    if at is None:
        return None
    span = rename.prepare(ls.state.builds_for(at[0]), at[0], at[1])
    return ls.range(span, at[2]) if span is not None else None


@server.feature(t.TEXT_DOCUMENT_RENAME, t.RenameOptions(prepare_provider=True))
def on_rename(ls: FunnelServer, params: t.RenameParams) -> t.WorkspaceEdit | None:
    from funnelc.i18n import using

    at = ls.offset(params.text_document.uri, params.position)
    if at is None:
        return None
    with using(ls.state.language):
        try:
            spans = rename.rename(ls.state.builds_for(at[0]), at[0], at[1], params.new_name)
        except rename.RenameError as refused:
            # pygls answers an exception with a JSON-RPC error carrying its message.
            raise ValueError(str(refused)) from None
    changes: dict[str, list[t.TextEdit]] = {}
    for span in spans:
        changes.setdefault(ls.uri_of(span.path), []).append(
            t.TextEdit(range=ls.range(span), new_text=params.new_name)
        )
    return t.WorkspaceEdit(changes=changes)


@server.feature(
    t.TEXT_DOCUMENT_COMPLETION,
    t.CompletionOptions(trigger_characters=[">", " ", ".", ","]),
)
def on_completion(ls: FunnelServer, params: t.CompletionParams) -> t.CompletionList:
    uri = params.text_document.uri
    path = ls.path_of(uri)
    text = ls.workspace.get_text_document(uri).source.replace("\r\n", "\n").replace("\r", "\n")
    lines = LineIndex(text)
    offset = lines.offset(params.position.line, params.position.character, ls.encoding)
    builds = ls.state.builds_for(path)  # the last build: the text is usually broken now
    items = completion.complete(builds[0] if builds else None, path, text, offset)
    return t.CompletionList(
        is_incomplete=False,
        items=[
            t.CompletionItem(
                label=i.label,
                kind=_COMPLETION_KIND[i.kind],
                detail=i.detail or None,
                insert_text=i.insert,
            )
            for i in items
        ],
    )


def _symbol(ls: FunnelServer, s: symbols.Symbol, lines: LineIndex) -> t.DocumentSymbol:
    return t.DocumentSymbol(
        name=s.name,
        detail=s.detail or None,
        kind=_SYMBOL_KIND[s.kind],
        range=ls.range(s.span, lines),
        selection_range=ls.range(s.selection, lines),
        children=[_symbol(ls, c, lines) for c in s.children] or None,
    )


@server.feature(t.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def on_symbols(ls: FunnelServer, params: t.DocumentSymbolParams) -> list[t.DocumentSymbol]:
    uri = params.text_document.uri
    ls.flush(uri)
    path = ls.path_of(uri)
    build = ls.state.builds.get(path)
    lines = ls.lines(path)
    if build is None or lines is None:
        return []
    return [_symbol(ls, s, lines) for s in symbols.document_symbols(build, path)]


@server.feature(t.TEXT_DOCUMENT_FOLDING_RANGE)
def on_folding(ls: FunnelServer, params: t.FoldingRangeParams) -> list[t.FoldingRange]:
    uri = params.text_document.uri
    ls.flush(uri)
    build = ls.state.builds.get(ls.path_of(uri))
    if build is None:
        return []
    kinds = {"region": t.FoldingRangeKind.Region, "comment": t.FoldingRangeKind.Comment}
    return [
        t.FoldingRange(start_line=a, end_line=b, kind=kinds[k])
        for a, b, k in symbols.folding_ranges(build, ls.path_of(uri))
    ]


@server.feature(
    t.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL,
    t.SemanticTokensLegend(
        token_types=list(semantic_tokens.TOKEN_TYPES),
        token_modifiers=list(semantic_tokens.TOKEN_MODIFIERS),
    ),
)
def on_semantic_tokens(ls: FunnelServer, params: t.SemanticTokensParams) -> t.SemanticTokens:
    uri = params.text_document.uri
    ls.flush(uri)
    path = ls.path_of(uri)
    build = ls.state.builds.get(path)
    source = build.sources.get(path) if build is not None else None
    if build is None or source is None:
        return t.SemanticTokens(data=[])
    found = semantic_tokens.tokens(source.text, build.index, path)
    return t.SemanticTokens(data=semantic_tokens.encode(source.text, found, ls.encoding))


@server.feature(t.TEXT_DOCUMENT_FORMATTING)
def on_formatting(ls: FunnelServer, params: t.DocumentFormattingParams) -> list[t.TextEdit]:
    """The whole document formatted by ``funnelc fmt``'s own function; nothing for a file
    with syntax errors (the formatter refuses it; the diagnostics already say why)."""
    from funnelc.fmt import format_text
    from funnelc.i18n import using

    doc = ls.workspace.get_text_document(params.text_document.uri)
    with using(ls.state.language):
        result = format_text(doc.source, ls.path_of(doc.uri))
    if result.text is None or result.text == doc.source:
        return []
    end = LineIndex(doc.source).end(ls.encoding)
    whole = t.Range(t.Position(0, 0), t.Position(*end))
    return [t.TextEdit(range=whole, new_text=result.text)]


@server.feature(
    t.TEXT_DOCUMENT_CODE_ACTION,
    t.CodeActionOptions(code_action_kinds=[t.CodeActionKind.QuickFix]),
)
def on_code_action(ls: FunnelServer, params: t.CodeActionParams) -> list[t.CodeAction]:
    uri = params.text_document.uri
    ls.flush(uri)
    path = ls.path_of(uri)
    build = ls.state.builds.get(path)
    source = build.sources.get(path) if build is not None else None
    if build is None or source is None:
        return []
    lines = ls.lines(path) or LineIndex(source.text)
    start = lines.offset(params.range.start.line, params.range.start.character, ls.encoding)
    end = lines.offset(params.range.end.line, params.range.end.character, ls.encoding)
    from funnelc.i18n import using

    with using(ls.state.language):
        found = actions.actions(source, build.diagnostics_for(path), start, end)
    result: list[t.CodeAction] = []
    for action in found:
        changes: dict[str, list[t.TextEdit]] = {}
        for span, new_text in action.edits:
            changes.setdefault(ls.uri_of(span.path), []).append(
                t.TextEdit(range=ls.range(span), new_text=new_text)
            )
        result.append(
            t.CodeAction(
                title=action.title,
                kind=t.CodeActionKind.QuickFix,
                diagnostics=[ls.to_lsp(action.diagnostic, lines)],
                edit=t.WorkspaceEdit(changes=changes),
                is_preferred=action.preferred or None,
            )
        )
    return result


def main(lang: str | None = None) -> None:
    server.language = lang
    server.start_io()
