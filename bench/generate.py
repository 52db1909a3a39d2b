"""Generate realistic ``.funnel`` files of a given size, for the benchmarks.

Benchmarks on toy input measure the wrong thing, so the generated pipelines look like the ones
people write: Cyrillic display names that state a result, goals and exits, SLAs with a default
``timeout -> pit``, a lead phase for the first ~10 % of the stages, one key stage, a few local
explicit back edges (to one of the three stages before), fields with ``requires``, loss
reasons, and a pit that marketing revives.  Only the sizes are unrealistic.

Two shapes, because they stress different things:

* ``one`` — a single pipeline of N open stages: the cost of one huge graph (diagram layout,
  any per-pipeline work that is not linear in its stages);
* ``many`` — N open stages as pipelines of 50: throughput, and any work repeated per pipeline
  over the whole project.

Output is deterministic: the random generator is seeded from the seed, the size and the shape
(``random.Random`` seeds a string through SHA-512, so ``PYTHONHASHSEED`` does not matter).

Usage::

    .venv/bin/python bench/generate.py 1000 --shape many -o /tmp/many-1000.funnel
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Shape = Literal["one", "many"]
SHAPES: tuple[Shape, ...] = ("one", "many")
SEED = 20_240_611
PER_PIPELINE = 50
"""Open stages per pipeline in the ``many`` shape."""

# (id stem, display name): result-state names, as methodology M2 asks.
LEAD_STAGES: tuple[tuple[str, str], ...] = (
    ("request", "Заявка получена"),
    ("contacted", "Контакт установлен"),
    ("interest", "Интерес подтверждён"),
    ("form", "Анкета заполнена"),
    ("webinar", "Вебинар посещён"),
    ("scored", "Лид оценён по скорингу"),
    ("dm_known", "ЛПР известен"),
    ("call_done", "Первый звонок состоялся"),
)
DEAL_STAGES: tuple[tuple[str, str], ...] = (
    ("accepted", "Лид принят в работу"),
    ("need", "Потребность выявлена"),
    ("meeting_set", "Встреча назначена"),
    ("met", "Встреча проведена"),
    ("demo", "Демонстрация проведена"),
    ("budget", "Бюджет подтверждён"),
    ("spec", "Техзадание утверждено"),
    ("estimate", "Расчёт стоимости выполнен"),
    ("proposal", "КП отправлено"),
    ("proposal_ok", "КП согласовано"),
    ("objections", "Возражения сняты"),
    ("pilot", "Пилот запущен"),
    ("pilot_done", "Пилот завершён успешно"),
    ("legal", "Юристы согласовали договор"),
    ("contract_sent", "Договор отправлен"),
    ("signed", "Договор подписан"),
    ("invoiced", "Счёт выставлен"),
    ("tender", "Тендер выигран"),
    ("samples", "Образцы переданы"),
    ("access", "Доступ к системе выдан"),
)
GOALS: tuple[str, ...] = (
    "Клиент понимает, чем мы полезны его отделу продаж",
    "ЛПР лично подтвердил интерес и сроки",
    "Клиент знает цену и не испугался",
    "Все участники закупки названы поимённо",
    "Клиент сам назвал критерии выбора поставщика",
    "Риски внедрения обсуждены и приняты",
)
EXITS: tuple[str, ...] = (
    "Назначена следующая встреча с ЛПР",
    "Клиент прислал заполненный бриф",
    "Получено письмо с подтверждением бюджета",
    "В CRM заполнены все обязательные поля",
    "Клиент подписал протокол встречи",
    "Согласован план сделки с датами",
)
TASKS: tuple[str, ...] = (
    "Отправить план сделки ЛПР",
    "Позвонить в течение часа",
    "Подготовить кейс из отрасли клиента",
    "Запросить реквизиты для договора",
)
BACK_LABELS: tuple[str, ...] = (
    "Нужна повторная встреча",
    "Клиент вернул на доработку",
    "Сменился ЛПР",
)
SLAS: tuple[str, ...] = ("2h", "1d", "2d", "3d", "5bd", "1w", "2w", "30d")
FIELDS: tuple[tuple[str, str, str], ...] = (
    ("budget", "Бюджет", "money"),
    ("source", "Источник", 'choice("Сайт", "Звонок", "Рекомендация", "Выставка")'),
    ("phone", "Телефон ЛПР", "phone"),
    ("inn", "ИНН", "text"),
    ("decision_maker", "ЛПР", "text"),
    ("contract_url", "Ссылка на договор", "url"),
)
SHARED_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("deadline", "Срок запуска", "date"),
    ("employees", "Число сотрудников", "number"),
)
REASONS: tuple[tuple[str, str], ...] = (
    ("no_budget", "Нет бюджета"),
    ("competitor", "Выбрали конкурента"),
    ("timing", "Не сейчас"),
    ("no_decision", "Не смогли выйти на ЛПР"),
    ("no_response", "Перестал отвечать"),
)


# A stage name repeats in no pipeline: beyond the pools above, names get what a big company's
# pipeline would add — the product line and the region the stage is for — so that every stage
# has a distinct, realistic name (the stage-name classifier and its cache see them all).
PRODUCTS: tuple[str, ...] = (
    "CRM",
    "телефония",
    "аналитика",
    "обучение",
    "внедрение",
    "поддержка",
    "интеграция",
    "лицензии",
    "облако",
    "консалтинг",
    "аудит",
    "маркетплейс",
    "чат-бот",
    "рассылки",
    "склад",
    "логистика",
    "бухгалтерия",
    "зарплата",
    "документооборот",
    "безопасность",
)
REGIONS: tuple[str, ...] = (
    "Москва",
    "Санкт-Петербург",
    "Казань",
    "Новосибирск",
    "Екатеринбург",
    "Самара",
    "Омск",
    "Краснодар",
    "Ростов-на-Дону",
    "Уфа",
    "Пермь",
    "Воронеж",
    "Волгоград",
    "Тюмень",
    "Иркутск",
    "Хабаровск",
    "Владивосток",
    "Томск",
    "Калининград",
    "Ярославль",
    "Сочи",
    "Мурманск",
    "Архангельск",
    "Барнаул",
    "Кемерово",
    "Ижевск",
)


def _qualifier(round_: int) -> str:
    """The product and region of the ``round_``-th repetition of the name pool (from 1)."""
    index = round_ - 1
    product = PRODUCTS[index % len(PRODUCTS)]
    region = REGIONS[(index // len(PRODUCTS)) % len(REGIONS)]
    extra = index // (len(PRODUCTS) * len(REGIONS))
    return f"{product}, {region}" + (f", очередь {extra + 1}" if extra else "")


@dataclass(frozen=True, slots=True)
class _Open:
    ident: str
    name: str
    lead: bool


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _stages(count: int) -> list[_Open]:
    lead_count = max(1, round(count * 0.1)) if count > 1 else 0
    stages: list[_Open] = []
    for index in range(count):
        lead = index < lead_count
        pool = LEAD_STAGES if lead else DEAL_STAGES
        position = index if lead else index - lead_count
        stem, name = pool[position % len(pool)]
        if position >= len(pool):  # a distinct name: see PRODUCTS
            name = f"{name}: {_qualifier(position // len(pool))}"
        stages.append(_Open(f"{stem}_{index + 1}", name, lead))
    return stages


def _stage_block(
    rng: random.Random, stage: _Open, *, key: bool, probability: int | None
) -> list[str]:
    head = f"    stage {stage.ident} {_q(stage.name)}" + (" key" if key else "")
    body: list[str] = []
    if rng.random() < 0.6:
        body.append(f"goal {_q(rng.choice(GOALS))}")
    body.append(f"exit {_q(rng.choice(EXITS))}")
    if rng.random() < 0.3:
        names = [f[0] for f in (*FIELDS, *SHARED_FIELDS)]
        body.append("requires " + ", ".join(rng.sample(names, rng.randint(1, 2))))
    if rng.random() < 0.75:
        body.append(f"sla {rng.choice(SLAS)}")
        if not stage.lead and rng.random() < 0.05:  # a few override the default
            body.append("timeout -> lost_deal")
    if probability is not None:
        body.append(f"probability {probability}%")
    if rng.random() < 0.2:
        body.append(f"task {_q(rng.choice(TASKS))}")
    if key:
        body.append('color "#2e7d32"')
    if len(body) <= 2:
        return [f"{head} {{ {'  '.join(body)} }}"]
    return [f"{head} {{", *(f"      {line}" for line in body), "    }"]


def _pipeline(
    rng: random.Random, pid: str, title: str, count: int, next_ref: str | None
) -> tuple[list[str], str]:
    """The lines of one pipeline and the ref of its entry stage (for another's ``next``)."""
    stages = _stages(count)
    lead = [s for s in stages if s.lead]
    deal = [s for s in stages if not s.lead]
    key_index = len(deal) // 3
    lines = [f"pipeline {pid} {_q(title)} {{", f"  segment {_q('Компании 50–500 сотрудников')}"]
    lines += [f"  field {fid} {_q(name)} {kind}" for fid, name, kind in FIELDS]
    if lead:
        lines += ["  lead {", f"    definition {_q('Компания из целевого сегмента')}"]
        for stage in lead:
            lines += _stage_block(rng, stage, key=False, probability=None)
        lines += [
            f"    accept {_q('ЛПР известен')}",
            f"    accept {_q('Бюджет в вилке')}",
            f"    lost junk {_q('Некачественный лид')} {{ reasons no_response, no_decision }}",
            "  }",
        ]
    lines.append("  deal {")
    for index, stage in enumerate(deal):
        probability = 10 + (80 * index) // max(1, len(deal) - 1)
        lines += _stage_block(rng, stage, key=index == key_index, probability=probability)
    won_body = f" {{ next {next_ref} }}" if next_ref else ""
    lines += [
        f"    won paid {_q('Оплата получена')}{won_body}",
        f"    lost lost_deal {_q('Сделка проиграна')} {{ reasons no_budget, competitor, timing }}",
        f"    lost pit {_q('Умиральная яма')}",
        "  }",
        "  timeout -> pit",
    ]
    # Local loops back: lead to lead or deal to deal (a deal never goes back to the lead phase).
    for group in (lead, deal):
        for index in range(1, len(group)):
            if rng.random() < 0.08:
                back = group[max(0, index - rng.randint(1, 3))]
                label = f" {_q(rng.choice(BACK_LABELS))}" if rng.random() < 0.7 else ""
                lines.append(f"  {group[index].ident} -> {back.ident}{label}")
    entry = stages[0].ident
    lines.append(f'  revive pit -> {entry} after 30d """\n    Маркетинг прогревает\n    """')
    lines.append("}")
    return lines, entry


def generate(
    stages: int, shape: Shape = "one", *, seed: int = SEED, per_pipeline: int = PER_PIPELINE
) -> str:
    """A ``.funnel`` file with ``stages`` open stages in the given shape."""
    if stages < 1:
        raise ValueError("at least one stage")
    rng = random.Random(f"{seed}:{stages}:{shape}")
    counts = [stages]
    if shape == "many":
        whole, rest = divmod(stages, per_pipeline)
        counts = [per_pipeline] * whole + ([rest] if rest else [])
    lines = [
        f"# Generated by bench/generate.py: {stages} open stages, shape {shape!r}, seed {seed}.",
        "",
    ]
    lines += [f"reason {rid} {_q(name)}" for rid, name in REASONS]
    lines += [f"field {fid} {_q(name)} {kind}" for fid, name, kind in SHARED_FIELDS]
    width = len(str(len(counts)))
    ids = [f"p{index + 1:0{width}d}" if len(counts) > 1 else "main" for index in range(len(counts))]
    # Pipeline i hands a won deal to pipeline i + 1 (``next``), as an upsell pipeline would;
    # generated back to front so each knows its successor's entry stage.
    blocks: list[list[str]] = []
    successor: str | None = None
    for index in reversed(range(len(counts))):
        title = f"Воронка {index + 1}: B2B, входящие заявки"
        block, entry = _pipeline(rng, ids[index], title, counts[index], successor)
        blocks.append(block)
        successor = f"{ids[index]}.{entry}"
    for block in reversed(blocks):
        lines += ["", *block]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("stages", type=int, help="number of open stages")
    parser.add_argument("--shape", choices=SHAPES, default="one")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    args = parser.parse_args(argv)
    text = generate(args.stages, args.shape, seed=args.seed)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8", newline="\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
