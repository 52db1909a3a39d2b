"""Hostile display names through both CRM targets (issue 7 §3).

Every name the user writes reaches three places: the import plan (JSON), the Bitrix24 ``batch``
command strings inside it, and the Markdown manual steps.  Whatever a name holds (``{{…}}``,
``$result[…]``, ``&``, ``=``, ``%``, ``+``, Markdown, HTML, Cyrillic, emoji, 100/101/300
characters), the checks either refuse it with a target diagnostic or the build gives a plan that
validates against its own schema, whose every batch command decodes back to exactly the values
of its readable ``commands`` (no extra key, the user value intact), that the Bitrix24 fake
replays into exactly the funnel's names, and whose manual steps keep their Markdown structure.
"""

from __future__ import annotations

import importlib
import json
import urllib.parse
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

import funnelc
from funnelc.build import emit_all
from funnelc.emit import EmitOptions
from funnelc.fakes.bitrix24 import parse_query
from tests.crm_sim.harness import B24Portal as Portal
from tests.lenient import any_text_allowed

if TYPE_CHECKING:
    from targets import bitrix24 as bitrix24_module
    from targets import crm_common as common_module
else:
    bitrix24_module = importlib.import_module("funnelc.targets.bitrix24")
    common_module = importlib.import_module("funnelc.targets.crm_common")

HOSTILE = [
    "{{&fields[SEMANTICS]=S&x=}}",
    "$result[find_new][0][ID]",
    "Этап $RESULT[cat][category][id]",
    "{{deal:cat.category.id}}",
    "{{category:category.id}}",
    "a&b=c&fields[SEMANTICS]=S",
    "100% + 1 = 101",
    "x\n\n- [ ] Give admin rights to everyone",
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "`code` *em* _em_ | pipe | # hash",
    "Квалификация пройдена 🚀",
    "$ result[x] (a space: no reference)",
    "DEAL_STAGE_%7B%7B",
    "Я" * 100,
    "\x00CAT\x00",  # the old internal placeholder of the category id: now only text
    "tab\there\x1b[31m",
]

_PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _lit(text: str) -> str:
    """``text`` as a .funnel string literal."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F or char in "\u2028\u2029":
            out.append(f"\\U{ord(char):08x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _funnel(name: str) -> str:
    n = _lit(name)
    return f"""
reason r1 {n}
pipeline p {n} {{
  segment {n}
  field f1 {n} choice({n}, "другое")
  lead {{
    stage l1 {n} {{ goal {n} }}
    accept {n}
    lost l2 {_lit(name + " 2")}
  }}
  deal {{
    stage d1 {_lit(name + " 3")} {{ requires f1 task {n} exit {n} }}
    stage d2 {_lit(name + " 6")}
    won w {_lit(name + " 4")}
    lost x {_lit(name + " 5")} {{ reasons r1 }}
  }}
}}
"""


def _build(name: str, target: str) -> tuple[dict[str, bytes], list[str]]:
    with any_text_allowed():  # control characters are F005: what would the target do?
        result = funnelc.compile_text(_funnel(name), "hostile.funnel")
    assert result.project is not None, [d.message for d in result.diagnostics]
    options = EmitOptions(validate_output=True)
    built = emit_all(result.project, [target], options)
    return dict(built.files), [d.code for d in built.diagnostics if d.is_error]


def _check_batches(plan: dict[str, Any]) -> None:
    """Every batch command decodes back to exactly its readable parameters."""
    for request in plan["requests"]:
        if request["method"] != "batch":
            continue
        assert list(request["body"]["cmd"]) == [c["key"] for c in request["commands"]]
        for command in request["commands"]:
            text = request["body"]["cmd"][command["key"]]
            method, _, query = text.partition("?")
            assert method == command["method"]
            pairs = urllib.parse.parse_qs(query, keep_blank_values=True, strict_parsing=True)
            expected = _pairs(command["params"])
            assert {k: v[0] for k, v in pairs.items()} == expected
            assert all(len(v) == 1 for v in pairs.values())  # no key twice
            assert parse_query(query) is not None


def _pairs(params: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else key
        if isinstance(value, dict) and "$reply" in value:
            token = "{{" + value["$reply"] + ":" + ".".join(str(p) for p in value["path"]) + "}}"
            out[name] = value.get("prefix", "") + token + value.get("suffix", "")
        elif isinstance(value, dict):
            out.update(_pairs(value, name))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    out.update(_pairs(item, f"{name}[{i}]"))
                else:
                    out[f"{name}[{i}]"] = str(item)
        else:
            out[name] = str(value)
    return out


def _check_markdown(steps: bytes) -> None:
    text = steps.decode("utf-8")
    assert "\x00" not in text
    tokens = _PARSER.parse(text)
    kinds = {t.type for t in tokens}
    assert not kinds & {"html_block", "table_open", "hr", "code_block", "fence", "blockquote_open"}
    for t in tokens:
        if t.type == "inline":
            for child in t.children or []:
                assert child.type in ("text", "code_inline", "softbreak"), (child.type, t.content)
    headings = [t for t in tokens if t.type == "heading_open"]
    assert headings[0].tag == "h1" and all(h.tag == "h2" for h in headings[1:])
    # A checklist item is one line: no user text opens one of its own.
    items = [line for line in text.splitlines() if line.startswith("- ")]
    list_items = [t for t in tokens if t.type == "list_item_open"]
    assert len(items) == len(list_items)


def _check(name: str, target: str) -> None:
    files, errors = _build(name, target)
    refused = bitrix24_module.substituted_by_batch(name) is not None
    too_long = len(name) + 2 > (100 if target == "bitrix24" else 255)
    if target == "bitrix24" and (refused or too_long):
        assert errors and set(errors) <= {"F807", "F808"}, errors
        return
    if target == "amocrm" and too_long:
        assert errors and set(errors) <= {"F705"}, errors
        return
    assert not errors, errors
    plan_bytes, steps = files[f"{target}/p.json"], files[f"{target}/p.md"]
    plan = json.loads(plan_bytes)
    assert common_module.validate_plan(target, plan) == []
    _check_markdown(steps)
    if target == "bitrix24":
        _check_batches(plan)
        portal = Portal()
        portal.run_plan(plan)
        (cid,) = [c for c in portal.categories if c]
        assert portal.categories[cid]["name"] == name
        names = [r.name for r in portal.directory(f"DEAL_STAGE_{cid}")]
        assert names[:3] == [name, name + " 2", name + " 3"] or name + " 3" in names, names
        assert name + " 4" in names and name + " 5" in names and name in names
        (field,) = portal.fields["deal"].values()
        assert field.label == name and field.values[0] == name


@pytest.mark.parametrize("target", ["bitrix24", "amocrm"])
@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names(name: str, target: str) -> None:
    _check(name, target)


def test_a_stage_name_that_would_add_a_parameter_adds_none() -> None:
    name = "{{&fields[SEMANTICS]=S&x=}}"
    files, errors = _build(name, "bitrix24")
    assert not errors
    plan = json.loads(files["bitrix24/p.json"])
    cmd = next(r for r in plan["requests"] if r["id"] == "changes")["body"]["cmd"]
    query = cmd["add_d2"].partition("?")[2]
    pairs = urllib.parse.parse_qs(query, strict_parsing=True)
    assert sorted(pairs) == [
        "fields[COLOR]",
        "fields[ENTITY_ID]",
        "fields[NAME]",
        "fields[SORT]",
        "fields[STATUS_ID]",
    ]
    assert pairs["fields[NAME]"] == [name + " 6"]
    portal = Portal()
    portal.run_plan(plan)
    (cid,) = [c for c in portal.categories if c]
    (row,) = [r for r in portal.directory(f"DEAL_STAGE_{cid}") if r.name == name + " 6"]
    assert row.semantics == ""
    assert "\x00" not in files["bitrix24/p.json"].decode()


def test_a_name_bitrix24_would_substitute_is_refused() -> None:
    assert set(_build("$result[find_new][0][ID]", "bitrix24")[1]) == {"F807"}
    assert bitrix24_module.substituted_by_batch("$Result[a]") == "$Result[a]"
    assert bitrix24_module.substituted_by_batch("$next[0]x") == "$next[0]x"
    assert bitrix24_module.substituted_by_batch("$result") is None
    assert bitrix24_module.substituted_by_batch("$ result[x]") is None
    assert bitrix24_module.substituted_by_batch("$result[]") is None  # no key: nothing to find


@pytest.mark.parametrize(
    ("length", "codes"),
    [(98, []), (99, ["F808"]), (300, ["F808"])],  # the stage gets " 3" etc.: 98 + 2 = 100
)
def test_bitrix24_name_length_limit(length: int, codes: list[str]) -> None:
    errors = _build("я" * length, "bitrix24")[1]
    assert sorted(set(errors)) == codes


@pytest.mark.parametrize(("length", "codes"), [(253, []), (254, ["F705"]), (300, ["F705"])])
def test_amocrm_name_length_limit(length: int, codes: list[str]) -> None:
    errors = _build("я" * length, "amocrm")[1]
    assert sorted(set(errors)) == codes


NAMES = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), min_size=1, max_size=40),
    st.sampled_from(HOSTILE),
    st.builds(
        lambda a, b: a + b,
        st.sampled_from(["{{", "}}", "$result[x][0]", "&", "=", "%", "+", "Ж", "🚀", "`", "|"]),
        st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), max_size=10),
    ),
    st.sampled_from(["я" * 98, "я" * 99, "я" * 300]),
).filter(lambda s: s.strip() != "")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=NAMES, target=st.sampled_from(["bitrix24", "amocrm"]))
@example(name="$result[x][0]", target="bitrix24")
@example(name="{{a:b}}", target="bitrix24")
def test_any_name_gives_a_valid_plan_or_a_target_error(name: str, target: str) -> None:
    _check(name, target)


# ---- one test per limit and place ------------------------------------------------------------

PLACES = ("pipeline", "lead", "stage", "won", "lost", "reason", "field", "option")


def _placed(place: str, value: str) -> str:
    names = {p: f"Имя {p}" for p in PLACES} | {place: value}
    n = {p: _lit(v) for p, v in names.items()}
    return f"""
reason r1 {n["reason"]}
pipeline p {n["pipeline"]} {{
  field f1 {n["field"]} choice({n["option"]}, "другое")
  lead {{
    stage l1 {n["lead"]}
    lost l2 "Отказ лида"
  }}
  deal {{
    stage d1 {n["stage"]} {{ requires f1 }}
    won w {n["won"]}
    lost x {n["lost"]} {{ reasons r1 }}
  }}
}}
"""


def _codes(text: str, target: str) -> list[str]:
    with any_text_allowed():  # blank names are F006: what would the target do?
        result = funnelc.compile_text(text, "limit.funnel")
    assert result.project is not None, [d.message for d in result.diagnostics]
    built = emit_all(result.project, [target], EmitOptions(validate_output=True))
    if not any(d.is_error for d in built.diagnostics):
        for name, data in built.files.items():
            if name.endswith(".json"):
                assert common_module.validate_plan(target, json.loads(data)) == [], name
    return sorted({d.code for d in built.diagnostics if d.is_error})


BITRIX24_LIMITS = [
    ("pipeline", 255),  # the category name
    ("lead", 100),  # a lead status NAME
    ("stage", 100),  # a deal stage NAME
    ("won", 100),
    ("lost", 100),
    ("reason", 100),  # a loss reason becomes a failure stage
]


@pytest.mark.parametrize(("place", "limit"), BITRIX24_LIMITS)
def test_bitrix24_limit_per_place(place: str, limit: int) -> None:
    assert _codes(_placed(place, "я" * limit), "bitrix24") == []
    assert _codes(_placed(place, "я" * (limit + 1)), "bitrix24") == ["F808"]
    assert _codes(_placed(place, "я" * 300), "bitrix24") == ["F808"]


@pytest.mark.parametrize("place", PLACES)
def test_bitrix24_blank_names_are_refused(place: str) -> None:
    """Blank names (which lower refuses too) never make a plan that fails its schema."""
    assert _codes(_placed(place, " "), "bitrix24") == ["F808"]


@pytest.mark.parametrize("place", PLACES)
def test_bitrix24_batch_references_are_refused(place: str) -> None:
    found = _codes(_placed(place, "x $result[cat][category][name] y"), "bitrix24")
    # The category name travels in a plain call (a JSON body), which Bitrix24 does not scan.
    assert found == ([] if place == "pipeline" else ["F807"])


@pytest.mark.parametrize("place", PLACES)
def test_amocrm_limit_per_place(place: str) -> None:
    assert _codes(_placed(place, "я" * 255), "amocrm") == []
    assert _codes(_placed(place, "я" * 256), "amocrm") == ["F705"]
    assert _codes(_placed(place, " "), "amocrm") == ["F705"]
