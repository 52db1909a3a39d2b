"""The pure functions under the language server's handlers, called directly, on the document
with Cyrillic, emoji and tabs (tests/lsp/document.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnelc.lsp import actions, completion, hover, rename, semantic_tokens, symbols
from funnelc.lsp.analysis import Build
from funnelc.lsp.positions import LineIndex, choose
from funnelc.lsp.workspace import Workspace
from tests.lsp.document import COMMON, MAIN, client_position, offset_of, write

ENCODINGS = ("utf-16", "utf-8", "utf-32")


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    main, common = write(tmp_path)
    return main.as_posix(), common.as_posix()


@pytest.fixture
def workspace(files: tuple[str, str]) -> Workspace:
    main, _common = files
    ws = Workspace()
    ws.open(main, 1, MAIN)
    assert ws.check(main) == [main]
    return ws


def _build(ws: Workspace, path: str) -> Build:
    return ws.builds[path]


# ---- positions --------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_positions_round_trip_on_every_character(encoding: str) -> None:
    lines = LineIndex(MAIN)
    for offset in range(len(MAIN) + 1):
        position = lines.position(offset, encoding)  # type: ignore[arg-type]
        assert tuple(position) == client_position(MAIN, offset, encoding)
        assert lines.offset(*position, encoding) == offset  # type: ignore[arg-type]


def test_positions_differ_by_encoding_after_an_emoji() -> None:
    lines = LineIndex(MAIN)
    at = offset_of(MAIN, "no_budget", inside=0)  # after «Лид 🗑 отбракован»
    u32 = lines.position(at, "utf-32").character
    assert lines.position(at, "utf-16").character == u32 + 1  # the emoji: a surrogate pair
    assert lines.position(at, "utf-8").character > u32 + 10  # Cyrillic: two bytes each


@given(st.text(alphabet="aЖ😀\t\n", max_size=30), st.integers(0, 40), st.integers(0, 200))
def test_offset_of_any_position_is_a_character_boundary(text: str, line: int, col: int) -> None:
    lines = LineIndex(text)
    for encoding in ENCODINGS:
        offset = lines.offset(line, col, encoding)  # type: ignore[arg-type]
        assert 0 <= offset <= len(text)
        position = lines.position(offset, encoding)  # type: ignore[arg-type]
        assert lines.offset(*position, encoding) == offset  # type: ignore[arg-type]


def test_inside_a_surrogate_pair_is_the_character_start() -> None:
    lines = LineIndex("a😀b")
    assert lines.offset(0, 2, "utf-16") == 1  # half of the pair
    assert lines.offset(0, 3, "utf-16") == 2
    assert lines.offset(0, 3, "utf-8") == 1  # inside the four bytes
    assert lines.offset(0, 99, "utf-8") == 3  # past the end of the line


def test_encoding_negotiation() -> None:
    assert choose(["utf-8", "utf-16"]) == "utf-8"  # Neovim
    assert choose(None) == "utf-16"  # VS Code says nothing
    assert choose(["utf-7"]) == "utf-16"


# ---- diagnostics, index ------------------------------------------------------------------------


def test_diagnostics_are_the_cli_ones(workspace: Workspace, files: tuple[str, str]) -> None:
    from funnelc.compiler import compile

    main, _ = files
    cli = compile([main], lint=True)
    ours = _build(workspace, main).diagnostics_for(main)
    assert [(d.code, str(d.message), d.span.start if d.span else None) for d in ours] == [
        (d.code, str(d.message), d.span.start if d.span else None)
        for d in cli.diagnostics
        if d.span is not None and Path(d.span.path).resolve().as_posix() == main
    ]


def test_several_syntax_errors_and_an_index_of_what_parsed(files: tuple[str, str]) -> None:
    main, _ = files
    ws = Workspace()
    broken = MAIN.replace("sla 5d", "sla 5 d").replace('won paid "', "won paid ")
    ws.open(main, 1, broken)
    ws.check(main)
    errors = [d.code for d in ws.builds[main].diagnostics_for(main) if d.is_error]
    assert len(errors) >= 2 and all(c.startswith("F0") for c in errors)


def test_a_change_to_an_imported_file_checks_its_importer(files: tuple[str, str]) -> None:
    main, common = files
    ws = Workspace()
    ws.open(main, 1, MAIN)
    ws.open(common, 1, COMMON)
    ws.check(main)
    ws.change(common, 2, COMMON.replace("no_budget", "no_money"))
    published = ws.check(common)
    assert set(published) == {main, common}
    assert "F104" in {d.code for d in ws.builds[main].diagnostics_for(main)}


def test_an_overlay_wins_over_the_file_on_disk(files: tuple[str, str]) -> None:
    main, common = files
    ws = Workspace()
    ws.open(common, 1, COMMON + 'reason late "Поздно"\n')
    ws.open(main, 1, MAIN.replace("reasons no_budget }\n\t}", "reasons late }\n\t}"))
    ws.check(main)
    assert not [d for d in ws.builds[main].diagnostics_for(main) if d.is_error]


# ---- hover ------------------------------------------------------------------------------------


def test_hover_on_a_stage_use(workspace: Workspace, files: tuple[str, str]) -> None:
    main, _ = files
    found = hover.hover(_build(workspace, main), main, offset_of(MAIN, "-> new", inside=4))
    assert found is not None
    text, span = found
    assert MAIN[span.start : span.end] == "new"
    for part in ("Заявка получена 📩", "goal: Клиент 😀 оставил контакты", "sla: 2h"):
        assert part in text
    assert "`met`" in text  # leads to the first deal stage (the handoff)


def test_hover_on_outcome_field_reason_pipeline(
    workspace: Workspace, files: tuple[str, str]
) -> None:
    main, _ = files
    build = _build(workspace, main)
    cases = {
        offset_of(MAIN, "pit", inside=1): "Умиральная яма 🕳",
        offset_of(MAIN, "contact_phone"): "Телефон 📞",
        offset_of(MAIN, "no_budget"): "Нет бюджета 💸",
        offset_of(MAIN, "sales"): "Продажи 🚀",
        offset_of(MAIN, "met", inside=0): "probability: 40%",
    }
    for offset, expected in cases.items():
        found = hover.hover(build, main, offset)
        assert found is not None and expected in found[0], (offset, found)


def test_hover_on_a_rule_in_a_suppression(files: tuple[str, str]) -> None:
    main, _ = files
    text = MAIN.replace(
        "probability 40% }", "probability 40% }  # funnelc: allow L005, L009 -- это встреча"
    )
    ws = Workspace()
    ws.open(main, 1, text)
    ws.check(main)
    found = hover.hover(ws.builds[main], main, offset_of(text, "L009", inside=2))
    assert found is not None
    assert found[0].startswith("# L009:")
    assert hover.hover(ws.builds[main], main, offset_of(text, "это встреча")) is None


# ---- definition, references, rename -----------------------------------------------------------


def test_definition_across_the_import(workspace: Workspace, files: tuple[str, str]) -> None:
    main, common = files
    span = rename.definition([_build(workspace, main)], main, offset_of(MAIN, "no_budget"))
    assert span is not None and span.path == common
    assert COMMON[span.start : span.end] == "no_budget"


def test_every_kind_of_id_has_its_definition(workspace: Workspace, files: tuple[str, str]) -> None:
    main, _ = files
    build = _build(workspace, main)
    for occurrence in build.index.by_path[main]:
        assert occurrence.key in build.index.declared, occurrence
        assert MAIN[occurrence.span.start : occurrence.span.end] == occurrence.name


def test_references_of_a_stage(workspace: Workspace, files: tuple[str, str]) -> None:
    main, _ = files
    spans = rename.references([_build(workspace, main)], main, offset_of(MAIN, "-> new", 0, 4))
    assert [s.start for s in spans] == [m.start() for m in re.finditer(r"\bnew\b", MAIN)]
    without = rename.references(
        [_build(workspace, main)], main, offset_of(MAIN, "new"), include_declaration=False
    )
    assert len(without) == len(spans) - 1


def test_rename_and_its_refusals(workspace: Workspace, files: tuple[str, str]) -> None:
    main, common = files
    builds = [_build(workspace, main)]
    at = offset_of(MAIN, "no_budget")
    spans = rename.rename(builds, main, at, "no_cash")
    assert sorted({s.path for s in spans}) == sorted({main, common})
    assert len(spans) == 3
    prepared = rename.prepare(builds, main, at)
    assert prepared is not None and MAIN[prepared.start : prepared.end] == "no_budget"
    stage = offset_of(MAIN, "met", inside=0)
    for bad, why in [("pit", "already declared"), ("1x", "not an id"), ("stage", "keyword")]:
        with pytest.raises(rename.RenameError, match=why):
            rename.rename(builds, main, stage, bad)
    assert rename.rename(builds, main, offset_of(MAIN, "sales"), "sales") == []  # no change
    assert rename.rename(builds, main, stage, "meeting_held")
    assert rename.prepare(builds, main, offset_of(MAIN, "Продажи")) is None


# ---- completion -------------------------------------------------------------------------------


def _labels(ws: Workspace, path: str, text: str, offset: int) -> set[str]:
    return {i.label for i in completion.complete(ws.builds.get(path), path, text, offset)}


def test_completion_in_context(workspace: Workspace, files: tuple[str, str]) -> None:
    main, _ = files
    stages = {"new", "junk", "met", "paid", "pit"}
    at = offset_of(MAIN, "timeout -> ", inside=len("timeout -> "))
    assert _labels(workspace, main, MAIN, at) == stages
    at = offset_of(MAIN, "revive ", inside=len("revive "))
    assert _labels(workspace, main, MAIN, at) == {"junk", "pit"}  # lost outcomes first
    at = offset_of(MAIN, "requires ", inside=len("requires "))
    assert _labels(workspace, main, MAIN, at) == {"contact_phone"}
    at = offset_of(MAIN, "reasons ", inside=len("reasons "))
    assert _labels(workspace, main, MAIN, at) == {"no_budget"}
    at = offset_of(MAIN, "sla 2", inside=len("sla 2"))
    assert "2bd" in _labels(workspace, main, MAIN, at)
    at = offset_of(MAIN, "sla ", inside=len("sla "))
    assert "1d" in _labels(workspace, main, MAIN, at)
    # keywords by block: in a stage body, in the deal phase, in the pipeline
    at = offset_of(MAIN, "goal", inside=0)
    assert {"goal", "exit", "requires", "sla"} <= _labels(workspace, main, MAIN, at)
    at = offset_of(MAIN, "\t\twon", inside=2)
    assert {"stage", "won", "lost"} <= _labels(workspace, main, MAIN, at)
    assert "goal" not in _labels(workspace, main, MAIN, at)
    at = offset_of(MAIN, "\ttimeout", inside=1)
    assert {"lead", "deal", "revive", "timeout", "segment"} <= _labels(workspace, main, MAIN, at)
    at = offset_of(MAIN, "Заявка")  # inside a string: nothing
    assert _labels(workspace, main, MAIN, at) == set()


def test_completion_while_typing_uses_the_last_build(
    workspace: Workspace, files: tuple[str, str]
) -> None:
    main, _ = files
    typed = MAIN.replace("\ttimeout -> pit\n", "\ttimeout -> pi\n\tmet -> \n")
    at = offset_of(typed, "met -> ", inside=len("met -> "))
    assert "pit" in _labels(workspace, main, typed, at)
    at = offset_of(typed, "-> pi", inside=len("-> pi"))
    assert "pit" in _labels(workspace, main, typed, at)


# ---- symbols, folding, semantic tokens ---------------------------------------------------------


def test_document_symbols_are_hierarchical(workspace: Workspace, files: tuple[str, str]) -> None:
    main, _ = files
    (pipeline,) = symbols.document_symbols(_build(workspace, main), main)
    assert (pipeline.name, pipeline.kind) == ("sales", "pipeline")
    shape = {c.name: [(s.name, s.kind) for s in c.children] for c in pipeline.children}
    assert shape == {
        "lead": [("new", "stage"), ("junk", "outcome")],
        "deal": [("met", "stage"), ("paid", "outcome"), ("pit", "outcome")],
    }
    for phase in pipeline.children:
        assert MAIN[phase.span.start : phase.span.end].startswith(phase.name + " {")
        assert MAIN[phase.span.start : phase.span.end].endswith("}")
        for stage in phase.children:
            assert phase.span.start <= stage.span.start <= stage.span.end <= phase.span.end


def test_folding_ranges(workspace: Workspace, files: tuple[str, str]) -> None:
    main, _ = files
    folds = symbols.folding_ranges(_build(workspace, main), main)
    assert (2, 15, "region") in folds  # the pipeline
    assert (4, 7, "region") in folds  # lead { … }


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8"])
def test_semantic_tokens(workspace: Workspace, files: tuple[str, str], encoding: str) -> None:
    main, _ = files
    build = _build(workspace, main)
    found = semantic_tokens.tokens(MAIN, build.index, main)
    kinds = {MAIN[a:b]: (kind, mods) for a, b, kind, mods in found}
    assert kinds["pipeline"] == ("keyword", 0)
    assert kinds["sales"] == ("namespace", 1)
    assert kinds["2h"] == ("number", 0)
    assert kinds["40%"] == ("number", 0)
    assert kinds['"Оплата 💳 получена"'] == ("string", 0)
    data = semantic_tokens.encode(MAIN, found, encoding)  # type: ignore[arg-type]
    assert len(data) == 5 * len(found)  # no token spans lines here
    line = col = 0
    decoded = []
    for i in range(0, len(data), 5):
        line += data[i]
        col = col + data[i + 1] if data[i] == 0 else data[i + 1]
        decoded.append((line, col, data[i + 2]))
    for (start, end, _k, _m), (dline, dcol, length) in zip(found, decoded, strict=True):
        assert (dline, dcol) == client_position(MAIN, start, encoding)
        assert length == client_position(MAIN, end, encoding)[1] - dcol


def test_a_long_string_token_is_split_by_line() -> None:
    from funnelc.lsp.analysis import build_index

    text = 'pipeline p """\n  два 😀\n  три\n"""'
    found = semantic_tokens.tokens(text, build_index((), {}), "x")
    data = semantic_tokens.encode(text, found, "utf-16")
    assert len(data) == 5 * (2 + 4)  # `pipeline`, `p`, and one token per line of the string


# ---- code actions -----------------------------------------------------------------------------


def test_suppression_action_silences_the_finding(files: tuple[str, str]) -> None:
    main, _ = files
    ws = Workspace()
    ws.open(main, 1, MAIN)
    ws.check(main)
    build = ws.builds[main]
    l005 = next(d for d in build.diagnostics_for(main) if d.code == "L005")
    assert l005.span is not None
    found = actions.actions(build.sources[main], [l005], l005.span.start, l005.span.end)
    suppression = next(a for a in found if "allow" in a.edits[0][1])
    ((span, new_text),) = suppression.edits
    edited = MAIN[: span.start] + new_text + MAIN[span.end :]
    assert re.search(r"probability 40% \}  # funnelc: allow [a-z-]+ -- \S", edited)
    ws.change(main, 2, edited)
    ws.check(main)
    codes = [d.code for d in ws.builds[main].diagnostics_for(main)]
    assert "L005" not in codes
    assert not [c for c in codes if c.startswith("L0") and c not in ("L005", "L008", "L009")]


def test_fix_actions_come_from_the_diagnostics_fix(files: tuple[str, str]) -> None:
    main, _ = files
    ws = Workspace()
    ws.open(main, 1, MAIN.replace("-> pit", "-> pitt"))
    ws.check(main)
    build = ws.builds[main]
    f102 = next(d for d in build.diagnostics_for(main) if d.code == "F102")
    assert f102.span is not None
    found = actions.actions(build.sources[main], [f102], f102.span.start, f102.span.end)
    if getattr(f102, "fix", None) is None:
        assert found == []  # no structured fixes in this compiler yet
        return
    (action,) = found
    ((span, new_text),) = action.edits
    assert new_text == "pit" and MAIN.replace("-> pit", "-> pitt")[span.start : span.end] == "pitt"
