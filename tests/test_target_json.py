"""The ``json`` target and its schema: golden files, schema validity, determinism, text fidelity.

Golden files cover two corpora, each compiled as one build from the repository root (so the
``source.file`` paths in them do not depend on where pytest was started):

* ``examples/`` → ``tests/golden/json/<pipeline>.json`` (only if it holds ``.funnel`` files);
* ``tests/fixtures/json/`` → ``tests/golden/json/fixtures/<pipeline>.json``.

The fixtures get a folder of their own because their pipeline ids could clash with the
examples'.  Refresh with ``pytest --bless`` and review the diff.
"""

from __future__ import annotations

import contextlib
import copy
import fnmatch
import functools
import importlib
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funnelc
from funnelc.emit import EmitOptions
from funnelc.render import render_human
from funnelc.schema import SCHEMA_ID, load_schema, schema_path, validate_document
from tests.conftest import EXAMPLES, ROOT, TESTS, check_golden

if TYPE_CHECKING:
    # mypy sees the checkout's ``targets`` package; at run time it is ``funnelc.targets``.
    from targets.json_model import JsonModelTarget

_module = importlib.import_module("funnelc.targets.json_model")
JSON: JsonModelTarget = _module.TARGET
FIXTURES = TESTS / "fixtures" / "json"
GOLDEN = TESTS / "golden" / "json"
DOCS = ROOT / "docs" / "targets" / "json.md"


@dataclass(frozen=True)
class Corpus:
    name: str
    directory: Path
    golden: Path

    def __str__(self) -> str:
        return self.name


CORPORA = (
    Corpus("examples", EXAMPLES, GOLDEN),
    Corpus("fixtures", FIXTURES, GOLDEN / "fixtures"),
)


def _has_sources(directory: Path) -> bool:
    return directory.is_dir() and any(directory.rglob("*.funnel"))


@functools.cache
def compiled(directory: Path) -> funnelc.Result:
    """One build of ``directory``, compiled from the repository root (once per session)."""
    with contextlib.chdir(ROOT):
        return funnelc.compile([directory.relative_to(ROOT)], root=ROOT)


def emit(result: funnelc.Result, pipeline_id: str, *, validate: bool = True) -> bytes:
    assert result.project is not None
    pipeline = result.project.pipeline(pipeline_id)
    assert pipeline is not None
    emitted = JSON.emit(result.project, pipeline, EmitOptions(validate_output=validate))
    assert list(emitted.files) == [f"{pipeline_id}.json"]
    assert emitted.diagnostics == ()
    return emitted.files[f"{pipeline_id}.json"]


def _cases() -> list[Any]:
    """(corpus, pipeline id) for every pipeline; a corpus that does not compile is one case
    with pipeline ``None``, which fails and shows the diagnostics."""
    cases: list[Any] = []
    for corpus in CORPORA:
        if not _has_sources(corpus.directory):
            continue
        result = compiled(corpus.directory)
        if not result.ok or result.project is None:
            cases.append(pytest.param(corpus, None, id=f"{corpus}-does-not-compile"))
            continue
        for pipeline in result.project.pipelines:
            cases.append(pytest.param(corpus, pipeline.id.name, id=f"{corpus}-{pipeline.id.name}"))
    return cases


CASES = _cases()


def _require_compiled(corpus: Corpus, pipeline_id: str | None) -> funnelc.Result:
    result = compiled(corpus.directory)
    if pipeline_id is None:
        pytest.fail(
            f"{corpus.directory.relative_to(ROOT)} does not compile:\n"
            + render_human(result.diagnostics, result.sources)
        )
    return result


def fixture_document(pipeline_id: str = "inbound") -> dict[str, Any]:
    document: dict[str, Any] = json.loads(emit(compiled(FIXTURES), pipeline_id))
    return document


# ---- golden files ------------------------------------------------------------------------------


@pytest.mark.parametrize(("corpus", "pipeline_id"), CASES)
def test_golden(corpus: Corpus, pipeline_id: str | None, bless: bool) -> None:
    result = _require_compiled(corpus, pipeline_id)
    assert pipeline_id is not None
    check_golden(corpus.golden / f"{pipeline_id}.json", emit(result, pipeline_id), bless)


@pytest.mark.parametrize("corpus", CORPORA, ids=str)
def test_no_stale_golden_files(corpus: Corpus, bless: bool) -> None:
    """A golden file whose pipeline is gone would otherwise linger unchecked forever."""
    expected: set[str] = set()
    if _has_sources(corpus.directory):
        result = compiled(corpus.directory)
        if result.project is None:
            pytest.skip("the corpus does not compile; test_golden reports it")
        expected = {f"{p.id.name}.json" for p in result.project.pipelines}
    stale = sorted(
        p for p in corpus.golden.glob("*.json") if p.is_file() and p.name not in expected
    )
    if bless:
        for path in stale:
            path.unlink()
    else:
        assert not stale, f"golden files without a pipeline (run pytest --bless): {stale}"


def test_fixtures_cover_what_they_promise() -> None:
    """The golden tests are only as good as the fixtures: keep these features in them."""
    result = compiled(FIXTURES)
    assert result.ok, render_human(result.diagnostics, result.sources)
    docs = [fixture_document(p) for p in ("inbound", "renewal")]
    stages = [s for d in docs for s in d["stages"]]
    edges = [e for d in docs for e in d["edges"]]
    units = {s["sla"]["unit"] for s in stages if s["sla"]} | {
        e["delay"]["unit"] for e in edges if e["delay"]
    }
    assert units == {"min", "h", "d", "w", "bd"}
    assert any(d["lead"] is not None for d in docs) and any(d["lead"] is None for d in docs)
    assert {"choice", "multichoice"} <= {f["type"] for d in docs for f in d["fields"]}
    cross = {e["kind"] for e in edges if e["from"]["pipeline"] != e["to"]["pipeline"]}
    assert cross == {"next", "revive"}
    imported = [f for f in docs[0]["fields"] if f["source"]["file"].endswith("renewal.funnel")]
    assert imported, "inbound should see the fields of the file it imports"


# ---- the schema --------------------------------------------------------------------------------


@pytest.mark.parametrize(("corpus", "pipeline_id"), CASES)
def test_every_document_validates(corpus: Corpus, pipeline_id: str | None) -> None:
    result = _require_compiled(corpus, pipeline_id)
    assert pipeline_id is not None
    document = json.loads(emit(result, pipeline_id, validate=False))
    assert validate_document(document) == []
    assert document["$schema"] == SCHEMA_ID


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    from jsonschema import Draft202012Validator

    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_ID
    assert schema["title"]


def test_schema_is_strict_everywhere() -> None:
    """Every object in the schema closes its properties, so a typo in the emitter is caught."""

    def objects(node: object) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        if isinstance(node, dict):
            if node.get("type") == "object":
                found.append(node)
            for value in node.values():
                found.extend(objects(value))
        elif isinstance(node, list):
            for value in node:
                found.extend(objects(value))
        return found

    schema_objects = objects(load_schema())
    assert len(schema_objects) >= 8
    for obj in schema_objects:
        assert obj.get("additionalProperties") is False, obj
        assert sorted(obj["required"]) == sorted(obj["properties"]), obj


def test_schema_enums_match_the_model() -> None:
    from funnelc.model import FIELD_TYPES, DurationUnit, EdgeKind, Phase, StageKind

    defs = load_schema()["$defs"]
    assert defs["stage"]["properties"]["phase"]["enum"] == [p.value for p in Phase]
    assert defs["stage"]["properties"]["kind"]["enum"] == [k.value for k in StageKind]
    assert defs["duration"]["properties"]["unit"]["enum"] == [u.value for u in DurationUnit]
    assert defs["edge"]["properties"]["kind"]["enum"] == [k.value for k in EdgeKind]
    assert defs["field"]["properties"]["type"]["enum"] == list(FIELD_TYPES)


def _stage(doc: dict[str, Any], stage_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in doc["stages"] if s["id"] == stage_id)
    return found


def _edge(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    found: dict[str, Any] = next(e for e in doc["edges"] if e["kind"] == kind)
    return found


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    """A mutation that sets ``value`` at a dotted path (``stages.3.probability``)."""

    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def _delete(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda doc: doc.pop(key)


# In the inbound fixture: stages 0 new (lead, sla), 2 spam (lead lost), 3 meeting, 4 proposal
# (choice of fields), 6 paid (won); fields 1 channel (choice), 3 budget (money).
MUTATIONS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "unknown stage kind": (_set("stages.3.kind", "pending"), "$.stages[3].kind"),
    "unknown phase": (_set("stages.3.phase", "after"), "$.stages[3].phase"),
    "extra top-level key": (_set("funnelc_version", "0.1.0"), "$"),
    "extra stage key": (_set("stages.3.then", "contract"), "$.stages[3]"),
    "extra key in source": (_set("source.offset", 12), "$.source"),
    "missing key": (_delete("segment"), "$"),
    "probability 150": (_set("stages.3.probability", 150), "$.stages[3].probability"),
    "probability -1": (_set("stages.3.probability", -1), "$.stages[3].probability"),
    "probability as a string": (_set("stages.3.probability", "10%"), "$.stages[3].probability"),
    "probability as a bool": (_set("stages.3.probability", True), "$.stages[3].probability"),
    "id with a dash": (_set("id", "in-bound"), "$.id"),
    "id starting with a digit": (_set("stages.3.id", "1st"), "$.stages[3].id"),
    "unknown duration unit": (_set("stages.3.sla.unit", "y"), "$.stages[3].sla"),
    "zero duration": (_set("stages.3.sla.value", 0), "$.stages[3].sla"),
    "iso8601 for business days": (
        _set("stages.5.sla.iso8601", "P5D"),
        "$.stages[5].sla",
    ),
    "colour not normalised": (_set("stages.4.color", "#2E7D32"), "$.stages[4].color"),
    "line 0": (_set("source.line", 0), "$.source.line"),
    "format version 2": (_set("format_version", 2), "$.format_version"),
    "another schema": (_set("$schema", "urn:funnelc:schema:funnel-model:v2"), "$['$schema']"),
    "outcome with an SLA": (
        _set("stages.6.sla", {"value": 1, "unit": "d", "iso8601": "P1D", "text": "1d"}),
        "$.stages[6].sla",
    ),
    "key outcome": (_set("stages.6.key", True), "$.stages[6].key"),
    "won lead stage": (_set("stages.2.kind", "won"), "$.stages[2].kind"),
    "loss reasons on an open stage": (
        _set("stages.3.loss_reasons", ["silent"]),
        "$.stages[3].loss_reasons",
    ),
    "timeout without an SLA": (_set("stages.3.sla", None), "$.stages[3].timeout"),
    "SLA without a timeout": (_set("stages.3.timeout", None), "$.stages[3].timeout"),
    "choice without options": (_set("fields.1.options", []), "$.fields[1].options"),
    "money with options": (_set("fields.3.options", ["a"]), "$.fields[3].options"),
    "unknown field type": (_set("fields.3.type", "currency"), "$.fields[3].type"),
    "too few stages": (lambda d: d["stages"].__delitem__(slice(2, None)), "$.stages"),
}


def _edge_mutation(kind: str, key: str, value: object) -> Callable[[dict[str, Any]], None]:
    return lambda doc: _edge(doc, kind).__setitem__(key, value)


EDGE_MUTATIONS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "unknown edge kind": (_edge_mutation("advance", "kind", "jump"), ".kind"),
    "timeout edge without its SLA": (_edge_mutation("timeout", "sla", None), ".sla"),
    "SLA on an advance": (
        _edge_mutation(
            "advance", "sla", {"value": 1, "unit": "h", "iso8601": "PT1H", "text": "1h"}
        ),
        ".sla",
    ),
    "delay on an explicit edge": (
        _edge_mutation(
            "explicit", "delay", {"value": 5, "unit": "bd", "iso8601": None, "text": "5bd"}
        ),
        ".delay",
    ),
    "criteria on a lose edge": (_edge_mutation("lose", "criteria", ["x"]), ".criteria"),
    "extra key in a stage ref": (
        lambda doc: _edge(doc, "next")["to"].__setitem__("name", "x"),
        ".to",
    ),
}


def test_fixture_document_is_valid_before_mutation() -> None:
    """The mutation tests below mean something only if the untouched document passes."""
    doc = fixture_document()
    assert validate_document(doc) == []
    assert [s["id"] for s in doc["stages"]][:7] == [
        "new",
        "called",
        "spam",
        "meeting",
        "proposal",
        "contract",
        "paid",
    ]


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_mutated_document_is_rejected(name: str) -> None:
    mutate, path = MUTATIONS[name]
    doc = copy.deepcopy(fixture_document())
    mutate(doc)
    errors = validate_document(doc)
    assert errors, f"{name}: the schema accepted it"
    assert any(e.startswith(f"{path}:") for e in errors), errors


@pytest.mark.parametrize("name", sorted(EDGE_MUTATIONS))
def test_mutated_edge_is_rejected(name: str) -> None:
    mutate, suffix = EDGE_MUTATIONS[name]
    doc = copy.deepcopy(fixture_document())
    mutate(doc)
    errors = validate_document(doc)
    assert any(re.match(rf"\$\.edges\[\d+\]{re.escape(suffix)}", e) for e in errors), errors


def test_validate_output_raises_on_an_invalid_document(monkeypatch: pytest.MonkeyPatch) -> None:
    """``validate_output`` is the debug switch that turns an emitter bug into a loud failure."""
    original = _module.document

    def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        doc: dict[str, Any] = original(*args, **kwargs)
        doc["stages"][0]["kind"] = "pending"
        return doc

    monkeypatch.setattr(_module, "document", broken)
    result = compiled(FIXTURES)
    with pytest.raises(AssertionError, match=r"\$\.stages\[0\]\.kind"):
        emit(result, "inbound", validate=True)
    emit(result, "inbound", validate=False)  # without the switch, no check and no error


def test_schema_ships_with_the_targets() -> None:
    """The wheel carries ``funnelc.targets`` package data matching ``*.json`` from ``targets/``;
    the schema must be one of those files, or ``funnelc schema`` breaks once installed."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config["tool"]["setuptools"]
    assert (ROOT / setuptools["package-dir"]["funnelc.targets"]).resolve() == (
        schema_path().parent.resolve()
    )
    patterns = setuptools["package-data"]["funnelc.targets"]
    assert any(fnmatch.fnmatch(schema_path().name, p) for p in patterns)
    assert schema_path().is_file()


# ---- determinism and positions -----------------------------------------------------------------


def test_emitting_twice_gives_the_same_bytes() -> None:
    result = compiled(FIXTURES)
    assert result.project is not None
    for pipeline in result.project.pipelines:
        first = emit(result, pipeline.id.name)
        with contextlib.chdir(ROOT):
            again = funnelc.compile([FIXTURES.relative_to(ROOT)], root=ROOT)
        assert emit(again, pipeline.id.name) == first
        assert first.endswith(b"}\n") and b"\r" not in first


def test_output_does_not_depend_on_the_hash_seed() -> None:
    """Another process with another hash seed: nothing may depend on set or dict-of-set order."""
    script = (
        "import sys, funnelc\n"
        "from funnelc.emit import EmitOptions, get_target\n"
        "r = funnelc.compile(['tests/fixtures/json'], root='.')\n"
        "t = get_target('json')\n"
        "for p in r.project.pipelines:\n"
        "    files = t.emit(r.project, p, EmitOptions()).files\n"
        "    sys.stdout.buffer.write(files[p.id.name + '.json'])\n"
    )
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, check=True
        )
        outputs.add(run.stdout)
    result = compiled(FIXTURES)
    assert result.project is not None
    expected = b"".join(emit(result, p.id.name) for p in result.project.pipelines)
    assert outputs == {expected}


def test_positions_come_from_the_project_sources() -> None:
    """A project compiled from memory carries its texts, so positions need no file on disk."""
    result = funnelc.compile_text(SMALL, "memory/small.funnel")
    assert result.project is not None
    pipeline = result.project.pipelines[0]
    doc = json.loads(JSON.emit(result.project, pipeline, EmitOptions()).files["small.json"])
    assert doc["stages"][1]["source"] == {"file": "memory/small.funnel", "line": 4, "column": 5}


SMALL = """\
pipeline small "Малая" {
  deal {
    stage a "А"
    stage b "Б"
    won w "Выиграна"
    lost l "Проиграна"
  }
}
"""


def test_positions_count_characters_not_bytes() -> None:
    """Lines and columns are 1-based and count characters: Cyrillic and tabs are one each."""
    text = 'reason r "Причина" pipeline p "Ёлка" {\n\tdeal { stage a "Ж" won w "Ы" lost l "Э" } }\n'
    result = funnelc.compile_text(text, "pos.funnel")
    assert result.ok, render_human(result.diagnostics, result.sources)
    assert result.project is not None
    emitted = JSON.emit(result.project, result.project.pipelines[0], EmitOptions())
    doc = json.loads(emitted.files["p.json"])
    assert doc["loss_reasons"][0]["source"] == {"file": "pos.funnel", "line": 1, "column": 1}
    assert doc["source"] == {"file": "pos.funnel", "line": 1, "column": 20}
    assert [(s["source"]["line"], s["source"]["column"]) for s in doc["stages"]] == [
        (2, 9),
        (2, 21),
        (2, 31),
    ]


# ---- text fidelity -----------------------------------------------------------------------------


def test_cyrillic_stays_unescaped() -> None:
    data = emit(compiled(FIXTURES), "inbound")
    assert "Входящие".encode() in data
    assert b"\\u04" not in data
    assert '"name": "Входящие: \\"горячие\\" заявки"'.encode() in data


def quote(value: str) -> str:
    """``value`` as a .funnel string literal."""
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'


_FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""What the compiler refuses in a string (F005): the C0 controls but tab and line feed, DEL,
C1 and the bidirectional overrides and isolates."""

# Pieces that need care (quotes, backslashes, line breaks, Cyrillic, emoji with a skin-tone
# modifier, a literal backslash-n, JSON's own control characters), mixed with any other
# character that UTF-8 can carry (lone surrogates cannot be, and the lexer refuses them).
_INTERESTING = st.sampled_from(
    ['"', "\\", "\n", "\r", "\t", "\0", "\u2028", "Ж", "ё", "🚀", "👍🏽", "\\n", "{", "#", "'"]
)
names = (
    st.lists(st.one_of(_INTERESTING, st.characters(exclude_categories=["Cs"])), max_size=30)
    .map("".join)
    .filter(lambda s: not _FORBIDDEN.search(s))  # control characters are F005
)
display_names = names.filter(str.strip)  # a blank display name is F006


@settings(deadline=None, max_examples=150)
@given(pipeline_name=display_names, stage_name=display_names, segment=names, label=names)
def test_names_round_trip(pipeline_name: str, stage_name: str, segment: str, label: str) -> None:
    text = f"""\
pipeline p {quote(pipeline_name)} {{
  segment {quote(segment)}
  deal {{
    stage a {quote(stage_name)} {{ goal {quote(label)} exit {quote(label)} }}
    won w "W"
    lost l "L"
  }}
  a -> l {quote(label)}
}}
"""
    result = funnelc.compile_text(text, "names.funnel")
    assert result.ok, render_human(result.diagnostics, result.sources)
    assert result.project is not None
    emitted = JSON.emit(result.project, result.project.pipelines[0], EmitOptions())
    data = emitted.files["p.json"]
    doc = json.loads(data.decode("utf-8"))
    assert doc["name"] == pipeline_name
    assert doc["segment"] == segment
    stage = doc["stages"][0]
    assert (stage["name"], stage["goal"], stage["exits"]) == (stage_name, label, [label])
    assert _edge(doc, "explicit")["label"] == label
    # Nothing beyond what JSON requires is escaped: non-ASCII text appears as itself.
    assert json.dumps(stage_name, ensure_ascii=False).encode() in data


# ---- import cost and the documentation ---------------------------------------------------------


def test_jsonschema_is_not_imported_on_the_check_path() -> None:
    script = (
        "import sys, funnelc, funnelc.schema\n"
        "from funnelc.emit import EmitOptions, get_target\n"
        "r = funnelc.compile(['tests/fixtures/json'])\n"
        "assert r.ok\n"
        "t = get_target('json')\n"
        "for p in r.project.pipelines:\n"
        "    t.emit(r.project, p, EmitOptions())\n"
        "print('jsonschema' in sys.modules)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert run.stdout.strip() == "False"


def _code_blocks(language: str) -> list[str]:
    text = DOCS.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.S | re.M)


def test_documented_example_is_real_output() -> None:
    """The example in docs/targets/json.md is what funnelc emits for the source shown there."""
    (source,) = _code_blocks("funnel")
    (expected,) = _code_blocks("json")
    result = funnelc.compile_text(source, "demo.funnel")
    assert result.ok, render_human(result.diagnostics, result.sources)
    assert result.project is not None
    emitted = JSON.emit(result.project, result.project.pipelines[0], EmitOptions())
    assert emitted.files["demo.json"].decode("utf-8") == expected


def test_documentation_names_every_key() -> None:
    """Each key the schema defines has a row in the field-by-field reference."""
    text = DOCS.read_text(encoding="utf-8")
    schema = load_schema()
    keys = set(schema["properties"])
    for definition in schema["$defs"].values():
        keys |= set(definition.get("properties", {}))
    missing = sorted(k for k in keys if f"`{k}`" not in text)
    assert not missing, f"undocumented keys: {missing}"
