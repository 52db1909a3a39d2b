"""Messages in the user's language: the gettext catalogues, late rendering, and every command.

* The catalogue (``funnelc/locale/ru/LC_MESSAGES/funnelc.po``) has every id the code uses (every
  ``_``/``N_``/``lazy``/``ngettext`` literal, the code catalogue, the rules, the targets, the
  parser's mistakes), no stale entry, three forms for each plural entry, the same ``{fields}``
  in msgid and msgstr, Russian text; it is in canonical form; compiled, stdlib ``gettext`` reads
  it back entry for entry, and Babel agrees on the plural rule and on the extracted ids.
* Late rendering: a diagnostic made in English is shown in Russian from its message ids and
  arguments — for every error and lint case, identical to one made in Russian.
* Every command accepts ``--lang ru`` and prints no English sentence.
* ``explain`` in Russian: a page for every code, whose example shows the Russian rendering of
  the English page's example, and the rules' explanations from the catalogue.
"""

from __future__ import annotations

import gettext
import io
import pickle
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import funnelc
from funnelc.cli import app
from funnelc.codes import CODES, make
from funnelc.codes_targets import TARGET_CODES
from funnelc.diagnostics import Diagnostic, render_help, render_label, render_message
from funnelc.diff.codes import BREAKING_CODES
from funnelc.emit import REGISTRY
from funnelc.i18n import (
    Msg,
    Text,
    _,
    catalogue,
    detect_language,
    join,
    lazy,
    message_ids,
    ngettext,
    pgettext,
    pgettext_noop,
    po_path,
    render,
    set_language,
    using,
)
from funnelc.i18n_tools import extract, fields, merge_json, plural_count, problems
from funnelc.lint.rules import RULES
from funnelc.po import Catalogue, Entry, compile_mo, parse_po, write_po
from funnelc.po import key as po_key
from funnelc.render import render_human, render_json
from funnelc.sarif import render_github, render_sarif
from funnelc.source import SourceFile
from tests.conftest import COMMANDS, ROOT, TESTS
from tests.crm_sim.casefiles import blocks, section

CYRILLIC = re.compile(r"[А-Яа-яЁё]")
PO = po_path("ru")
DOCS = ROOT / "docs" / "codes"
RU_DOCS = DOCS / "ru"


# ---- the catalogue ------------------------------------------------------------------------


def _po() -> Catalogue:
    return parse_po(PO.read_text(encoding="utf-8"))


def test_catalogue_is_complete_and_consistent() -> None:
    """Every id used is translated, none is stale, plurals have 3 forms, fields match."""
    catalogue_ = _po()
    assert plural_count(catalogue_) == 3
    found = problems(catalogue_, extract(), 3)
    assert not found, "run `python -m funnelc.i18n_tools update` and translate:\n" + "\n".join(
        found
    )


def test_translations_are_russian() -> None:
    for entry in _po().entries.values():
        forms = entry.plural_forms if entry.plural is not None else [entry.msgstr]
        words = re.sub(r"`[^`]*`|\{[^}]*\}", "", entry.msgid)
        for form in forms:
            if re.search(r"[a-z]{3}", words):
                assert CYRILLIC.search(form), f"not translated: {entry.msgid!r} -> {form!r}"


def test_fields_ignore_braces_in_code_spans() -> None:
    assert fields("use `{a}` for {b} and {c:>3}") == {"b", "c"}


def test_catalogue_is_canonical() -> None:
    """Sorted by msgid and in the form ``write_po`` writes, so diffs stay reviewable."""
    text = PO.read_text(encoding="utf-8")
    assert write_po(parse_po(text)) == text
    ids = list(parse_po(text).entries)
    assert ids == sorted(ids)


def test_no_json_catalogue_and_no_compiled_catalogue_in_the_source_tree() -> None:
    locale = ROOT / "funnelc" / "locale"
    assert not list(locale.rglob("*.json")), "merge it: python -m funnelc.i18n_tools merge-json"
    assert not list(locale.rglob("*.mo")), "the .mo is built into the wheel, not committed"


def test_compiled_catalogue_reads_back_with_stdlib_gettext() -> None:
    catalogue_ = _po()
    compiled = gettext.GNUTranslations(io.BytesIO(compile_mo(catalogue_)))
    for entry in catalogue_.entries.values():
        if entry.context is not None:
            assert compiled.pgettext(entry.context, entry.msgid) == entry.msgstr
        elif entry.plural is None:
            assert compiled.gettext(entry.msgid) == entry.msgstr
        else:
            for n, form in ((1, 0), (3, 1), (5, 2), (21, 0), (22, 1), (11, 2), (112, 2)):
                shown = compiled.ngettext(entry.msgid, entry.plural, n)
                assert shown == entry.plural_forms[form], (entry.msgid, n)


def test_compiled_catalogue_matches_babel() -> None:
    """Babel, reading the same ``.po``, compiles a ``.mo`` with the same messages."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with PO.open("rb") as handle:
        babel_catalogue = read_po(handle)
    buffer = io.BytesIO()
    write_mo(buffer, babel_catalogue)
    theirs = gettext.GNUTranslations(io.BytesIO(buffer.getvalue()))
    ours = gettext.GNUTranslations(io.BytesIO(compile_mo(_po())))
    catalog_of: Callable[[gettext.GNUTranslations], dict[object, str]] = lambda t: {  # noqa: E731
        k: v
        for k, v in t._catalog.items()  # type: ignore[attr-defined]
        if k != ""
    }
    assert catalog_of(ours) == catalog_of(theirs)


def test_plural_forms_header_is_babels_rule_for_russian() -> None:
    from babel import Locale
    from babel.plural import to_python

    rule = to_python(Locale.parse("ru").plural_form)
    index = {"one": 0, "few": 1, "many": 2, "other": 2}
    header = _po().header_field("Plural-Forms")
    plural = gettext.c2py(header.split("plural=", 1)[1].rstrip(";"))
    for n in range(0, 250):
        assert plural(n) == index[rule(n)], n


def test_babel_extraction_sees_the_same_ids() -> None:
    """``babel.cfg`` drives Babel's extractor to the same ids as ``i18n_tools``."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)  # type: ignore[no-untyped-call]
    seen: set[str] = set()
    for _path, _line, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        seen.add(po_key(message if isinstance(message, str) else message[0], context))
    assert seen == set(extract())
    assert po_key("timeout", "diagram") in seen  # a msgctxt entry, as Babel reads it


# ---- msgctxt: the same English text translated another way in another place ------------------


def _with_contexts() -> Catalogue:
    header = Entry(
        "",
        "Language: ru\nContent-Type: text/plain; charset=UTF-8\n"
        "Plural-Forms: nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 "
        ": n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);\n",
    )
    entries = [
        Entry("timeout", "таймаут"),
        Entry("timeout", "по сроку", comments=["#. the edge label"], context="diagram"),
        Entry("timeout", "истечение", context='a "quoted" context'),
        Entry(
            "{n} step",
            plural="{n} steps",
            plural_forms=["{n} шаг", "{n} шага", "{n} шагов"],
            context="diagram",
        ),
    ]
    return Catalogue(header, {e.key: e for e in entries})


def test_po_round_trip_with_msgctxt() -> None:
    catalogue_ = _with_contexts()
    text = write_po(catalogue_)
    assert 'msgctxt "diagram"\nmsgid "timeout"\nmsgstr "по сроку"\n' in text
    assert '#. the edge label\nmsgctxt "diagram"\n' in text  # comments come before msgctxt
    again = parse_po(text)
    assert again == catalogue_
    assert write_po(again) == text
    assert list(again.entries) == sorted(again.entries)  # canonical: sorted by key
    assert again.entries["diagram\x04timeout"].msgstr == "по сроку"
    assert again.entries["timeout"].context is None
    # A msgctxt that gettext tools wrap over several lines reads as one string.
    wrapped = parse_po('msgctxt ""\n"dia"\n"gram"\nmsgid "next"\nmsgstr "далее"\n')
    assert wrapped.entries[po_key("next", "diagram")].msgstr == "далее"
    with pytest.raises(ValueError, match="duplicate msgid 'next' \\(msgctxt 'diagram'\\)"):
        parse_po('msgctxt "diagram"\nmsgid "next"\nmsgstr "a"\n\n' * 2)


def test_compiled_msgctxt_is_looked_up_by_stdlib_gettext() -> None:
    compiled = gettext.GNUTranslations(io.BytesIO(compile_mo(_with_contexts())))
    assert compiled.gettext("timeout") == "таймаут"
    assert compiled.pgettext("diagram", "timeout") == "по сроку"
    assert compiled.pgettext('a "quoted" context', "timeout") == "истечение"
    assert compiled.pgettext("elsewhere", "timeout") == "timeout"  # no such context: English
    assert compiled.npgettext("diagram", "{n} step", "{n} steps", 3) == "{n} шага"
    # The catalogue itself, as the wheel's build hook compiles it (funnelc/_build.py).
    from funnelc._build import compiled_catalogues

    data = compiled_catalogues()["locale/ru/LC_MESSAGES/funnelc.mo"]
    shipped = gettext.GNUTranslations(io.BytesIO(data))
    assert shipped.pgettext("diagram", "timeout") == "по сроку"
    assert shipped.gettext("timeout") == "таймаут"
    assert shipped.gettext("diagram|timeout") == "diagram|timeout"  # the old id is gone


def test_babel_reads_our_msgctxt_as_we_do() -> None:
    """Babel reads the ``.po`` we write (contexts included) as we do, and we read Babel's."""
    from babel.messages.pofile import read_po
    from babel.messages.pofile import write_po as babel_write_po

    for text in (write_po(_with_contexts()), PO.read_text(encoding="utf-8")):
        ours = parse_po(text)
        theirs = read_po(io.BytesIO(text.encode("utf-8")))
        babel_ids = {
            po_key(m.id if isinstance(m.id, str) else m.id[0], m.context): m.string
            for m in theirs
            if m.id
        }
        assert babel_ids == {
            k: (tuple(e.plural_forms) if e.plural is not None else e.msgstr)
            for k, e in ours.entries.items()
        }
        buffer = io.BytesIO()
        babel_write_po(buffer, theirs, omit_header=True, width=0)
        back = parse_po(buffer.getvalue().decode("utf-8"))
        assert {k: e.msgstr for k, e in back.entries.items()} == {
            k: e.msgstr for k, e in ours.entries.items()
        }
    in_context, plain = theirs.get("timeout", context="diagram"), theirs.get("timeout")
    assert in_context is not None and in_context.string == "по сроку"
    assert plain is not None and plain.string == "таймаут"


def test_context_messages_render_late_in_any_language() -> None:
    assert render(Msg("timeout", context="diagram"), "ru") == "по сроку"
    assert render(Msg("timeout"), "ru") == "таймаут"
    assert render(Msg("timeout", context="diagram"), "en") == "timeout"
    assert pgettext_noop("diagram", "timeout") == Msg("timeout", context="diagram")
    with using("ru"):
        shown = pgettext("diagram", "timeout")
        assert shown == "по сроку"
    assert render(shown, "en") == "timeout"
    filled = Msg("{n} step", plural="{n} steps", n=5, context="diagram").with_args(n=5)
    assert filled.context == "diagram"
    assert catalogue("ru")[po_key("timeout", "diagram")] == "по сроку"


def test_check_and_update_know_msgctxt() -> None:
    """``i18n_tools check`` names a missing or stale context; ``update`` adds it untranslated."""
    from funnelc.i18n_tools import Extracted, update

    extracted = {
        po_key("next", "diagram"): Extracted("next", context="diagram"),
        "next": Extracted("next"),
    }
    catalogue_ = Catalogue(
        Entry("", "Plural-Forms: nplurals=3; plural=0;\n"),
        {
            "next": Entry("next", "далее"),
            po_key("next", "table"): Entry("next", "следующий", context="table"),
        },
    )
    assert problems(catalogue_, extracted, 3) == [
        "missing: 'next' (msgctxt 'diagram')",
        "stale: 'next' (msgctxt 'table')",
    ]
    updated = update(catalogue_, extracted)
    assert set(updated.entries) == set(extracted)
    added = updated.entries[po_key("next", "diagram")]
    assert (added.context, added.msgid, added.msgstr) == ("diagram", "next", "")
    assert 'msgctxt "diagram"\nmsgid "next"\nmsgstr ""' in write_po(updated)
    # The extractor sees pgettext and pgettext_noop, context first.
    from funnelc.i18n_tools import extract_source

    found = list(extract_source('pgettext("diagram", "next")\npgettext_noop("c", "id")\n'))
    assert found == [(1, "next", None, "diagram"), (2, "id", None, "c")]


def test_merge_json_carries_a_json_era_catalogue_over() -> None:
    """The tool the merge uses for branches that still add to ``ru.json``."""
    catalogue_ = Catalogue(Entry(""), {})
    left = merge_json(
        catalogue_,
        {
            "nothing to compile": "нечего компилировать",
            "{count} errors": ["{count} ошибка", "{count} ошибки", "{count} ошибок"],
            "{count} gone": ["a", "b", "c"],
        },
    )
    assert left == ["{count} gone"]
    assert catalogue_.entries["nothing to compile"].msgstr == "нечего компилировать"
    plural = catalogue_.entries["{count} error"]
    assert plural.plural == "{count} errors" and plural.plural_forms[2] == "{count} ошибок"
    assert parse_po(write_po(catalogue_)).entries.keys() == catalogue_.entries.keys()


def test_po_round_trip_of_awkward_strings() -> None:
    text = 'a "quoted" \\ back\tslash\nnew line ' + "word " * 30
    catalogue_ = Catalogue(Entry("", "Language: ru\n"), {text: Entry(text, "перевод " + text)})
    again = parse_po(write_po(catalogue_))
    assert again.entries[text].msgstr == "перевод " + text
    assert again.header_field("language") == "ru"


def test_legacy_mapping_view() -> None:
    ru = catalogue("ru")
    assert ru["{count} errors"] == ["{count} ошибка", "{count} ошибки", "{count} ошибок"]
    assert {i for i in message_ids() if i in ru} == message_ids()


# ---- the run-time API ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, "1 ошибка"),
        (2, "2 ошибки"),
        (5, "5 ошибок"),
        (11, "11 ошибок"),
        (21, "21 ошибка"),
        (22, "22 ошибки"),
        (112, "112 ошибок"),
    ],
)
def test_russian_plurals(count: int, expected: str) -> None:
    with using("ru"):
        assert ngettext("{count} error", "{count} errors", count).format(count=count) == expected
    assert ngettext("{count} error", "{count} errors", 1) == "{count} error"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "ru_RU.UTF-8"}, "ru"),
        ({"LC_ALL": "ru_RU.UTF-8", "LANG": "en_US.UTF-8"}, "ru"),
        ({"FUNNELC_LANG": "en", "LANG": "ru_RU.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({}, "en"),
    ],
)
def test_language_from_the_environment(environ: dict[str, str], expected: str) -> None:
    assert detect_language(environ) == expected


def test_set_language_and_unknown_languages() -> None:
    with using("en"):
        set_language("ru")
        assert _("nothing to compile") == "нечего компилировать"
        set_language("en")
        assert _("nothing to compile") == "nothing to compile"
    with pytest.raises(ValueError, match="unsupported language"):
        set_language("de")


def test_text_keeps_its_message_through_format_and_concatenation() -> None:
    """``_(…).format(…)``, ``+`` and :func:`join` stay renderable in another language."""
    hint = _("did you mean `{name}`?").format(name="qualified")
    assert isinstance(hint, Text) and hint == "did you mean `qualified`?"
    assert render(hint, "ru") == "возможно, имелось в виду `qualified`?"
    where = _(" in pipeline `{pipeline}`").format(pipeline="b2b")
    message = lazy("unknown stage `{name}`{where}", name="x", where=where)
    assert render(message, "en") == "unknown stage `x` in pipeline `b2b`"
    assert render(message, "ru") == "неизвестный этап `x` в воронке `b2b`"
    both = "«" + _("nothing to compile") + "»"
    assert render(both, "ru") == "«нечего компилировать»"
    listed = join(", ", [_("a string"), "`x`"])
    assert render(listed, "en") == "a string, `x`"
    assert CYRILLIC.search(render(listed, "ru"))
    counted = ngettext("{count} error", "{count} errors", 5).format(count=5)
    assert render(counted, "ru") == "5 ошибок"
    assert pickle.loads(pickle.dumps(counted)) == "5 errors"
    # Formatting unescapes braces, as str.format does; an unformatted message keeps them.
    assert _("use {{x}}").format() == "use {x}" and _("use {{x}}") == "use {{x}}"
    # A string from the user's file is shown as it is in every language.
    assert render("`Успех`", "ru") == "`Успех`"
    assert render(Msg("nothing to compile"), "ru") == "нечего компилировать"


def test_render_needs_no_global_state() -> None:
    diagnostic = make("F505", None, paths="`x`")
    with using("ru"):
        assert render_message(diagnostic, "en") == "no `.funnel` files found in `x`"
    assert CYRILLIC.search(render_message(diagnostic, "ru"))


def _cases() -> list[Path]:
    return sorted((TESTS / "errors").glob("*.funnel")) + sorted(
        (TESTS / "lint" / "anti").glob("*.funnel")
    )


def _lint_cases() -> list[tuple[str, str]]:
    import yaml

    out = []
    for path in sorted((TESTS / "lint").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in data.get("fail", []):
            out.append((f"{path.stem}/{case['name']}", case["source"]))
    return out


def _compile(case: Path | str) -> funnelc.Result:
    if isinstance(case, Path):
        return funnelc.compile(case, lint=True)
    return funnelc.compile_text(case, "example.funnel", lint=True)


@pytest.mark.parametrize(
    "case",
    [*_cases(), *(source for _name, source in _lint_cases())],
    ids=[p.stem for p in _cases()] + [name for name, _source in _lint_cases()],
)
def test_late_rendering_equals_early_rendering(case: Path | str) -> None:
    """Compiled in English, rendered in Russian = compiled and rendered in Russian, in every
    format — so nothing was frozen into English when the diagnostic was made."""
    english = _compile(case)
    with using("ru"):
        russian = _compile(case)
        early = [
            render_human(russian.diagnostics, russian.sources),
            render_json(russian.diagnostics, russian.sources),
            render_sarif(russian.diagnostics, russian.sources),
            render_github(russian.diagnostics, russian.sources),
        ]
    late = [
        render_human(english.diagnostics, english.sources, lang="ru"),
        render_json(english.diagnostics, english.sources, "ru"),
        render_sarif(english.diagnostics, english.sources, lang="ru"),
        render_github(english.diagnostics, english.sources, "ru"),
    ]
    assert english.diagnostics
    assert late == early
    # and the other way round: made in Russian, shown in English
    assert render_human(russian.diagnostics, russian.sources, lang="en") == render_human(
        english.diagnostics, english.sources, lang="en"
    )


def _target_cases() -> list[object]:
    from tests import test_target_codes as tt

    return list(tt.CASE_LIST)


@pytest.mark.parametrize("case", _target_cases(), ids=lambda c: getattr(c, "name", ""))
def test_late_rendering_of_target_diagnostics(
    case: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CRM targets' diagnostics (F7xx–F9xx) render late too."""
    from tests import test_target_codes as tt

    assert isinstance(case, tt.Case)
    monkeypatch.chdir(ROOT)

    def run() -> tuple[list[Diagnostic], dict[str, SourceFile]]:
        result = funnelc.compile(case.path.relative_to(ROOT))
        built = tt.build(result, case.target, case.unsupported, case.options, case.inject)
        return built, dict(result.sources)

    english, sources = run()
    with using("ru"):
        russian, _sources = run()
        early = render_human(russian, sources)
    assert english
    assert render_human(english, sources, lang="ru") == early


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.stem)
def test_every_diagnostic_renders_in_russian(case: Path) -> None:
    result = funnelc.compile(case, lint=True)
    for d in result.diagnostics:
        assert CYRILLIC.search(re.sub(r"`[^`]*`", "", render_message(d, "ru"))), d.message
        help_line = render_help(d, "ru")
        if help_line:
            outside = re.sub(r"`[^`]*`", "", help_line)
            assert CYRILLIC.search(outside) or not re.search("[a-z]{4}", outside), help_line
        for label in d.labels:
            shown = render_label(label, "ru")
            assert not shown or CYRILLIC.search(shown) or not re.search("[a-z]{4}", shown)


def test_labels_of_lint_findings_render_late() -> None:
    pipeline = (
        'pipeline {id} "Продажи" {{\n  segment "Покупатели из нашего города"\n'
        '  deal {{ stage new "Новый клиент" won paid "Оплата получена" lost no "Отказ" }}\n}}\n'
    )
    text = pipeline.format(id="a") + pipeline.format(id="b")
    result = funnelc.compile_text(text, "example.funnel", lint=True)
    labelled: list[Diagnostic] = [d for d in result.diagnostics if d.labels]
    assert labelled
    assert all(CYRILLIC.search(render_label(d.labels[0], "ru")) for d in labelled)


# ---- every command in Russian -------------------------------------------------------------


def _identifiers() -> set[str]:
    """Words that are ids, not English: rule groups, presets, severities, target names, the
    language's keywords, and the like."""
    words = {"funnelc", "SLA", "CRM", "JSON", "SVG", "DOT", "REST", "API", "Graphviz"}
    for rule in RULES:
        words.update((rule.group, rule.preset, rule.severity.value, rule.name))
    words.update(REGISTRY)
    words.update(("error", "warning", "info", "minimal", "recommended", "strict"))
    grammar = (ROOT / "grammar" / "funnel.lark").read_text(encoding="utf-8")
    words.update(re.findall(r'"([a-z]+)"', grammar))
    return words


_IDS = _identifiers()


def english_runs(text: str) -> list[str]:
    """Runs of three or more English words outside code: fenced blocks, backticks, quoted
    values, paths,
    ids with digits, ``-`` or ``_`` and the words of :func:`_identifiers` do not count."""
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", " | ", text)
    text = re.sub(r"'[^'\s]*'", " | ", text)  # quoted values in click's messages
    text = re.sub(r"\S*[/\\_\-\d@#{}\[\]<>=]\S*", " | ", text)
    runs: list[str] = []
    current: list[str] = []
    for token in re.findall(r"[A-Za-zА-Яа-яЁё']+|[^\sA-Za-zА-Яа-яЁё]", text):
        if re.fullmatch(r"[A-Za-z']+", token) and token not in _IDS:
            current.append(token)
            continue
        if token in (",", ":", ";", "(", ")") and current:
            continue
        if len(current) >= 3:
            runs.append(" ".join(current))
        current = []
    if len(current) >= 3:
        runs.append(" ".join(current))
    return runs


def test_english_detector() -> None:
    assert english_runs("error: the text does not follow") == ["the text does not follow"]
    assert english_runs("ошибка[F102]: неизвестный этап `qualifed in here`") == []
    assert english_runs("L001  result-named-stage  naming  warning  recommended  M1") == []


def _write_project(root: Path) -> Path:
    (root / "funnelc.toml").write_text('targets = ["json"]\n', encoding="utf-8")
    (root / "ok.funnel").write_text(
        'pipeline p "Продажи" {\n'
        '  segment "Компании, которые сами оставили заявку"\n'
        "  deal {\n"
        '    stage new "Новый клиент"\n'
        '    won paid "Оплата получена"\n'
        '    lost failed "Не реализовано"\n'
        "  }\n"
        "}\n",
        encoding="utf-8",
    )
    return root


def _russian_runs(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--lang", "ru"])
    output = result.stdout + result.stderr
    return result.exit_code, output


def test_lang_is_accepted_by_every_command() -> None:
    root = typer.main.get_command(app)
    commands = root.commands  # type: ignore[attr-defined]
    assert set(commands) == set(COMMANDS)
    for name, command in commands.items():
        options = {o for p in command.params for o in getattr(p, "opts", [])}
        assert "--lang" in options, name


@pytest.mark.parametrize(
    "args",
    [
        ["check", "ok.funnel"],
        ["check", "ok.funnel", "--strict"],
        ["check", str(TESTS / "errors" / "F102-unknown-stage.funnel")],
        ["check", str(TESTS / "lint" / "anti" / "manager_actions.funnel"), "--strict"],
        ["check", "ok.funnel", "-f", "json"],
        ["check", str(TESTS / "lint" / "anti" / "manager_actions.funnel"), "-f", "sarif"],
        ["check", str(TESTS / "lint" / "anti" / "manager_actions.funnel"), "-f", "github"],
        ["check", "nowhere.funnel"],
        ["build", "ok.funnel", "-o", "out"],
        ["build", "ok.funnel", "-t", "jsno"],
        ["build", "ok.funnel", "-o", "out", "--check"],
        ["build", str(TESTS / "errors" / "F102-unknown-stage.funnel"), "-o", "out"],
        ["explain", "F102"],
        ["explain", "L001"],
        ["explain", "F1O2"],
        ["explain", "L01"],
        ["codes"],
        ["rules"],
        ["rules", "-f", "json"],
        ["targets"],
        *([command, "--help"] for command in COMMANDS),
        ["check", "--format", "xml"],
        ["check", "--bogus"],
        ["build", "--render-timeout", "soon"],
        ["explain"],
        ["bogus"],
    ],
    ids=lambda a: " ".join(Path(x).name for x in a),
)
def test_command_speaks_russian(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(_write_project(tmp_path))
    _code, output = _russian_runs(args)
    assert output.strip()
    assert not english_runs(output), english_runs(output)


def test_top_level_help_follows_the_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUNNELC_LANG", "ru")
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "Использование:" in result.stdout and "Команды:" in result.stdout
    assert not english_runs(result.stdout), english_runs(result.stdout)
    monkeypatch.setenv("FUNNELC_LANG", "en")
    assert "Usage:" in CliRunner().invoke(app, ["--help"]).stdout


def test_schema_accepts_lang_and_stays_a_machine_artefact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The JSON Schema is data for editors and validators; its descriptions stay English."""
    monkeypatch.chdir(tmp_path)
    code, output = _russian_runs(["schema"])
    assert code == 0 and output.startswith("{")


def test_strict_says_that_warnings_failed_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = str(TESTS / "lint" / "anti" / "manager_actions.funnel")
    code, output = _russian_runs(["check", path, "--strict"])
    assert code == 1
    assert "проваливают запуск из-за `--strict`" in output or "проваливает запуск" in output
    result = CliRunner().invoke(app, ["check", path, "--strict", "--lang", "en"])
    assert "fail the run because of `--strict`" in result.stderr or (
        "fails the run because of `--strict`" in result.stderr
    )
    assert "because of" not in CliRunner().invoke(app, ["check", path, "--lang", "en"]).stderr


# ---- explain in Russian -------------------------------------------------------------------


def test_every_code_has_a_russian_page() -> None:
    missing = sorted(c for c in CODES if not (RU_DOCS / f"{c}.md").is_file())
    assert not missing, f"docs/codes/ru is missing {missing}"
    strays = sorted(p.stem for p in RU_DOCS.glob("*.md") if p.stem not in CODES)
    assert not strays


def _ru_pages() -> list[Path]:
    return sorted(RU_DOCS.glob("*.md"))


@pytest.mark.parametrize("page", _ru_pages(), ids=lambda p: p.stem)
def test_russian_page_shape(page: Path) -> None:
    """Same heading, the sections ``Пример`` and ``Как исправить``, the same ``.funnel`` and
    ``.toml`` snippets as the English page, and Russian prose."""
    text = page.read_text(encoding="utf-8")
    english = (DOCS / page.name).read_text(encoding="utf-8")
    code = page.stem
    assert text.startswith(f"# {code}: {CODES[code].name}\n\n")
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert [line for line in text.splitlines() if line.startswith("## ")] == [
        "## Пример",
        "## Как исправить",
    ]
    for kind in ("funnel", "toml"):
        assert blocks(text, kind) == blocks(english, kind), kind
    assert not english_runs(text), english_runs(text)


def _page_diagnostics(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[Diagnostic], dict[str, SourceFile]]:
    """The diagnostics the English page's example produces, the way its tests produce them."""
    from tests import test_diagnostics as td

    monkeypatch.chdir(tmp_path)
    if page.stem in {c.code for c in BREAKING_CODES}:
        from tests import test_diff_codes

        return test_diff_codes.page_diagnostics(page, tmp_path, monkeypatch)
    if page.stem in {c.code for c in TARGET_CODES}:
        from tests import test_target_codes as tt

        text = page.read_text(encoding="utf-8")
        shown = tt.example(section(text, "Example"))
        result = funnelc.compile_text(shown.funnel, "example.funnel")
        inject = page.stem in tt.INTERNAL
        built = tt.build(result, shown.target, shown.unsupported, shown.options, inject)
        return [d for d in built if d.code == page.stem], dict(result.sources)
    if td._kind(page) == "command":
        setup = td.RUNTIME_CASES[td.DOC_RUNTIME_CASES[page.stem]][1]
        diagnostics, sources = setup(tmp_path, monkeypatch)
        return [d for d in diagnostics if d.code == page.stem][:1], dict(sources)
    diagnostics, sources = td.compile_example(page, tmp_path)
    return list(diagnostics), dict(sources)


@pytest.mark.parametrize("page", _ru_pages(), ids=lambda p: p.stem)
def test_russian_page_shows_the_russian_rendering(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bless: bool
) -> None:
    diagnostics, sources = _page_diagnostics(DOCS / page.name, tmp_path, monkeypatch)
    assert diagnostics
    rendered = render_human(diagnostics, sources, lang="ru").rstrip("\n")
    text = page.read_text(encoding="utf-8")
    shown = blocks(section(text, "Пример"), "text")[0]
    if bless and shown.rstrip("\n") != rendered:
        page.write_text(text.replace(shown, rendered + "\n", 1), encoding="utf-8")
        return
    assert shown.rstrip("\n") == rendered


@pytest.mark.parametrize("code", sorted(CODES))
def test_explain_in_russian(code: str) -> None:
    result = CliRunner().invoke(app, ["explain", code, "--lang", "ru"])
    assert result.exit_code == 0
    assert result.stdout == (RU_DOCS / f"{code}.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("rule", [r.code for r in RULES])
def test_explain_rule_in_russian(rule: str) -> None:
    result = CliRunner().invoke(app, ["explain", rule, "--lang", "ru"])
    assert result.exit_code == 0
    assert "## Зачем" in result.stdout
    assert not english_runs(result.stdout), english_runs(result.stdout)


def test_texts_for_is_a_language_bound_gettext_call_the_extractor_reads() -> None:
    from funnelc.i18n import texts_for
    from funnelc.i18n_tools import extract_source

    t = texts_for("ru")
    assert t("Goal: {text}") == "Цель: {text}"
    assert t("Goal: {text}", text="встреча") == "Цель: встреча"
    assert texts_for("en")("Goal: {text}", text="x") == "Goal: x"
    assert t("no such message id") == "no such message id"
    with pytest.raises(ValueError):
        texts_for("de")
    found = list(extract_source('t = texts_for(lang)\nt("Tasks:")\nt(name)\n'))
    assert found == [(2, "Tasks:", None, None)]
