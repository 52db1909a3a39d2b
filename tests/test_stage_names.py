"""The stage-name classifier behind lint rules M1, M2 and M3 (funnelc/lint/names.py).

Accuracy is measured on a labelled corpus, tests/lint/stage_names.tsv: real-looking Russian and
English stage names labelled by the methodology's definitions (../shared/methodology.md), not
by what the classifier says.  For each decision a lint rule takes (result-named, in progress,
manager action) the tests compute precision and recall, print them, attach them to the test
report with ``record_property`` (they appear in ``--junitxml`` output) and put them in the
assertion message.

Thresholds:

* result (M1): precision ≥ 0.95, recall ≥ 0.90.  Precision comes first: a false "result" only
  hides a warning, but recall below 0.9 would nag about good names.
* in progress (M2): precision ≥ 0.95, recall ≥ 0.90.  M2 is "rejected outright", so a false
  positive is the costliest mistake the classifier can make; the phrase list is small and
  closed, so recall should be high as well.
* manager action (M3): precision ≥ 0.90, recall ≥ 0.85.  Who acts is a semantic question that
  morphology answers only approximately; about a fifth of the corpus was written as a holdout
  before the last round of tuning, and it scored 0.87 / 0.80 there, so lower bars would hide a
  regression while higher ones would only measure overfitting.

Then unit tests for the parts the corpus cannot pin down (suggestions, ties, ё/е,
abbreviations, English irregular participles and stop-words, laziness) and property tests: the
classifier never raises, and it is deterministic, within a process and across hash seeds.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnelc.lint import names
from funnelc.lint.names import NameKind, NameVerdict, classify

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "lint" / "stage_names.tsv"
LABELS = {kind.value: kind for kind in NameKind if kind is not NameKind.UNKNOWN}

Row = tuple[str, str, str]


def load_corpus() -> list[Row]:
    with CORPUS.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        assert header == ["name", "label", "note"]
        return [(row[0], row[1], row[2]) for row in reader]


@pytest.fixture(scope="module")
def corpus() -> list[Row]:
    return load_corpus()


@pytest.fixture(scope="module")
def verdicts(corpus: list[Row]) -> dict[str, NameVerdict]:
    return {name: classify(name) for name, _, _ in corpus}


# --- the corpus itself -----------------------------------------------------------------------


def test_corpus_is_well_formed(corpus: list[Row]) -> None:
    raw = CORPUS.read_bytes()
    assert raw.endswith(b"\n") and b"\r" not in raw, "LF line endings and a final newline"
    assert len(corpus) >= 200
    names_seen = [name for name, _, _ in corpus]
    duplicates = [n for n, c in collections.Counter(names_seen).items() if c > 1]
    assert not duplicates, duplicates
    for name, label, _ in corpus:
        assert label in LABELS, (name, label)
        assert name == name.strip() and name, repr(name)
    # Both languages and every label are represented well enough to measure.
    counts = collections.Counter(
        (label, "ru" if any("а" <= ch.lower() <= "я" for ch in name) else "en")
        for name, label, _ in corpus
    )
    for label in LABELS:
        for language in ("ru", "en"):
            assert counts[(label, language)] >= 10, (label, language, counts)


def test_corpus_covers_the_reference_pipelines(corpus: list[Row]) -> None:
    """Every stage name of the methodology's five reference pipelines is in the corpus."""
    labelled = {name: label for name, label, _ in corpus}
    reference = {
        # 1. solution sales: process nouns (their exit criteria are the results)
        "Поиск контакта": "process",
        "Профилирование": "process",
        "Квалификация": "process",
        "Выявление требований": "process",
        "Согласование условий": "process",
        "Защита сделки": "process",
        "Подписание и оплата": "process",
        "Внедрение": "process",
        "Обслуживание и допродажи": "process",
        # 2 and 3. real-estate funnels
        "Новый клиент": "process",
        "Контакт состоялся": "result",
        "Встреча назначена": "result",
        "Встреча состоялась": "result",
        "Просмотр объектов состоялся": "result",
        "Сделка открыта": "result",
        "Регистрация сделки": "process",
        "Успешно реализовано": "result",
        "Не реализовано": "result",
        "Онлайн презентация проведена": "result",
        "Объект выбран": "result",
        "Дата приезда подтверждена": "result",
        "Показ объектов состоялся": "result",
        # 4. the manager-action B2B funnel (M3's anti-example)
        "Заявка": "process",
        "Перезвон": "manager_action",
        "Первичные переговоры": "process",
        "Классификация": "process",
        "Отправка КП": "manager_action",
        "Снятие возражений": "manager_action",
        "Выставление счёта": "manager_action",
        # 5. the list of activities
        "Звонок": "manager_action",
        "Встреча": "process",
        "КП": "process",
        "Договор/счет": "process",
        "Оплата": "process",
    }
    wrong = {name: (label, labelled.get(name)) for name, label in reference.items()}
    wrong = {name: pair for name, pair in wrong.items() if pair[0] != pair[1]}
    assert not wrong, wrong


# --- accuracy --------------------------------------------------------------------------------


def _confusion(
    corpus: list[Row], verdicts: dict[str, NameVerdict]
) -> collections.Counter[tuple[str, str]]:
    return collections.Counter((label, verdicts[name].kind.value) for name, label, _ in corpus)


def _matrix_text(confusion: collections.Counter[tuple[str, str]]) -> str:
    predicted = [kind.value for kind in NameKind]
    width = max(len(p) for p in predicted) + 2
    lines = ["truth \\ predicted".ljust(18) + "".join(p.rjust(width) for p in predicted)]
    for truth in LABELS:
        cells = "".join(str(confusion[(truth, p)]).rjust(width) for p in predicted)
        lines.append(truth.ljust(18) + cells)
    return "\n".join(lines)


def _score(
    kind: NameKind,
    corpus: list[Row],
    verdicts: dict[str, NameVerdict],
    record_property: Callable[[str, object], None],
) -> tuple[float, float, str]:
    positive = kind.value
    tp = sum(1 for n, lab, _ in corpus if lab == positive and verdicts[n].kind is kind)
    fp = sum(1 for n, lab, _ in corpus if lab != positive and verdicts[n].kind is kind)
    fn = sum(1 for n, lab, _ in corpus if lab == positive and verdicts[n].kind is not kind)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    errors = [
        f"  {name!r}: labelled {label}, classified {verdicts[name].kind.value}"
        f" ({verdicts[name].evidence})"
        for name, label, _ in corpus
        if (label == positive) != (verdicts[name].kind is kind)
    ]
    report = (
        f"{positive}: precision {precision:.3f} ({tp}/{tp + fp}), "
        f"recall {recall:.3f} ({tp}/{tp + fn}) over {len(corpus)} names\n"
        + _matrix_text(_confusion(corpus, verdicts))
        + ("\nmisclassified:\n" + "\n".join(errors) if errors else "")
    )
    print(report)
    record_property(f"{positive}_precision", round(precision, 4))
    record_property(f"{positive}_recall", round(recall, 4))
    return precision, recall, report


def test_result_named_accuracy(
    corpus: list[Row],
    verdicts: dict[str, NameVerdict],
    record_property: Callable[[str, object], None],
) -> None:
    precision, recall, report = _score(NameKind.RESULT, corpus, verdicts, record_property)
    assert precision >= 0.95 and recall >= 0.90, report


def test_in_progress_accuracy(
    corpus: list[Row],
    verdicts: dict[str, NameVerdict],
    record_property: Callable[[str, object], None],
) -> None:
    precision, recall, report = _score(NameKind.IN_PROGRESS, corpus, verdicts, record_property)
    assert precision >= 0.95 and recall >= 0.90, report


def test_manager_action_accuracy(
    corpus: list[Row],
    verdicts: dict[str, NameVerdict],
    record_property: Callable[[str, object], None],
) -> None:
    precision, recall, report = _score(NameKind.MANAGER_ACTION, corpus, verdicts, record_property)
    assert precision >= 0.90 and recall >= 0.85, report


def test_every_suggestion_is_itself_a_result(
    corpus: list[Row], verdicts: dict[str, NameVerdict]
) -> None:
    """A rewrite offered as help must pass the rule it is offered for."""
    bad = {
        name: (v.suggestion, classify(v.suggestion).kind.value)
        for name, v in verdicts.items()
        if v.suggestion is not None and classify(v.suggestion).kind is not NameKind.RESULT
    }
    assert not bad, bad
    offered = sum(1 for v in verdicts.values() if v.suggestion is not None)
    assert offered >= 100  # suggestions are the norm for process and manager-action names


def test_no_suggestion_for_names_that_need_none(verdicts: dict[str, NameVerdict]) -> None:
    for name, v in verdicts.items():
        if v.kind in {NameKind.RESULT, NameKind.IN_PROGRESS, NameKind.UNKNOWN}:
            assert v.suggestion is None, (name, v)


# --- suggestions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("Квалификация", "Квалификация пройдена"),
        ("Телефонные переговоры", "Переговоры проведены"),
        ("Просмотр объектов", "Просмотр объектов состоялся"),
        ("Встреча", "Встреча проведена"),
        ("Договор", "Договор подписан"),
        ("КП", "КП получено"),
        ("Заявка", "Заявка получена"),
        ("Онлайн презентация", "Онлайн презентация проведена"),
        ("Коммерческое предложение", "Коммерческое предложение получено"),
        ("Встреча с ЛПР", "Встреча с ЛПР проведена"),
        ("Договор на подписании", "Договор подписан"),
        ("Ждём оплату", "Оплата получена"),
        ("ВСТРЕЧА", "Встреча проведена"),
        # action noun + genitive object → the object with the participle, agreed
        ("Подписание договора", "Договор подписан"),
        ("Регистрация сделки", "Сделка зарегистрирована"),
        ("Выявление требований", "Требования выявлены"),
        ("Согласование условий", "Условия согласованы"),
        ("Поиск контакта", "Контакт найден"),
        ("Обсуждение КП", "КП обсуждено"),
        # manager actions → what the customer does in answer
        ("Отправка КП", "КП получено"),
        ("КП отправлено", "КП получено"),
        ("Отправка коммерческого предложения", "Коммерческое предложение получено"),
        ("Выставление счёта", "Счёт оплачен"),
        ("Счёт выставлен", "Счёт оплачен"),
        ("Договор отправлен на подпись", "Договор подписан"),
        ("Звонок", "Контакт состоялся"),
        ("Перезвон", "Контакт состоялся"),
        ("Снятие возражений", "Условия согласованы"),
        ("Презентация проведена менеджером", "Презентация проведена"),
        ("Мы отправили КП", "КП получено"),
        # English
        ("Meeting", "Meeting held"),
        ("Negotiation", "Negotiation completed"),
        ("Needs Analysis", "Needs analysis completed"),
        ("Proposal sent", "Proposal received"),
        ("Invoice issued", "Invoice paid"),
        ("Contract sent", "Contract signed"),
        ("Follow-up call", "Contact made"),
        ("Objections handled", "Terms agreed"),
        ("We sent the proposal", "Proposal received"),
    ],
)
def test_suggestion(name: str, suggestion: str) -> None:
    assert classify(name).suggestion == suggestion


@pytest.mark.parametrize(
    "name",
    ["Новый клиент", "New lead", "Дожим", "Waiting for payment", "Client evaluates proposal"],
)
def test_no_suggestion_where_no_sensible_rewrite_exists(name: str) -> None:
    verdict = classify(name)
    assert verdict.kind is NameKind.PROCESS
    assert verdict.suggestion is None


def test_suggestion_keeps_the_users_e_spelling() -> None:
    """pymorphy spells ё; a user who writes е gets е back, and the other way round."""
    assert classify("Выставление счета").suggestion == "Счет оплачен"
    assert classify("Выставление счёта").suggestion == "Счёт оплачен"
    assert classify("Заключение договора").suggestion == "Договор заключен"
    assert classify("Замер").suggestion == "Замер проведен"


# --- Russian morphology ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Успешно реализовано",
        "Не реализовано",
        "Лид квалифицирован",
        "Следующая сделка инициирована",
    ],
)
def test_bi_aspectual_verbs_pass_through_the_tie(name: str) -> None:
    verdict = classify(name)
    assert verdict.kind is NameKind.RESULT
    assert "tied with impf" in verdict.evidence


def test_the_tie_is_needed() -> None:
    """The top parse alone of "реализовано" is imperfective: without ties it would fail M1."""
    first = names._analyzer().parse("реализовано")[0]
    assert "impf" in first.tag
    assert classify("Реализовано").kind is NameKind.RESULT


def test_present_tense_makes_a_process() -> None:
    verdict = classify("Подписанные документы проверяются")
    assert verdict.kind is NameKind.PROCESS
    assert verdict.evidence.startswith("проверяются: VERB pres")


@pytest.mark.parametrize(
    ("with_yo", "without_yo"),
    [
        ("Счёт оплачен", "Счет оплачен"),
        ("Договор заключён", "Договор заключен"),
        ("Звонок совершён", "Звонок совершен"),
        ("Тёплый лид", "Теплый лид"),
        ("Идёт работа", "Идет работа"),
    ],
)
def test_yo_and_ye_are_the_same(with_yo: str, without_yo: str) -> None:
    assert classify(with_yo).kind is classify(without_yo).kind


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("КП", NameKind.PROCESS),
        ("ЛПР", NameKind.PROCESS),
        ("ТЗ", NameKind.PROCESS),
        ("кп", NameKind.PROCESS),
        ("ЛПР найден", NameKind.RESULT),
        ("ТЗ согласовано", NameKind.RESULT),
        ("КП отправлено", NameKind.MANAGER_ACTION),
        ("кп отправлено", NameKind.MANAGER_ACTION),
        ("Встреча с ЛПР", NameKind.PROCESS),
        ("NDA подписано", NameKind.RESULT),
        ("CRM внедрена", NameKind.RESULT),
        ("NDA signed", NameKind.RESULT),
        ("MQL", NameKind.PROCESS),
    ],
)
def test_abbreviations(name: str, kind: NameKind) -> None:
    assert classify(name).kind is kind


def test_abbreviation_language() -> None:
    assert classify("NDA подписано").language == "ru"
    assert classify("КП").language == "ru"
    assert classify("NDA signed").language == "en"
    assert classify("CRM").language == "en"


def test_abbreviations_are_not_parsed_as_words() -> None:
    assert classify("КП").evidence == "кп: abbreviation, no result verb"


@pytest.mark.parametrize(
    "name",
    [
        "ВСТРЕЧА ПРОВЕДЕНА",
        "встреча проведена",
        "ВсТрЕчА пРоВеДеНа",
        "«Встреча проведена»",
        "Встреча проведена ✅",
        "1. Встреча проведена!",
        "Встре\u0301ча прове\u0301дена",  # stress marks
        "Встреча\u200b проведена",  # zero-width space
        "Встрeча проведена",  # Latin "e" inside a Cyrillic word
    ],
)
def test_case_punctuation_and_invisible_characters(name: str) -> None:
    assert classify(name).kind is NameKind.RESULT


@pytest.mark.parametrize(
    ("name", "repaired"),
    [
        ("Встреча проведенна", "проведена"),
        ("Встреча провдена", "проведена"),
        ("Договор подписанн", "подписан"),
        ("Контакт состоялсяя", "состоялся"),
    ],
)
def test_typos_in_participles_are_repaired_and_flagged(name: str, repaired: str) -> None:
    verdict = classify(name)
    assert verdict.kind is NameKind.RESULT
    assert verdict.guessed
    assert f"~ {repaired}:" in verdict.evidence


def test_dictionary_verdicts_are_not_guesses() -> None:
    assert not classify("Встреча проведена").guessed
    assert not classify("Квалификация").guessed


def test_typo_repair_does_not_turn_process_nouns_into_results() -> None:
    # "дожим" is one edit from "дожил", "прозвон" from "прозван": the shape guard keeps them.
    assert classify("Дожим").kind is NameKind.PROCESS
    assert classify("Прозвон").kind is NameKind.MANAGER_ACTION


def test_unknown_word_with_a_participle_ending_is_a_guessed_result() -> None:
    verdict = classify("Бюджет заапрувлен")
    assert verdict.kind is NameKind.RESULT
    assert verdict.guessed


def test_noun_homonym_of_a_past_verb() -> None:
    """pymorphy reads "Замер" as замереть, "froze"; as a stage it is a measuring visit."""
    assert classify("Замер").kind is NameKind.PROCESS
    assert classify("Замер проведён").kind is NameKind.RESULT


# --- who acts (M3) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Клиент перезвонил", NameKind.RESULT),  # the customer is the subject
        ("ТЗ отправлено клиентом", NameKind.RESULT),  # the customer is the agent
        ("КП отправлено клиенту", NameKind.MANAGER_ACTION),  # the customer only receives
        ("Презентация проведена менеджером", NameKind.MANAGER_ACTION),
        ("Менеджер провёл встречу", NameKind.MANAGER_ACTION),
        ("Звонок назначен", NameKind.RESULT),  # agreed with the customer
        ("Звонок совершён", NameKind.MANAGER_ACTION),  # light verb: the noun decides
        ("Входящий звонок", NameKind.PROCESS),  # the customer called
        ("Customer sent requirements", NameKind.RESULT),
        ("Lead contacted", NameKind.MANAGER_ACTION),
        ("Call scheduled", NameKind.RESULT),
        ("Call", NameKind.MANAGER_ACTION),
        ("Presentation given by manager", NameKind.MANAGER_ACTION),
    ],
)
def test_who_acts(name: str, kind: NameKind) -> None:
    assert classify(name).kind is kind


# --- English ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Meeting held",
        "Meeting set",
        "Demo done",
        "Contact made",
        "Property chosen",
        "Deal won",
        "Deal lost",
        "Verbal yes given",
        "Proposal read",
        "Decision maker bought-in",
        "Meeting held with decision maker",
        "Closed won",
        "Closed - Lost",
        "Lost - no budget",
        "Terms agreed",
    ],
)
def test_english_participles(name: str) -> None:
    assert classify(name).kind is NameKind.RESULT


@pytest.mark.parametrize(
    "name",
    [
        "Interested",
        "Detailed proposal",
        "Required documents",
        "Proceed",
        "Speed",
        "Paid search lead",
        "Needs analysis",
        "Negotiating",
    ],
)
def test_english_stop_words_and_non_participles(name: str) -> None:
    assert classify(name).kind is NameKind.PROCESS


def test_english_needed_is_not_a_result() -> None:
    # "needed" is stop-listed; the name is still the seller's to-do.
    assert classify("Follow-up needed").kind is NameKind.MANAGER_ACTION


# --- in progress (M2) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["В работе", "в рботе", "Вработе", "В процесе", "Сделка в работе", "In progres", "W.I.P."],
)
def test_in_progress_variants(name: str) -> None:
    assert classify(name).kind is NameKind.IN_PROGRESS


@pytest.mark.parametrize(
    "name",
    ["Лид принят в работу", "Взят в работу", "Working session held", "Payment processing"],
)
def test_not_in_progress(name: str) -> None:
    assert classify(name).kind is not NameKind.IN_PROGRESS


def test_in_progress_wins_over_everything() -> None:
    assert classify("КП отправлено, в работе").kind is NameKind.IN_PROGRESS
    assert classify("Встреча проведена, в работе").kind is NameKind.IN_PROGRESS


# --- unknown and the verdict type ------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "   ", "123", "!!! ???", "🔥🔥", "会议", "\u200b"])
def test_unknown(name: str) -> None:
    verdict = classify(name)
    assert verdict.kind is NameKind.UNKNOWN
    assert verdict.suggestion is None


def test_verdict_is_frozen() -> None:
    verdict = classify("Встреча проведена")
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.kind = NameKind.PROCESS  # type: ignore[misc]


def test_import_is_lazy_and_the_analyzer_is_built_once() -> None:
    code = (
        "import sys\n"
        "import funnelc.lint.names as n\n"
        "assert 'pymorphy3' not in sys.modules, 'imported on module import'\n"
        "n.classify('Meeting held')\n"
        "assert 'pymorphy3' not in sys.modules, 'imported for an English name'\n"
        "n.classify('Встреча проведена'); n.classify('Квалификация')\n"
        "assert 'pymorphy3' in sys.modules\n"
        "info = n._analyzer.cache_info()\n"
        "assert info.misses == 1, info\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


# --- properties ------------------------------------------------------------------------------

_ALPHABET = (
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    " -‐–—«»\"'’.,:;!?()/\\0123456789\t\n\u0301\u200b\u00ad✅🔥"
)
_WORDS = [
    "в", "работе", "процессе", "КП", "ЛПР", "отправлено", "проведена", "реализовано",
    "клиент", "клиентом", "менеджером", "звонок", "счёт", "не", "с", "call", "sent", "held",
    "follow-up", "closed", "won", "by", "customer", "in", "progress", "Meeting", "-", "/",
]  # fmt: skip


def _check(verdict: NameVerdict) -> None:
    assert isinstance(verdict, NameVerdict)
    assert isinstance(verdict.kind, NameKind)
    assert verdict.language in {"ru", "en"}
    assert isinstance(verdict.evidence, str) and verdict.evidence
    assert verdict.suggestion is None or (
        isinstance(verdict.suggestion, str) and verdict.suggestion
    )
    assert isinstance(verdict.guessed, bool)


_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(st.text())
def test_any_unicode_text_gets_a_verdict(text: str) -> None:
    verdict = classify(text)
    _check(verdict)
    assert classify(text) == verdict


@_SETTINGS
@given(st.text(alphabet=_ALPHABET, max_size=60))
def test_cyrillic_and_latin_soup_gets_a_verdict(text: str) -> None:
    verdict = classify(text)
    _check(verdict)
    assert classify(text) == verdict
    if verdict.suggestion is not None:
        _check(classify(verdict.suggestion))


@_SETTINGS
@given(st.lists(st.sampled_from(_WORDS), max_size=8).map(" ".join))
def test_word_soup_gets_a_verdict(text: str) -> None:
    verdict = classify(text)
    _check(verdict)
    names._ru_word.cache_clear()
    assert classify(text) == verdict, "caches must not change answers"


def test_deterministic_across_hash_seeds(corpus: list[Row]) -> None:
    """Set iteration order changes with PYTHONHASHSEED; verdicts must not."""
    code = (
        "import csv, json, sys\n"
        "from funnelc.lint.names import classify\n"
        "rows = list(csv.reader(open(sys.argv[1], encoding='utf-8'), delimiter='\\t',"
        " quoting=csv.QUOTE_NONE))[1:]\n"
        "out = [[r[0], v.kind.value, v.language, v.evidence, v.suggestion, v.guessed]"
        " for r in rows for v in [classify(r[0])]]\n"
        "print(json.dumps(out, ensure_ascii=False))\n"
    )
    outputs = []
    for seed in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-c", code, str(CORPUS)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        outputs.append(json.loads(done.stdout))
    assert outputs[0] == outputs[1]
    here = [
        [name, v.kind.value, v.language, v.evidence, v.suggestion, v.guessed]
        for name, _, _ in corpus
        for v in [classify(name)]
    ]
    assert outputs[0] == here
