"""The test document of the language server: Cyrillic, emoji outside the BMP and tabs, so
that a code point, a UTF-16 unit and a UTF-8 byte all differ before most ids."""

from __future__ import annotations

from pathlib import Path

COMMON = (
    '# Общие поля 🚀\nfield contact_phone "Телефон 📞" phone\nreason no_budget "Нет бюджета 💸"\n'
)

MAIN = (
    'import "common.funnel"\n'
    "\n"
    'pipeline sales "Продажи 🚀" {\n'
    '\tsegment "Компании 🏢"\n'
    "\tlead {\n"
    '\t\tstage new "Заявка получена 📩" { goal "Клиент 😀 оставил контакты"\texit "Клиент ответил"'
    "\trequires contact_phone\tsla 2h }\n"
    '\t\tlost junk "Лид 🗑 отбракован" { reasons no_budget }\n'
    "\t}\n"
    "\tdeal {\n"
    '\t\tstage met "Встреча 🤝" key { goal "Бюджет назван" exit "Бюджет 💰 подтверждён"'
    " sla 5d probability 40% }\n"
    '\t\twon paid "Оплата 💳 получена"\n'
    '\t\tlost pit "Умиральная яма 🕳" { reasons no_budget }\n'
    "\t}\n"
    "\ttimeout -> pit\n"
    '\trevive pit -> new after 30d "Рассылка 📧"\n'
    "}\n"
)


def write(directory: Path) -> tuple[Path, Path]:
    """The two files in ``directory``: ``main.funnel`` (imports) and ``common.funnel``."""
    main = directory / "main.funnel"
    common = directory / "common.funnel"
    main.write_text(MAIN, encoding="utf-8")
    common.write_text(COMMON, encoding="utf-8")
    return main, common


def offset_of(text: str, needle: str, occurrence: int = 0, inside: int = 1) -> int:
    """The offset ``inside`` characters into the ``occurrence``-th ``needle`` of ``text``."""
    at = -1
    for _ in range(occurrence + 1):
        at = text.index(needle, at + 1)
    return at + inside


def client_position(text: str, offset: int, encoding: str) -> tuple[int, int]:
    """What a client counts for ``offset``: computed with Python's codecs, independently of
    the server's own conversion."""
    line = text.count("\n", 0, offset)
    prefix = text[text.rfind("\n", 0, offset) + 1 : offset]
    if encoding == "utf-16":
        return line, len(prefix.encode("utf-16-le")) // 2
    if encoding == "utf-8":
        return line, len(prefix.encode("utf-8"))
    return line, len(prefix)
