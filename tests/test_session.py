"""A session is what a long-running process (a language server) holds: memory stays bounded
however many edits it sees, and the compile path keeps no state of its own outside it."""

from __future__ import annotations

import gc
import tracemalloc

import funnelc
from funnelc.i18n import language
from funnelc.session import Session

WORDS = ["Встреча", "Договор", "Счёт", "Презентация", "Заявка", "Оплата", "Демо", "Контракт"]
PARTICIPLES = ["проведена", "подписан", "выставлен", "согласована", "получена", "принята"]


def document(edit: int) -> str:
    """A realistic pipeline whose edited stage gets a new, distinct name on every edit."""
    word = WORDS[edit % len(WORDS)]
    done = PARTICIPLES[edit % len(PARTICIPLES)]
    return f"""pipeline doc "Документ" {{
  segment "Компании с сайта"
  lead {{
    definition "Компания оставила контакты"
    stage new "Заявка получена" {{ goal "Клиент оставил контакты"  exit "Клиент ответил"  sla 2h }}
    accept "ЛПР известен"
  }}
  deal {{
    stage edited "{word} {edit} {done}" {{ goal "Встреча назначена"  exit "Назначена"  sla 1d }}
    stage signed "Договор подписан" key {{ exit "Счёт оплачен"  sla 14d  probability 60% }}
    won paid "Оплата получена"
    lost pit "Умиральная яма"
  }}
  timeout -> pit
  revive pit -> new after 30d "Маркетинг прогревает рассылкой"
}}
"""


def edit(session: Session, count: int, start: int = 0) -> None:
    for number in range(start, start + count):
        result = session.compile_text(document(number), "doc.funnel", lint=True)
        assert result.project is not None, result.diagnostics


def traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def test_a_thousand_edits_hold_bounded_memory() -> None:
    session = Session(name_capacity=16)
    edit(session, 30)  # warm up: the analyzer, the parser, lazily built tables, a full cache
    tracemalloc.start()
    try:
        edit(session, 10, start=30)
        after_10 = traced()
        edit(session, 990, start=40)
        after_1000 = traced()
    finally:
        tracemalloc.stop()
    assert session.names.older_size <= 16
    assert session.names.current_size <= 2 * 8  # this run's names and the last run's
    assert len(session.names) <= 16 + 2 * 8
    assert session.names.classified >= 1000  # every edit did bring a new name
    assert after_1000 <= after_10 + 64 * 1024, (after_10, after_1000)


def test_sessions_do_not_share_caches() -> None:
    first, second = Session(), Session()
    first.compile_text(document(1), "doc.funnel", lint=True)
    assert len(first.names) > 0 and len(second.names) == 0


def test_compile_without_a_session_keeps_nothing() -> None:
    one = funnelc.compile_text(document(1), "doc.funnel", lint=True)
    two = funnelc.compile_text(document(1), "doc.funnel", lint=True)
    assert one.diagnostics == two.diagnostics


def test_the_session_language_applies_to_its_compilations_only() -> None:
    before = language()
    russian = Session(language="ru").compile_text("pipeline", "doc.funnel")
    english = Session(language="en").compile_text("pipeline", "doc.funnel")
    assert language() == before
    assert russian.diagnostics[0].message != english.diagnostics[0].message
