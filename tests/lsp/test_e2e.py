"""End to end: the real server (``funnelc lsp``) in a subprocess, driven over stdio by
pytest-lsp with the capabilities of VS Code (UTF-16 positions) and of Neovim 0.11 (which
offers UTF-8 first), on a document with Cyrillic, emoji and tabs."""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as t
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import register_lsp_features

from tests.lsp.document import COMMON, MAIN, client_position, offset_of, write

PROFILES = {"visual-studio-code": "utf-16", "neovim@v0.11.0": "utf-8"}


class Client(LanguageClient):
    """The test client, with what a test needs to know about its session."""

    encoding = "utf-16"
    profile = ""
    main = Path()
    common = Path()


def _client() -> Client:
    client = Client(converter_factory=default_converter)
    register_lsp_features(client)
    return client


SERVER = ClientServerConfig(
    client_factory=_client,
    server_command=[sys.executable, "-m", "funnelc", "lsp", "--stdio"],  # as VS Code starts it
    server_env={"FUNNELC_NO_CACHE": "1", "FUNNELC_LANG": "en", "PYTHONUTF8": "1"},
)


@pytest_lsp.fixture(config=SERVER, params=list(PROFILES))  # type: ignore[untyped-decorator,unused-ignore]
async def client(
    lsp_client: Client, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[None]:
    capabilities = client_capabilities(request.param)
    result = await lsp_client.initialize_session(
        t.InitializeParams(
            capabilities=capabilities,
            locale="ru-RU" if request.param.startswith("neovim") else "en-US",
            root_uri=tmp_path.as_uri(),
        )
    )
    lsp_client.encoding = str(result.capabilities.position_encoding)
    lsp_client.profile = request.param
    lsp_client.main, lsp_client.common = write(tmp_path)
    yield
    await lsp_client.shutdown_session()


def _cli(main: Path, lang: str) -> list[tuple[str, str]]:
    """What ``funnelc check`` reports for ``main`` in ``lang``."""
    from funnelc.compiler import compile
    from funnelc.i18n import using

    with using(lang):
        result = compile([main], lint=True)
    return sorted(
        (d.code, str(d.message))
        for d in result.diagnostics
        if d.span is not None and Path(d.span.path).resolve() == main.resolve()
    )


def _pos(client: Client, text: str, offset: int) -> t.Position:
    return t.Position(*client_position(text, offset, client.encoding))


def edits_of(edit: t.WorkspaceEdit, path: Path) -> list[t.TextEdit]:
    assert edit.changes is not None
    return list(edit.changes[path.as_uri()])


def _items(found: t.CompletionList | Sequence[t.CompletionItem] | None) -> list[t.CompletionItem]:
    if found is None:
        return []
    return list(found.items if isinstance(found, t.CompletionList) else found)


def _doc(path: Path) -> t.TextDocumentIdentifier:
    return t.TextDocumentIdentifier(uri=path.as_uri())


async def _open(client: Client, path: Path, text: str) -> list[t.Diagnostic]:
    client.text_document_did_open(
        t.DidOpenTextDocumentParams(
            t.TextDocumentItem(uri=path.as_uri(), language_id="funnel", version=1, text=text)
        )
    )
    await client.wait_for_notification(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return list(client.diagnostics[path.as_uri()])


async def test_encoding_is_negotiated(client: Client) -> None:
    assert client.encoding == PROFILES[client.profile]


async def test_diagnostics_and_code_actions(client: Client) -> None:
    main: Path = client.main
    russian = client.profile.startswith("neovim")
    found = await _open(client, main, MAIN)
    by_code = {d.code for d in found}
    assert {"L005", "L008", "L009"} <= by_code
    l005 = next(d for d in found if d.code == "L005")
    start = offset_of(MAIN, "met", inside=0)
    assert l005.range.start == _pos(client, MAIN, start)
    assert l005.range.end == _pos(client, MAIN, start + 3)
    # The CLI's codes and messages, in the client's language (initialize.locale ru-RU: Russian)
    assert sorted((d.code, d.message) for d in found) == _cli(main, "ru" if russian else "en")
    if not russian:
        assert l005.message == "stage `met` requires no card field"
    assert l005.source == "funnelc"

    actions = await client.text_document_code_action_async(
        t.CodeActionParams(
            text_document=_doc(main),
            range=l005.range,
            context=t.CodeActionContext(diagnostics=[l005]),
        )
    )
    assert actions
    suppress = next(a for a in actions if isinstance(a, t.CodeAction) and "allow" in str(a.edit))
    assert isinstance(suppress, t.CodeAction) and suppress.edit is not None
    assert suppress.edit.changes is not None
    (edit,) = suppress.edit.changes[main.as_uri()]
    assert "# funnelc: allow" in edit.new_text and " -- " in edit.new_text
    line_end = MAIN.index("\n", start)
    assert edit.range.end == _pos(client, MAIN, line_end)

    # A change: a syntax error; diagnostics follow the latest text only.
    broken = MAIN.replace("sla 5d", "sla 5 d").replace('won paid "', "won paid ")
    client.text_document_did_change(
        t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=main.as_uri(), version=2),
            content_changes=[t.TextDocumentContentChangeWholeDocument(text=broken)],
        )
    )
    await client.wait_for_notification(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    errors = client.diagnostics[main.as_uri()]
    assert len([d for d in errors if d.code and str(d.code).startswith("F0")]) >= 2
    assert all(d.severity == t.DiagnosticSeverity.Error for d in errors)


async def test_importers_are_checked_again(client: Client) -> None:
    main: Path = client.main
    common: Path = client.common
    await _open(client, main, MAIN)
    await _open(client, common, COMMON)
    client.text_document_did_change(
        t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=common.as_uri(), version=2),
            content_changes=[
                t.TextDocumentContentChangeWholeDocument(
                    text=COMMON.replace("no_budget", "no_money")
                )
            ],
        )
    )
    for _ in range(4):
        await client.wait_for_notification(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        if any(d.code == "F104" for d in client.diagnostics.get(main.as_uri(), [])):
            break
    # main.funnel (not edited) now refers to a reason its import no longer declares
    f104 = [d for d in client.diagnostics[main.as_uri()] if d.code == "F104"]
    assert [d.range.start.line for d in f104] == [6, 11]


async def test_navigation(client: Client) -> None:
    main: Path = client.main
    common: Path = client.common
    await _open(client, main, MAIN)

    # hover on a stage used after `->`: its name, goal, SLA, where it leads
    use = offset_of(MAIN, "-> new", inside=4)
    hover = await client.text_document_hover_async(
        t.HoverParams(text_document=_doc(main), position=_pos(client, MAIN, use))
    )
    assert hover is not None and isinstance(hover.contents, t.MarkupContent)
    assert "Заявка получена 📩" in hover.contents.value
    assert "sla: 2h" in hover.contents.value
    assert hover.range is not None
    assert hover.range.start == _pos(client, MAIN, use - 1)

    # definition of a field declared in the imported file
    field_use = offset_of(MAIN, "contact_phone", inside=3)
    location = await client.text_document_definition_async(
        t.DefinitionParams(text_document=_doc(main), position=_pos(client, MAIN, field_use))
    )
    assert isinstance(location, t.Location)
    assert location.uri == common.as_uri()
    declared = offset_of(COMMON, "contact_phone", inside=0)
    assert location.range.start == _pos(client, COMMON, declared)

    # references of a loss reason: the declaration in common.funnel and both uses
    refs = await client.text_document_references_async(
        t.ReferenceParams(
            text_document=_doc(main),
            position=_pos(client, MAIN, offset_of(MAIN, "no_budget", occurrence=1)),
            context=t.ReferenceContext(include_declaration=True),
        )
    )
    assert refs is not None
    assert sorted((r.uri, r.range.start.line) for r in refs) == sorted(
        [(common.as_uri(), 2), (main.as_uri(), 6), (main.as_uri(), 11)]
    )

    # rename the pit everywhere; a clash and a bad id are refused
    pit = _pos(client, MAIN, offset_of(MAIN, "-> pit", inside=4))
    prepared = await client.text_document_prepare_rename_async(
        t.PrepareRenameParams(text_document=_doc(main), position=pit)
    )
    assert isinstance(prepared, t.Range)
    assert prepared.start == _pos(client, MAIN, offset_of(MAIN, "-> pit", inside=3))
    edit = await client.text_document_rename_async(
        t.RenameParams(text_document=_doc(main), position=pit, new_name="dead")
    )
    assert edit is not None and edit.changes is not None
    ids = [m.start() for m in re.finditer(r"\bpit\b", MAIN)]  # lost pit, -> pit, revive pit
    assert sorted((e.range.start.line, e.range.start.character) for e in edits_of(edit, main)) == [
        client_position(MAIN, i, client.encoding) for i in ids
    ]
    assert {e.new_text for e in edits_of(edit, main)} == {"dead"}
    russian = client.profile.startswith("neovim")
    refusals = r"здесь уже объявлен|не идентификатор" if russian else r"already declared|not an id"
    for bad in ("new", "9lives"):
        with pytest.raises(Exception, match=refusals):
            await client.text_document_rename_async(
                t.RenameParams(text_document=_doc(main), position=pit, new_name=bad)
            )


async def test_editing_features(client: Client) -> None:
    main: Path = client.main
    await _open(client, main, MAIN)

    # completion of stage ids after `->`
    after_arrow = offset_of(MAIN, "timeout -> ", inside=len("timeout -> "))
    items = await client.text_document_completion_async(
        t.CompletionParams(text_document=_doc(main), position=_pos(client, MAIN, after_arrow))
    )
    labels = {i.label for i in _items(items)}
    assert {"new", "met", "pit", "junk", "paid"} <= labels

    # completion of field ids after `requires`, declared in the imported file
    after_requires = offset_of(MAIN, "requires ", inside=len("requires "))
    items = await client.text_document_completion_async(
        t.CompletionParams(text_document=_doc(main), position=_pos(client, MAIN, after_requires))
    )
    labels = {i.label for i in _items(items)}
    assert labels == {"contact_phone"}

    # hierarchical symbols: pipeline → phases → stages
    found = await client.text_document_document_symbol_async(
        t.DocumentSymbolParams(text_document=_doc(main))
    )
    assert found is not None
    (pipeline,) = found
    assert isinstance(pipeline, t.DocumentSymbol) and pipeline.name == "sales"
    phases = {c.name: [s.name for s in c.children or []] for c in pipeline.children or []}
    assert phases == {"lead": ["new", "junk"], "deal": ["met", "paid", "pit"]}
    met = next(s for c in pipeline.children or [] for s in c.children or [] if s.name == "met")
    assert met.selection_range.start == _pos(client, MAIN, offset_of(MAIN, "met", inside=0))

    # semantic tokens: decode and check the declaration of `met` and a use of `no_budget`
    tokens = await client.text_document_semantic_tokens_full_async(
        t.SemanticTokensParams(text_document=_doc(main))
    )
    assert tokens is not None and isinstance(tokens, t.SemanticTokens)
    decoded = []
    line = col = 0
    for i in range(0, len(tokens.data), 5):
        dl, dc, length, kind, mods = tokens.data[i : i + 5]
        line += dl
        col = col + dc if dl == 0 else dc
        decoded.append((line, col, length, kind, mods))
    met_at = _pos(client, MAIN, offset_of(MAIN, "met", inside=0))
    assert (met_at.line, met_at.character, 3, 5, 1) in decoded  # enumMember, declaration
    reason_at = _pos(client, MAIN, offset_of(MAIN, "no_budget", occurrence=1, inside=0))
    assert (reason_at.line, reason_at.character, 9, 7, 0) in decoded  # enum, a use

    # formatting through funnelc fmt's own function
    from funnelc.fmt import format_text

    edits = await client.text_document_formatting_async(
        t.DocumentFormattingParams(
            text_document=_doc(main), options=t.FormattingOptions(tab_size=2, insert_spaces=True)
        )
    )
    expected = format_text(MAIN, str(main)).text
    assert edits and edits[0].new_text == expected


async def test_code_action_from_a_diagnostics_fix(client: Client) -> None:
    main: Path = client.main
    text = MAIN.replace("timeout -> pit", "timeout -> pitt")
    found = await _open(client, main, text)
    f102 = next(d for d in found if d.code == "F102")
    at = offset_of(text, "pitt", inside=0)
    assert (f102.range.start, f102.range.end) == (
        _pos(client, text, at),
        _pos(client, text, at + 4),
    )
    actions = await client.text_document_code_action_async(
        t.CodeActionParams(
            text_document=_doc(main),
            range=f102.range,
            context=t.CodeActionContext(diagnostics=[f102]),
        )
    )
    assert actions
    (fix,) = [a for a in actions if isinstance(a, t.CodeAction)]
    assert fix.kind == t.CodeActionKind.QuickFix and fix.edit is not None
    (edit,) = edits_of(fix.edit, main)
    assert edit.new_text == "pit" and edit.range == f102.range
    # `pitt` is one edit from the one close id `pit`: a safe fix (docs/diagnostics.md), preferred
    assert fix.is_preferred
