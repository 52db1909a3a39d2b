"""Structured fixes: applying each one to the text gives the expected text, and the fixed file
no longer has the problem."""

from __future__ import annotations

import json

import pytest

import funnelc
from funnelc.diagnostics import Applicability, Diagnostic, Fix, TextEdit
from funnelc.fixes import OverlappingEdits, apply
from funnelc.lint.engine import LintConfig
from funnelc.render import render_json
from funnelc.source import Span

PATH = "doc.funnel"

BASE = """\
reason no_budget "Нет бюджета"

pipeline p "Продажи" {
  segment "Компании с сайта"
  field budget "Бюджет" money
  lead {
    definition "Компания оставила контакты"
    stage new "Заявка получена" { goal "Клиент оставил контакты"  exit "Клиент ответил"  sla 2h }
    accept "ЛПР известен"
  }
  deal {
    stage qualified "Квалификация пройдена" {
      goal "Клиент подтвердил бюджет"
      exit "Бюджет подтверждён"
      requires budget
      sla 5d
    }
    stage signed "Договор подписан" key { goal "Готов платить"  exit "Счёт выставлен"  sla 3d }
    won paid "Оплата получена"
    lost pit "Умиральная яма" { reasons no_budget }
  }
  timeout -> pit
  qualified -> signed
  revive pit -> new after 30d "Маркетинг прогревает рассылкой"
}
"""

ALL_LINT = LintConfig(preset="strict")


def only(text: str, code: str, *, lint: bool = False) -> Diagnostic:
    result = funnelc.compile_text(text, PATH, lint=ALL_LINT if lint else False)
    found = [d for d in result.diagnostics if d.code == code]
    assert len(found) == 1, result.diagnostics
    return found[0]


def fixed(text: str, diagnostic: Diagnostic) -> str:
    assert diagnostic.fix is not None, diagnostic
    return apply(text, PATH, [diagnostic.fix])


def codes_of(text: str) -> set[str]:
    return {d.code for d in funnelc.compile_text(text, PATH, lint=ALL_LINT).diagnostics}


def test_the_base_file_is_clean_of_what_the_fixes_fix() -> None:
    assert not codes_of(BASE) & {"F102", "F103", "F104", "L001", "L004", "L006"}


@pytest.mark.parametrize(
    ("code", "broken", "right"),
    [
        ("F102", "  qualified -> signed\n", "  qualifed -> signed\n"),
        ("F103", "      requires budget\n", "      requires budjet\n"),
        ("F104", "{ reasons no_budget }", "{ reasons no_budgte }"),
    ],
)
def test_did_you_mean_fixes_put_the_known_id_back(code: str, broken: str, right: str) -> None:
    text = BASE.replace(broken, right)
    assert text != BASE
    diagnostic = only(text, code)
    assert diagnostic.fix is not None
    assert diagnostic.fix.applicability is Applicability.UNSAFE
    assert diagnostic.fix.title.startswith("replace with `")
    assert fixed(text, diagnostic) == BASE


def test_no_fix_without_a_likely_guess() -> None:
    text = BASE.replace("  qualified -> signed\n", "  zzzzzz -> signed\n")
    assert only(text, "F102").fix is None


def test_a_process_name_is_renamed_to_the_suggestion() -> None:
    text = BASE.replace('"Договор подписан"', '"Подписание договора"')
    diagnostic = only(text, "L001", lint=True)
    assert diagnostic.fix is not None and diagnostic.fix.applicability is Applicability.UNSAFE
    assert diagnostic.fix.title == 'rename to "Договор подписан"'
    assert fixed(text, diagnostic) == BASE
    assert "L001" not in codes_of(BASE)


def test_a_manager_action_name_is_renamed_to_the_customer_result() -> None:
    text = BASE.replace('"Договор подписан"', '"Отправка КП"')
    diagnostic = only(text, "L003", lint=True)
    assert fixed(text, diagnostic) == BASE.replace('"Договор подписан"', '"КП получено"')


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (  # a one-line body
            '{ goal "Готов платить"  exit "Счёт выставлен"  sla 3d }',
            '{ goal "Готов платить"  sla 3d  exit "TODO" }',
        ),
        (  # a body over several lines: a line of its own, indented like the others
            '      exit "Бюджет подтверждён"\n      requires budget\n      sla 5d\n    }',
            '      requires budget\n      sla 5d\n      exit "TODO"\n    }',
        ),
    ],
)
def test_a_missing_exit_gets_a_placeholder(before: str, after: str) -> None:
    if "Счёт" in before:
        text = BASE.replace(before, '{ goal "Готов платить"  sla 3d }')
    else:
        text = BASE.replace(before, before.replace('      exit "Бюджет подтверждён"\n', ""))
    diagnostic = only(text, "L004", lint=True)
    result = fixed(text, diagnostic)
    assert result == BASE.replace(before, after)
    assert "L004" not in codes_of(result)


def test_a_missing_sla_gets_a_placeholder() -> None:
    text = BASE.replace('exit "Счёт выставлен"  sla 3d }', 'exit "Счёт выставлен" }')
    diagnostic = only(text, "L006", lint=True)
    assert diagnostic.fix is not None
    assert diagnostic.fix.applicability is Applicability.UNSAFE
    result = fixed(text, diagnostic)
    assert result == BASE.replace(
        'exit "Счёт выставлен"  sla 3d }', 'exit "Счёт выставлен"  sla 5d }'
    )
    assert "L006" not in codes_of(result)


def test_a_stage_without_a_body_gets_one() -> None:
    body = ' { goal "Готов платить"  exit "Счёт выставлен"  sla 3d }'
    text = BASE.replace(
        'stage signed "Договор подписан" key' + body, 'stage signed "Договор подписан" key'
    )
    diagnostic = only(text, "L006", lint=True)
    assert fixed(text, diagnostic).count('stage signed "Договор подписан" key { sla 5d }') == 1


def test_the_fix_is_in_the_json_output() -> None:
    text = BASE.replace("  qualified -> signed\n", "  qualifed -> signed\n")
    result = funnelc.compile_text(text, PATH)
    (data,) = json.loads(render_json(result.diagnostics, result.sources))
    assert data["fix"] == {
        "title": "replace with `qualified`",
        "applicability": "unsafe",
        "edits": [
            {
                "new_text": "qualified",
                "file": PATH,
                "start": data["location"]["start"],
                "end": data["location"]["end"],
            }
        ],
    }


def test_overlapping_edits_are_refused() -> None:
    one = Fix((TextEdit(Span(PATH, 0, 5), "a"),), Applicability.SAFE, "one")
    two = Fix((TextEdit(Span(PATH, 3, 8), "b"),), Applicability.SAFE, "two")
    with pytest.raises(OverlappingEdits):
        apply("0123456789", PATH, [one, two])
    assert apply("0123456789", PATH, [one]) == "a56789"
    assert apply("0123456789", "other.funnel", [one]) == "0123456789"
