"""Stage-name classifier behind the methodology lint rules M1, M2 and M3.

The lint engine asks one question per stage name: does it name a *result* (M1: "Встреча
проведена", "Contract signed"), a *process* ("Переговоры", "Negotiation"), the forbidden
catch-all *in progress* (M2: "В работе", "WIP"), or the *manager's own action* (M3: "КП
отправлено", "Invoice issued")?  `classify` answers with a `NameVerdict` that also carries short
evidence for the diagnostic and, where it can, a result-form rewrite to offer as help.

Precedence, strongest first: IN_PROGRESS > MANAGER_ACTION > RESULT > PROCESS > UNKNOWN.  A name
such as "КП отправлено" is grammatically a result, but M3 is the more useful complaint, and
"В работе" is the worst naming mistake of all, so it wins over everything.

Russian is analysed with pymorphy3 (OpenCorpora dictionary).  The result rule is the tie-aware
rule measured in ../shared/deps.md §4: a name is a result when some word has a top-scored
parse, *ties included*, that is a perfective past participle or verb.  Ties matter because
bi-aspectual verbs in -овать ("реализовано", "квалифицирован") get tied impf/perf parses whose
first entry is the imperfective one.  A finite present-tense verb ("проверяются") makes the name
a process whatever else it contains.  English uses a heuristic without a library (deps.md found
lemminflect no better and 70 MB heavier): a past participle at the end of the main clause.

pymorphy3 is imported lazily, inside a cached factory, so importing this module costs nothing
and the analyzer (≈60 ms, ≈30 MB) is built at most once per process, and only when a name has
Cyrillic words.  `classify` never raises: every input, however odd, gets a verdict.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from funnelc.fixes import edit_distance
from funnelc.lint.name_types import NameKind, NameVerdict

__all__ = ["NameKind", "NameVerdict", "classify"]


# ---------------------------------------------------------------------------------------------
# Data tables.  Russian keys are lower case with ё written as е, because names are normalised
# that way before lookup (users type both, and pymorphy returns lemmas with ё).
# ---------------------------------------------------------------------------------------------

# M2.  Token sequences that make a stage name the "in progress" catch-all.  They match anywhere
# in the name ("Сделка в работе").  "в работу" is deliberately absent: "Лид принят в работу" is
# the result-named first deal stage M8 recommends.
IN_PROGRESS_PHRASES: tuple[tuple[str, ...], ...] = (
    ("в", "работе"),
    ("в", "процессе"),
    ("в", "обработке"),
    ("обрабатывается",),
    ("обрабатываются",),
    ("идет", "работа"),
    ("работа", "идет"),
    ("ведется", "работа"),
    ("работа", "ведется"),
    ("in", "progress"),
    ("in", "work"),
    ("work", "in", "progress"),
    ("wip",),
    ("in", "process"),
    ("in", "processing"),
    ("in", "the", "works"),
    ("underway",),
    ("under", "way"),
    ("working", "on", "it"),
    ("being", "processed"),
    ("being", "worked"),
)

# M2, whole name only: these words are fine inside a longer name ("Working session held",
# "Payment processing"), but alone they say only "someone is busy with it".
IN_PROGRESS_WHOLE_NAMES: tuple[tuple[str, ...], ...] = (
    ("работаем",),
    ("working",),
    ("processing",),
    ("ongoing",),
)

# Typos in in-progress phrases are forgiven with one edit (Damerau, adjacent transpositions
# count as one) only for phrase words at least this long: short words ("в", "in", "work") have
# too many real neighbours.  A Russian word also has to be unknown to the dictionary, so that
# "в работу" (a real word, one edit away from "работе") never matches.
IN_PROGRESS_FUZZY_MIN_LEN = 5

# Well-known sales abbreviations and the gender a participle takes after them ("КП получено",
# "ЛПР найден").  pymorphy reads "КП" as a feminine party name and does not know "ЛПР".
RU_ABBREVIATIONS: dict[str, str] = {
    "кп": "neut",  # коммерческое предложение
    "тз": "neut",  # техническое задание
    "лпр": "masc",  # лицо, принимающее решение: used as masculine in speech
    "кэв": "masc",  # ключевой этап воронки
    "роп": "masc",  # руководитель отдела продаж
    "ндс": "masc",
    "ооо": "neut",
}

# Latin abbreviations common in Russian names ("NDA подписано"); their gender when a Russian
# participle follows.  Others default to neuter, the form Russian speakers use for indeclinables.
LATIN_ABBREVIATION_GENDER: dict[str, str] = {"crm": "femn", "nda": "neut", "po": "masc"}

# Uppercase words this short are treated as abbreviations (not analysed by pymorphy) unless the
# whole name is written in capitals.
ABBREVIATION_MAX_LEN = 5

# M3.  Lemmas of verbs naming the seller's own act: sending, issuing, calling, preparing,
# processing, writing, reminding, offering.  Any form (participle, past, infinitive, present)
# makes the name a manager action, unless the customer is the grammatical actor.
RU_MANAGER_VERBS: frozenset[str] = frozenset(
    {
        "отправить", "отправлять", "отослать", "отсылать", "выслать", "высылать",
        "направить", "направлять", "разослать", "рассылать",
        "выставить", "выставлять", "выдать", "выдавать",
        "позвонить", "звонить", "перезвонить", "перезванивать", "прозвонить", "прозванивать",
        "обзвонить", "обзванивать",
        "подготовить", "подготавливать", "подготовлять", "готовить",
        "обработать", "обрабатывать",
        "написать", "писать", "напомнить", "напоминать",
        "предложить", "предлагать",
    }
)  # fmt: skip

# M3.  Action nouns of the same acts ("Отправка КП", "Звонок", "Перезвон").  They count only
# when no other verb carries the name: "Звонок назначен" is a scheduled call, agreed with the
# customer like "Встреча назначена" (a reference-pipeline stage), not the seller's act.
RU_MANAGER_NOUNS: frozenset[str] = frozenset(
    {
        "отправка", "отсылка", "высылка", "выставление", "звонок", "перезвон", "прозвон",
        "обзвон", "подготовка", "обработка", "напоминание", "рассылка", "выдача", "просчет",
    }
)  # fmt: skip

# Verbs that only carry an action noun ("Звонок совершён" = the call was made): they neither
# make nor unmake a manager action, the noun decides.
RU_LIGHT_VERBS: frozenset[str] = frozenset(
    {"совершить", "совершать", "сделать", "делать", "провести", "проводить", "осуществить",
     "выполнить", "завершить"}
)  # fmt: skip

# M3: "Снятие возражений", "Работа с возражениями", "Возражения отработаны".
RU_OBJECTION_WORDS: frozenset[str] = frozenset({"возражение"})
RU_OBJECTION_HANDLING: frozenset[str] = frozenset(
    {
        "снять", "снимать", "снятие", "отработать", "отрабатывать", "отработка", "обработать",
        "обработка", "работа", "закрыть", "закрывать", "закрытие", "проработать", "проработка",
        "преодолеть", "преодоление", "устранить", "устранение",
    }
)  # fmt: skip

# M3: producing a sales document is the seller's work ("КП сделано", "Счёт сформирован",
# "Смета составлена"); the same verbs with other nouns ("Выбор сделан") are not.
RU_DOCUMENT_VERBS: frozenset[str] = frozenset(
    {"сделать", "сформировать", "составить", "создать", "рассчитать"}
)
RU_SELLER_DOCUMENTS: frozenset[str] = frozenset(
    {"кп", "предложение", "счет", "смета", "расчет", "договор", "презентация"}
)

# Who acts.  A customer noun as the subject of an active verb ("Клиент перезвонил") or as the
# agent of a passive one ("ТЗ отправлено клиентом") makes it the customer's act, which is what
# M3 asks for.  A seller noun in those roles ("проведена менеджером", "Мы отправили КП") makes it
# the manager's act whatever the verb.
RU_CUSTOMER_NOUNS: frozenset[str] = frozenset(
    {"клиент", "покупатель", "заказчик", "лпр", "лид", "контрагент", "пользователь", "партнер"}
)
RU_SELLER_NOUNS: frozenset[str] = frozenset(
    {"менеджер", "продавец", "мы", "я", "сотрудник", "специалист", "консультант", "агент",
     "риелтор", "риэлтор", "роп"}
)  # fmt: skip
# "Входящий звонок" is a call the customer made.
RU_CUSTOMER_MODIFIERS: frozenset[str] = frozenset({"входящий"})

# Nouns whose top pymorphy parse is a perfective past verb: "Замер" (a measuring visit, a
# stage in window, furniture and building sales) comes out as замереть "froze".  They are read
# as nouns.
RU_NOUN_HOMONYMS: frozenset[str] = frozenset({"замер"})

# Short adjectives that state a reached result although they are not participles: Bitrix24's
# won stage "Сделка успешна", "ЛПР известен", "Документы готовы", "Клиент согласен".  Only the
# short form (ADJS) or the adverb "успешно" counts: "Готовый продукт" is a noun phrase.
RU_STATE_ADJECTIVES: frozenset[str] = frozenset(
    {"успешный", "неуспешный", "известный", "готовый", "согласный", "довольный"}
)
RU_STATE_ADVERBS: frozenset[str] = frozenset({"успешно", "неуспешно"})

# Typo repair (M1 results only): an out-of-dictionary word shaped like a past participle or past
# verb ("проведенна", "подписанн", "состоялсяя") is matched against dictionary words one edit
# away.  The shape guard keeps process words away from accidental neighbours ("Дожим" is one
# edit from "дожил").
RU_PARTICIPLE_SHAPE = re.compile(
    r"(?:[аяеё]нн?|[аяыуоие]т)[аоы]?$|л(?:а|о|и)?(?:сь|ся)?$|вш[а-я]*$"
)
# When no neighbour is found, an unknown word with a short-participle ending is still taken as a
# (guessed) result, e.g. slang "Бюджет заапрувлен": pymorphy's guesser reads such words as nouns.
# Only after the first word and not after a preposition: that is where a participle stands in a
# stage name, while unknown surnames and brands ("Встреча с Абрамян") follow prepositions.
RU_PARTICIPLE_ENDING = re.compile(r"(?:[еёая]нн?|[ия]т)[аоы]?$")
RU_PREPOSITIONS: frozenset[str] = frozenset(
    {"с", "со", "у", "на", "в", "во", "к", "ко", "по", "от", "для", "из", "о", "об", "при", "за",
     "до", "без", "через", "после", "перед", "под", "над"}
)  # fmt: skip
RU_REPAIR_MIN_LEN = 5
RU_REPAIR_MAX_LEN = 24  # edits grow with length; real words are shorter
RU_ALPHABET = "абвгдежзийклмнопрстуфхцчшщъыьэюя"

# Process noun → verb whose participle turns it into a result: "Квалификация" → "Квалификация
# пройдена", "Просмотр объектов" → "Просмотр объектов состоялся".  The verb agrees with the
# noun.  Entries follow the methodology's reference pipelines and the usual CRM defaults.
RU_PROCESS_RESULTS: dict[str, str] = {
    "квалификация": "пройти",
    "классификация": "пройти",
    "профилирование": "пройти",
    "обучение": "пройти",
    "регистрация": "пройти",
    "переговоры": "провести",
    "встреча": "провести",
    "презентация": "провести",
    "демонстрация": "провести",
    "консультация": "провести",
    "замер": "провести",
    "тест-драйв": "провести",
    "просмотр": "состояться",
    "показ": "состояться",
    "контакт": "состояться",
    "договор": "подписать",
    "контракт": "подписать",
    "счет": "оплатить",
    "кп": "получить",
    "предложение": "получить",
    "заявка": "получить",
    "оплата": "получить",
    "предоплата": "получить",
    "тз": "согласовать",
    "задание": "согласовать",
    "смета": "согласовать",
    "внедрение": "завершить",
    "тестирование": "завершить",
    "доставка": "выполнить",
    "монтаж": "выполнить",
}

# Action noun + genitive object → the object with the action's participle: "Подписание
# договора" → "Договор подписан", "Выявление требований" → "Требования выявлены".
RU_ACTION_NOUNS: dict[str, str] = {
    "подписание": "подписать",
    "согласование": "согласовать",
    "выявление": "выявить",
    "регистрация": "зарегистрировать",
    "поиск": "найти",
    "оплата": "оплатить",
    "выбор": "выбрать",
    "подбор": "подобрать",
    "заключение": "заключить",
    "обсуждение": "обсудить",
    "утверждение": "утвердить",
    "подтверждение": "подтвердить",
    "защита": "защитить",
    "сбор": "собрать",
    "анализ": "выявить",  # "Анализ потребностей" → "Потребности выявлены"
}

# Adjective + noun pairs that name one thing; the adjective is kept in a suggestion although
# other leading adjectives are dropped ("Телефонные переговоры" → "Переговоры проведены").
RU_FIXED_COMPOUNDS: frozenset[tuple[str, str]] = frozenset(
    {("коммерческий", "предложение"), ("техническое", "задание"), ("технический", "задание")}
)

# M3 suggestions: what the customer does in answer to a sales document (the object of the
# seller's act): "Отправка КП" → "КП получено", "Выставление счёта" → "Счёт оплачен".
RU_DOCUMENT_RESULTS: dict[str, str] = {
    "кп": "получить",
    "предложение": "получить",
    "расчет": "получить",
    "презентация": "получить",
    "договор": "подписать",
    "документ": "подписать",
    "счет": "оплатить",
    "смета": "согласовать",
    "тз": "согласовать",
}
# M3 suggestions without a document, by the kind of seller act (the methodology's own rewrite:
# callback → "answered the call", objections handled → terms agreed).
RU_CALL_WORDS: frozenset[str] = frozenset(
    {"позвонить", "звонить", "перезвонить", "перезванивать", "прозвонить", "прозванивать",
     "обзвонить", "обзванивать", "звонок", "перезвон", "прозвон", "обзвон"}
)  # fmt: skip
RU_CALL_SUGGESTION = "Контакт состоялся"
RU_OBJECTION_SUGGESTION = "Условия согласованы"
RU_PROCESSING_SUGGESTION = "Лид принят в работу"  # M8's first deal stage
RU_MESSAGE_SUGGESTION = "Клиент ответил"
RU_MESSAGE_ACTS: frozenset[str] = frozenset(
    {"отправить", "отправлять", "отослать", "отсылать", "выслать", "высылать", "направить",
     "направлять", "разослать", "рассылать", "написать", "писать", "напомнить", "напоминать",
     "напоминание", "рассылка", "отправка", "отсылка", "высылка"}
)  # fmt: skip

# English.  Irregular past participles (the regular ones end in -ed).  Forms identical to the
# base verb are included only where a stage name uses them as participles ("Meeting set",
# "Proposal read").
EN_IRREGULAR_PARTICIPLES: frozenset[str] = frozenset(
    {
        "made", "done", "held", "sent", "won", "lost", "paid", "met", "set", "chosen", "given",
        "taken", "shown", "sold", "bought", "built", "found", "kept", "begun", "brought",
        "caught", "dealt", "drawn", "driven", "got", "gotten", "gone", "heard", "known", "laid",
        "led", "left", "lent", "meant", "read", "said", "seen", "sought", "spent", "spoken",
        "struck", "taught", "told", "thought", "thrown", "understood", "undertaken", "written",
        "withdrawn", "upheld", "forgotten", "hung", "resent", "rewritten", "underwritten",
    }
)  # fmt: skip
# -ed words that are not stage results: adjectives that merely look like participles
# ("Interested", "Detailed proposal", "Follow-up needed", "Required documents") and -ed nouns.
EN_ED_STOP_WORDS: frozenset[str] = frozenset(
    {
        "need", "needed", "interested", "uninterested", "required", "detailed", "red", "bed",
        "seed", "feed", "speed", "shed", "bred", "hundred", "sacred", "naked", "wicked",
        "kindred", "rugged", "ragged", "beloved", "talented", "advanced", "related", "based",
        "limited", "united", "varied", "skilled", "experienced", "aged", "biased", "excited",
        "tired", "sophisticated", "automated", "dedicated", "expected", "preferred",
    }
)  # fmt: skip
# Most -eed words are not participles (need, speed, proceed); these are.
EN_EED_PARTICIPLES: frozenset[str] = frozenset({"agreed", "freed", "guaranteed", "decreed"})
EN_OUTCOME_WORDS: frozenset[str] = frozenset({"won", "lost", "successful", "unsuccessful"})
# A participle counts at the end of the main clause: the last word, or the word before a
# preposition ("Meeting held with decision maker", "Qualified to buy").  Trailing particles of
# phrasal verbs are skipped ("Decision maker bought-in", "Followed up").
EN_PREPOSITIONS: frozenset[str] = frozenset(
    {"to", "with", "by", "for", "from", "on", "at", "in", "via", "after", "before", "into",
     "within", "without", "of", "per", "through", "until", "over"}
)  # fmt: skip
EN_PARTICLES: frozenset[str] = frozenset(
    {"up", "in", "out", "off", "back", "down", "over", "on", "through"}
)
EN_ARTICLES: frozenset[str] = frozenset({"a", "an", "the"})

# M3, English.  Forms that are only verbs (any position makes the name the seller's act).
EN_MANAGER_VERB_FORMS: frozenset[str] = frozenset(
    {
        "send", "sent", "sending", "resend", "resent", "issued", "issuing", "prepare",
        "prepared", "preparing", "handle", "handled", "handling", "emailed", "emailing",
        "mailed", "dispatched", "called", "calling", "dialed", "dialled", "dialing",
        "contacted", "contacting", "attempted", "attempting", "pitched", "reminded",
        "processed",
    }
)  # fmt: skip
# Noun/verb forms that are the seller's act when they open the name as an imperative ("Call
# client", "Issue invoice") and no participle follows ("Call scheduled" is agreed with the
# customer, like "Встреча назначена").
EN_MANAGER_IMPERATIVES: frozenset[str] = frozenset(
    {"send", "issue", "call", "email", "prepare", "handle", "contact", "remind", "pitch",
     "dial", "reach", "follow"}
)  # fmt: skip
# Seller-activity nouns ("Call", "Discovery call", "Follow-up"): manager actions when no other
# participle carries the name.
EN_MANAGER_NOUNS: frozenset[str] = frozenset(
    {"call", "calls", "callback", "followup", "outreach", "invoicing", "mailing", "pitch",
     "reminder", "cold-call", "voicemail"}
)  # fmt: skip
# "left" is light for "Voicemail left"; with any other noun ("Customer left") it stays a result.
EN_LIGHT_VERBS: frozenset[str] = frozenset(
    {"made", "done", "completed", "held", "performed", "conducted", "left"}
)
# Handing over a sales document is the seller's act ("Quote delivered", "Proposal submitted");
# the same verbs with other nouns ("Goods delivered") are not.
EN_DOCUMENT_VERBS: frozenset[str] = frozenset(
    {"delivered", "submitted", "presented", "shared", "provided", "drafted", "created",
     "generated", "forwarded"}
)  # fmt: skip
EN_SELLER_DOCUMENTS: frozenset[str] = frozenset(
    {"proposal", "quote", "offer", "invoice", "estimate", "pricing", "contract", "agreement"}
)
# What the seller makes ("Proposal made", "Call completed").
EN_SELLER_OFFERS: frozenset[str] = frozenset(
    {"proposal", "quote", "offer", "pitch", "call", "calls", "callback"}
)
EN_OBJECTION_WORDS: frozenset[str] = frozenset({"objection", "objections"})
EN_OBJECTION_HANDLING: frozenset[str] = frozenset(
    {"handle", "handled", "handling", "overcome", "addressed", "resolved", "removed", "worked",
     "cleared"}
)  # fmt: skip
EN_CUSTOMER_NOUNS: frozenset[str] = frozenset(
    {"customer", "customers", "client", "clients", "buyer", "buyers", "prospect", "prospects",
     "lead", "leads", "they"}
)  # fmt: skip
EN_SELLER_NOUNS: frozenset[str] = frozenset(
    {"we", "i", "us", "manager", "managers", "rep", "reps", "seller", "sales", "agent", "sdr",
     "bdr", "ae"}
)  # fmt: skip
# "Sales qualified lead" must not read as "sales (the team) qualified ...": as a subject only
# these count.
EN_SELLER_SUBJECTS: frozenset[str] = frozenset({"we", "i", "manager", "rep", "seller", "sdr"})
EN_CUSTOMER_MODIFIERS: frozenset[str] = frozenset({"incoming", "inbound"})
EN_CALL_WORDS: frozenset[str] = frozenset(
    {"call", "calls", "called", "calling", "callback", "dial", "dialed", "dialled", "dialing",
     "contact", "contacted", "contacting", "attempted", "attempting", "followup", "outreach",
     "reach", "email", "emailed", "emailing", "remind", "reminded", "reminder", "voicemail"}
)  # fmt: skip
EN_DOCUMENT_RESULTS: dict[str, str] = {
    "proposal": "received",
    "quote": "received",
    "offer": "received",
    "contract": "signed",
    "agreement": "signed",
    "nda": "signed",
    "documents": "signed",
    "invoice": "paid",
}
EN_CALL_SUGGESTION = "Contact made"
# Words that make a name more than a noun phrase; no participle is appended after them.
EN_NOT_MODIFIERS: frozenset[str] = frozenset(
    {"pending", "awaiting", "under", "is", "are", "was", "were", "be", "not", "no", "evaluates",
     "reviews", "waits"}
)  # fmt: skip
EN_OBJECTION_SUGGESTION = "Terms agreed"
EN_ISSUE_SUGGESTION = "Invoice paid"

# Process noun (the last word) → participle that completes it: "Meeting" → "Meeting held".
EN_PROCESS_RESULTS: dict[str, str] = {
    "meeting": "held",
    "meetings": "held",
    "demo": "held",
    "presentation": "held",
    "viewing": "held",
    "negotiation": "completed",
    "negotiations": "completed",
    "discovery": "completed",
    "analysis": "completed",
    "assessment": "completed",
    "review": "completed",
    "evaluation": "completed",
    "onboarding": "completed",
    "implementation": "completed",
    "trial": "completed",
    "qualification": "passed",
    "proposal": "received",
    "quote": "received",
    "contract": "signed",
    "agreement": "signed",
    "invoice": "paid",
    "payment": "received",
    "contact": "made",
    "decision": "made",
}

# Latin letters that look like Cyrillic ones.  A Russian word typed with one Latin "е" or "о"
# (a common keyboard-layout slip) is read as the Cyrillic word.
HOMOGLYPHS_LATIN_TO_CYRILLIC: dict[str, str] = {
    "A": "А", "B": "В", "E": "Е", "K": "К", "M": "М", "H": "Н", "O": "О", "P": "Р", "C": "С",
    "T": "Т", "X": "Х", "a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у",
}  # fmt: skip

# Combining marks kept when stripping accents: the breve of й and the diaeresis of ё.
_KEPT_COMBINING = frozenset({"\u0306", "\u0308"})
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?(?:[-‐‑][^\W\d_]+(?:['’][^\W\d_]+)?)*")
_HYPHENS = re.compile(r"[-‐‑]")
_TIE_TOLERANCE = 1e-9


# ---------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    raw: str  # as written (Latin homoglyphs inside Cyrillic words already replaced)
    norm: str  # case-folded, ё → е
    script: str  # "cyr", "lat" or "other"
    abbr: bool
    start: int  # offsets into the cleaned name, for building suggestions
    end: int


def _clean(name: str) -> str:
    """Compatibility-normalise, drop invisible format characters and stress marks."""
    text = unicodedata.normalize("NFKC", name)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(
        ch for ch in decomposed if unicodedata.category(ch) != "Mn" or ch in _KEPT_COMBINING
    )
    return unicodedata.normalize("NFC", kept)


def _is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff" or "\u0500" <= ch <= "\u052f"


def _is_latin(ch: str) -> bool:
    if ch.isascii():
        return ch.isalpha()
    try:
        return unicodedata.name(ch).startswith("LATIN")
    except ValueError:
        return False


def _script(word: str) -> str:
    cyr = sum(1 for ch in word if _is_cyrillic(ch))
    lat = sum(1 for ch in word if _is_latin(ch))
    if cyr == 0 and lat == 0:
        return "other"
    return "cyr" if cyr >= lat else "lat"


def _fix_homoglyphs(word: str) -> str:
    has_cyr = any(_is_cyrillic(ch) for ch in word)
    latin = [ch for ch in word if _is_latin(ch)]
    if has_cyr and latin and all(ch in HOMOGLYPHS_LATIN_TO_CYRILLIC for ch in latin):
        return "".join(HOMOGLYPHS_LATIN_TO_CYRILLIC.get(ch, ch) for ch in word)
    return word


def _norm(word: str) -> str:
    return word.casefold().replace("ё", "е")


def _tokenize(text: str) -> list[_Token]:
    letters = [ch for ch in text if ch.isalpha()]
    all_caps = len(letters) > 1 and all(ch.isupper() for ch in letters)
    tokens: list[_Token] = []
    for match in _WORD_RE.finditer(text):
        raw = _fix_homoglyphs(match.group())
        norm = _norm(raw)
        script = _script(raw)
        bare = _HYPHENS.sub("", norm)
        abbr = (
            bare in RU_ABBREVIATIONS
            or (script == "cyr" and bare in LATIN_ABBREVIATION_GENDER)
            or (
                not all_caps
                and 2 <= len(raw) <= ABBREVIATION_MAX_LEN
                and raw.isupper()
                and script != "other"
            )
        )
        tokens.append(_Token(raw, norm, script, abbr, match.start(), match.end()))
    return tokens


def _language(tokens: Sequence[_Token]) -> str:
    """Majority script of the words, abbreviations left out unless there is nothing else."""
    words = [t for t in tokens if t.script != "other" and not t.abbr] or [
        t for t in tokens if t.script != "other"
    ]
    cyr = sum(1 for t in words if t.script == "cyr")
    lat = sum(1 for t in words if t.script == "lat")
    # Ties and empty names default to Russian: the project's users mostly write Russian.
    return "en" if lat > cyr else "ru"


# ---------------------------------------------------------------------------------------------
# pymorphy3
# ---------------------------------------------------------------------------------------------


@functools.cache
def _analyzer() -> Any:
    """The morphological analyzer, built on first use (40–90 ms, ≈30 MB), once per process."""
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@dataclass(frozen=True, slots=True)
class _RuWord:
    """A Russian word's top-scored parses (ties included) and how they were obtained."""

    text: str  # the analysed spelling (after any typo repair)
    parses: tuple[Any, ...]  # top-scored pymorphy parses, ties included
    alternatives: tuple[Any, ...]  # all parses, for agreement when building suggestions
    known: bool  # the original spelling is a dictionary word
    repaired_from: str | None  # original spelling when `text` is a typo repair

    @property
    def lemmas(self) -> frozenset[str]:
        return frozenset(_norm(str(p.normal_form)) for p in self.parses)

    def has(self, *grammemes: str) -> bool:
        return any(all(g in p.tag for g in grammemes) for p in self.parses)

    @property
    def pos(self) -> frozenset[str]:
        return frozenset(str(p.tag.POS) for p in self.parses if p.tag.POS)


def _top_parses(parses: Sequence[Any]) -> tuple[Any, ...]:
    if not parses:
        return ()
    best = max(float(p.score) for p in parses)
    return tuple(p for p in parses if math.isclose(float(p.score), best, abs_tol=_TIE_TOLERANCE))


def _is_result_parse(parse: Any) -> bool:
    tag = parse.tag
    return tag.POS in {"PRTS", "PRTF", "VERB"} and "perf" in tag and "past" in tag


def _edits1(word: str) -> Iterator[tuple[int, str]]:
    """Single-edit neighbours, tagged with a preference rank (lower = likelier typo)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    for left, right in splits:
        if right:
            yield 0, left + right[1:]  # an extra letter ("проведенна")
    for left, right in splits:
        if len(right) > 1:
            yield 1, left + right[1] + right[0] + right[2:]  # swapped letters
    for left, right in splits:
        for ch in RU_ALPHABET:
            yield 2, left + ch + right  # a missing letter ("провдена")
    for left, right in splits:
        if right:
            for ch in RU_ALPHABET:
                if ch != right[0]:
                    yield 3, left + ch + right[1:]  # a wrong letter


@functools.lru_cache(maxsize=8192)
def _ru_word(word: str) -> _RuWord:
    """Analyse one lower-case Russian word (ё kept), repairing a typo in a participle."""
    morph = _analyzer()
    parses = tuple(morph.parse(word))
    known = bool(morph.word_is_known(word))
    if not known and _HYPHENS.search(word):
        # pymorphy guesses unknown hyphenated compounds poorly ("онлайн-презентация" comes out
        # masculine); the last part carries the grammar.
        last = _HYPHENS.split(word)[-1]
        if last and morph.word_is_known(last):
            last_parses = tuple(morph.parse(last))
            # Counted as known: the part that carries the grammar is a dictionary word.
            return _RuWord(word, _top_parses(last_parses), last_parses, True, None)
    if (
        not known
        and RU_REPAIR_MIN_LEN <= len(word) <= RU_REPAIR_MAX_LEN
        and word.isalpha()
        # The last letter may itself be the typo ("состоялсяя").
        and (RU_PARTICIPLE_SHAPE.search(word) or RU_PARTICIPLE_SHAPE.search(word[:-1]))
    ):
        best: tuple[int, str] | None = None
        for rank, candidate in _edits1(word):
            if best is not None and (rank, candidate) >= best:
                continue
            if morph.word_is_known(candidate) and any(
                _is_result_parse(p) for p in _top_parses(morph.parse(candidate))
            ):
                best = (rank, candidate)
        if best is not None:
            fixed = tuple(morph.parse(best[1]))
            return _RuWord(best[1], _top_parses(fixed), fixed, False, word)
    return _RuWord(word, _top_parses(parses), parses, known, None)


def _ru_known(norm: str) -> bool:
    return bool(_analyzer().word_is_known(norm))


# ---------------------------------------------------------------------------------------------
# M2: in progress
# ---------------------------------------------------------------------------------------------


_PHRASE_WORDS: tuple[str, ...] = tuple(
    sorted({w for phrase in IN_PROGRESS_PHRASES + IN_PROGRESS_WHOLE_NAMES for w in phrase})
)


@functools.lru_cache(maxsize=8192)
def _phrase_words_matched(norm: str, script: str) -> frozenset[str]:
    """The in-progress phrase words a word spells, exactly or with one typo."""
    found = {norm} & set(_PHRASE_WORDS)
    near = [
        w
        for w in _PHRASE_WORDS
        if w != norm
        and len(w) >= IN_PROGRESS_FUZZY_MIN_LEN
        and abs(len(w) - len(norm)) <= 1
        and edit_distance(norm, w, 1) <= 1
    ]
    # A real Russian word is never a typo of another ("работу" ≠ "работе").
    if near and not (script == "cyr" and _ru_known(norm)):
        found.update(near)
    return frozenset(found)


def _segments(words: Sequence[_Token], text: str) -> list[tuple[int, int]]:
    """Parts of a name separated by punctuation: "Working - Contacted" → Working | Contacted."""
    bounds = [0]
    for k in range(1, len(words)):
        if not text[words[k - 1].end : words[k].start].isspace():
            bounds.append(k)
    bounds.append(len(words))
    return [(lo, hi) for lo, hi in itertools.pairwise(bounds) if hi > lo]


def _in_progress(tokens: Sequence[_Token], text: str) -> str | None:
    """The matched phrase and how it matched, or None."""
    words = [t for t in tokens if t.script != "other"]
    if not words:
        return None
    joined = "".join(_HYPHENS.sub("", t.norm) for t in words)
    segments = _segments(words, text)
    matched = [_phrase_words_matched(t.norm, t.script) for t in words]
    for phrase, whole in [(p, False) for p in IN_PROGRESS_PHRASES] + [
        (p, True) for p in IN_PROGRESS_WHOLE_NAMES
    ]:
        shown = " ".join(phrase)
        # Spaces or dots missed or added: "Вработе", "In-progress", "W.I.P."
        if joined == "".join(phrase):
            return f"«{shown}»"
        # A whole-name phrase may also fill one part of the name ("Working - Contacted").
        spans = segments if whole else _windows(len(words), len(phrase))
        for lo, hi in spans:
            if hi - lo == len(phrase) and all(w in matched[lo + j] for j, w in enumerate(phrase)):
                window = words[lo:hi]
                typos = [
                    f"{t.norm} ~ {w}" for t, w in zip(window, phrase, strict=True) if t.norm != w
                ]
                return f"«{shown}»" + (f" ({', '.join(typos)})" if typos else "")
        if len(words) == 1 and len(joined) >= IN_PROGRESS_FUZZY_MIN_LEN + 2:
            squeezed = "".join(phrase)
            if (
                len(squeezed) >= IN_PROGRESS_FUZZY_MIN_LEN + 2
                and edit_distance(joined, squeezed, 1) <= 1
                and not (words[0].script == "cyr" and _ru_known(words[0].norm))
            ):
                return f"«{shown}» ({joined} ~ {squeezed})"
    return None


def _windows(n: int, width: int) -> list[tuple[int, int]]:
    return [(i, i + width) for i in range(n - width + 1)]


# ---------------------------------------------------------------------------------------------
# Russian
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _RuItem:
    token: _Token
    word: _RuWord | None  # None for abbreviations and non-Cyrillic words (left opaque)

    @property
    def lemmas(self) -> frozenset[str]:
        if self.word is None:
            return frozenset({_HYPHENS.sub("", self.token.norm)})
        return self.word.lemmas | {self.token.norm}

    def has(self, *grammemes: str) -> bool:
        return self.word is not None and self.word.has(*grammemes)

    def has_any(self, *grammemes: str) -> bool:
        """Like `has`, over all parses, not only the top-scored ones."""
        return self.word is not None and any(
            all(g in p.tag for g in grammemes) for p in self.word.alternatives
        )

    @property
    def verbal(self) -> bool:
        if self.token.norm in RU_NOUN_HOMONYMS:
            return False
        return self.word is not None and bool(
            self.word.pos & {"PRTS", "PRTF", "VERB", "INFN", "GRND"}
        )

    @property
    def active_verb(self) -> bool:
        return self.verbal and self.word is not None and "VERB" in self.word.pos


def _ru_items(tokens: Sequence[_Token]) -> list[_RuItem]:
    items = []
    for token in tokens:
        if token.script == "cyr" and not token.abbr and len(token.norm) > 1:
            # The spelling with ё goes to pymorphy: it disambiguates ("счёта" is genitive
            # singular, "счета" may be a plural); lemmas are normalised to е afterwards.
            items.append(_RuItem(token, _ru_word(token.raw.casefold())))
        elif token.script != "other":
            items.append(_RuItem(token, None))
    return items


def _ru_role(items: Sequence[_RuItem], nouns: frozenset[str]) -> bool:
    """Is someone from ``nouns`` the actor: agent in the instrumental case or active subject?"""
    agent = any(it.lemmas & nouns and it.has("ablt") for it in items)
    subject = any(it.lemmas & nouns and (it.has("nomn") or it.word is None) for it in items)
    return agent or (subject and any(it.active_verb for it in items))


def _ru_manager(items: Sequence[_RuItem]) -> tuple[str, str] | None:
    """(evidence, kind of act) when the name describes the seller's act (M3)."""
    if _ru_role(items, RU_SELLER_NOUNS):
        who = next(it for it in items if it.lemmas & RU_SELLER_NOUNS)
        return f"{who.token.norm}: the seller acts", "seller"
    if _ru_role(items, RU_CUSTOMER_NOUNS):
        return None
    if any(it.lemmas & RU_CUSTOMER_MODIFIERS for it in items):
        return None
    lemmas: set[str] = set().union(*(it.lemmas for it in items)) if items else set()
    if lemmas & RU_OBJECTION_WORDS and lemmas & RU_OBJECTION_HANDLING:
        return "возражения: handled by the seller", "objection"
    for it in items:
        if it.verbal and it.lemmas & RU_MANAGER_VERBS:
            lemma = min(it.lemmas & RU_MANAGER_VERBS)
            return f"{_shown(it.token.norm, lemma)}: the seller's act", lemma
    for it in items:
        if it.verbal and it.lemmas & RU_DOCUMENT_VERBS and lemmas & RU_SELLER_DOCUMENTS:
            doc = min(lemmas & RU_SELLER_DOCUMENTS)
            return f"{it.token.norm} {doc}: the seller produces it", "document"
    if all(not it.verbal or it.lemmas & RU_LIGHT_VERBS for it in items):
        for it in items:
            if not it.verbal and it.lemmas & RU_MANAGER_NOUNS:
                lemma = min(it.lemmas & RU_MANAGER_NOUNS)
                return f"{_shown(it.token.norm, lemma)}: the seller's act", lemma
    return None


def _shown(word: str, lemma: str) -> str:
    return word if word == lemma else f"{word} ({lemma})"


def _ru_result(items: Sequence[_RuItem]) -> tuple[bool, str, bool] | None:
    """(is_result, evidence, guessed) from verbs; None when no word decides."""
    for it in items:
        w = it.word
        if w is None or not w.parses:
            continue
        if all(p.tag.POS == "VERB" and "pres" in p.tag and "Abbr" not in p.tag for p in w.parses):
            return False, f"{it.token.norm}: VERB pres (an ongoing process)", False
    for it in items:
        w = it.word
        if w is None or it.token.norm in RU_NOUN_HOMONYMS:
            continue
        hits = [p for p in w.parses if _is_result_parse(p) and "Abbr" not in p.tag]
        if hits:
            p = hits[0]
            tags = f"{p.tag.POS} perf past"
            if any("impf" in q.tag for q in w.parses):
                tags += " (tied with impf)"
            if w.repaired_from is not None:
                return True, f"{w.repaired_from} ~ {w.text}: {tags} (typo?)", True
            return True, f"{it.token.norm}: {tags}", not w.known
    for it in items:
        w = it.word
        if w is None:
            continue
        if (w.has("ADJS") and w.lemmas & RU_STATE_ADJECTIVES) or (
            w.has("ADVB") and w.lemmas & RU_STATE_ADVERBS
        ):
            return True, f"{it.token.norm}: ADJS (a reached state)", False
    for k, it in enumerate(items):
        w = it.word
        if (
            k > 0
            and items[k - 1].token.norm not in RU_PREPOSITIONS
            and w is not None
            and not w.known
            and w.repaired_from is None
            and len(it.token.norm) >= RU_REPAIR_MIN_LEN + 2
            and RU_PARTICIPLE_ENDING.search(it.token.norm)
        ):
            return True, f"{it.token.norm}: unknown word, participle ending (guess)", True
    return None


def _classify_ru(tokens: Sequence[_Token], text: str) -> NameVerdict:
    items = _ru_items(tokens)
    manager = _ru_manager(items)
    if manager is not None:
        evidence, act = manager
        return NameVerdict(
            kind=NameKind.MANAGER_ACTION,
            language="ru",
            evidence=evidence,
            suggestion=_ru_manager_suggestion(items, act, text),
        )
    decided = _ru_result(items)
    if decided is not None and decided[0]:
        return NameVerdict(
            kind=NameKind.RESULT, language="ru", evidence=decided[1], guessed=decided[2]
        )
    if decided is not None:
        evidence = decided[1]
    else:
        head = next((it for it in items if it.word is not None), items[0] if items else None)
        if head is None:
            evidence = "no words"
        elif head.word is None:
            evidence = f"{head.token.norm}: abbreviation, no result verb"
        else:
            evidence = f"{head.token.norm}: {'/'.join(sorted(head.word.pos)) or 'UNKN'}"
    return NameVerdict(
        kind=NameKind.PROCESS,
        language="ru",
        evidence=evidence,
        suggestion=_ru_process_suggestion(items, text),
    )


# --- Russian suggestions ---------------------------------------------------------------------


def _gender_number(item: _RuItem, parse: Any | None) -> tuple[str, str]:
    bare = _HYPHENS.sub("", item.token.norm)
    if item.word is None:
        if bare in RU_ABBREVIATIONS:
            return RU_ABBREVIATIONS[bare], "sing"
        return LATIN_ABBREVIATION_GENDER.get(bare, "neut"), "sing"
    if parse is None:
        return "masc", "sing"
    number = "plur" if "plur" in parse.tag or "Pltm" in parse.tag else "sing"
    gender = str(parse.tag.gender) if parse.tag.gender in {"masc", "femn", "neut"} else "masc"
    return gender, number


@functools.lru_cache(maxsize=1024)
def _ru_participle(verb: str, gender: str, number: str) -> str | None:
    """The perfective past form of ``verb`` that agrees with a subject: подписать → подписан."""
    infinitives = [p for p in _analyzer().parse(verb) if p.tag.POS == "INFN"]
    if not infinitives:
        return None
    inf = next((p for p in infinitives if "perf" in p.tag), infinitives[0])
    agreement = {"plur"} if number == "plur" else {gender, "sing"}
    for wanted in ({"PRTS", "perf", "past", "pssv"}, {"VERB", "past", "indc"}):
        form = inf.inflect(wanted | agreement)
        if form is not None:
            return str(form.word)
    return None


def _noun_parse(item: _RuItem, case: str | None = None) -> Any | None:
    if item.word is None:
        return None
    pool = [p for p in item.word.parses if p.tag.POS == "NOUN"] or [
        p for p in item.word.alternatives if p.tag.POS == "NOUN"
    ]
    if case is not None:
        pool = [p for p in item.word.alternatives if p.tag.POS == "NOUN" and case in p.tag] or pool
    return pool[0] if pool else None


def _is_noun(item: _RuItem) -> bool:
    if item.word is None:
        return item.token.abbr or item.token.script == "lat"
    return "NOUN" in item.word.pos or item.token.norm in RU_NOUN_HOMONYMS


def _is_adjective(item: _RuItem) -> bool:
    return item.word is not None and bool(item.word.pos & {"ADJF", "PRTF"})


def _nominative(item: _RuItem, parse: Any | None) -> str:
    """The noun (or abbreviation) in the nominative, keeping its number."""
    if item.word is None or parse is None:
        return item.token.raw if item.token.abbr else item.token.norm
    form = parse.inflect({"nomn"})
    return str(form.word) if form is not None else item.token.norm


def _adjective_agreeing(item: _RuItem, gender: str, number: str) -> str:
    if item.word is None:
        return item.token.norm
    agreement = {"plur"} if number == "plur" else {gender, "sing"}
    for p in item.word.alternatives:
        if p.tag.POS in {"ADJF", "PRTF"}:
            form = p.inflect({"nomn"} | agreement)
            if form is not None:
                return str(form.word)
    return item.token.norm


def _object_phrase(
    items: Sequence[_RuItem], at: int, case: str | None
) -> tuple[str, str, str, str] | None:
    """Noun phrase starting at ``at``: (text in nominative, head lemma, gender, number)."""
    adjectives: list[_RuItem] = []
    for it in items[at:]:
        if _is_adjective(it) and not _is_noun(it):
            adjectives.append(it)
            continue
        if not _is_noun(it):
            return None
        parse = _noun_parse(it, case)
        gender, number = _gender_number(it, parse)
        head_lemma = (
            _HYPHENS.sub("", it.token.norm)
            if it.word is None
            else _norm(str(parse.normal_form if parse is not None else it.token.norm))
        )
        words = [_adjective_agreeing(a, gender, number) for a in adjectives]
        words.append(_nominative(it, parse))
        return " ".join(words), head_lemma, gender, number
    return None


def _finish(text: str, original: str) -> str:
    """Capitalise; keep the user's е/ё habit (pymorphy spells ё)."""
    if "ё" not in original.casefold():
        text = text.replace("ё", "е").replace("Ё", "Е")
    return text[:1].upper() + text[1:]


def _ru_with_verb(subject: str, verb: str, gender: str, number: str, original: str) -> str | None:
    form = _ru_participle(verb, gender, number)
    if form is None:
        return None
    return _finish(f"{subject} {form}", original)


def _ru_manager_suggestion(items: Sequence[_RuItem], act: str, text: str) -> str | None:
    if act == "seller":
        # Without the seller the name may still be a seller's act ("Мы отправили КП" → the
        # sending) or already a result ("Презентация проведена менеджером").
        rest = [
            it
            for it in items
            if not (
                it.lemmas & RU_SELLER_NOUNS
                and (it.has("ablt") or it.has("nomn") or it.word is None)
            )
        ]
        inner = _ru_manager(rest)
        if inner is not None and inner[1] != "seller":
            return _ru_manager_suggestion(rest, inner[1], text)
        decided = _ru_result(rest)
        if rest and decided is not None and decided[0]:
            words = [it.token.norm if text.isupper() else it.token.raw for it in rest]
            return _finish(" ".join(words), text)
        return None
    for i, it in enumerate(items):
        if it.lemmas & RU_DOCUMENT_RESULTS.keys() and _is_noun(it):
            start = i
            while start > 0 and _is_adjective(items[start - 1]) and not _is_noun(items[start - 1]):
                start -= 1
            # After an action noun the document is its genitive object ("Выставление счета":
            # "счета" is then singular, not the plural nominative).
            after_noun = start > 0 and _is_noun(items[start - 1]) and items[start - 1].word
            phrase = _object_phrase(items, start, "gent" if after_noun else None)
            if phrase is not None and phrase[1] in RU_DOCUMENT_RESULTS:
                subject, lemma, gender, number = phrase
                return _ru_with_verb(subject, RU_DOCUMENT_RESULTS[lemma], gender, number, text)
    if act in RU_CALL_WORDS:
        return RU_CALL_SUGGESTION
    if act == "objection":
        return RU_OBJECTION_SUGGESTION
    if act in {"обработать", "обрабатывать", "обработка"}:
        return RU_PROCESSING_SUGGESTION
    if act in RU_MESSAGE_ACTS:
        return RU_MESSAGE_SUGGESTION
    return None


def _ru_process_suggestion(items: Sequence[_RuItem], text: str) -> str | None:
    head_at = next((i for i, it in enumerate(items) if _is_noun(it)), None)
    if head_at is None:
        return None
    head = items[head_at]
    head_lemmas = head.lemmas
    # Action noun with a genitive object: "Подписание договора" → "Договор подписан".
    action = next(
        (RU_ACTION_NOUNS[lem] for lem in sorted(head_lemmas & RU_ACTION_NOUNS.keys())), None
    )
    if action is not None and head_at + 1 < len(items):
        nxt = items[head_at + 1]
        if _contiguous(text, head, nxt) and (nxt.has_any("gent") or nxt.word is None):
            phrase = _object_phrase(items, head_at + 1, "gent")
            if phrase is not None:
                subject, _, gender, number = phrase
                return _ru_with_verb(subject, action, gender, number, text)
    verb = next(
        (RU_PROCESS_RESULTS[lem] for lem in sorted(head_lemmas & RU_PROCESS_RESULTS.keys())), None
    )
    if verb is None:
        return None
    head_parse = _noun_parse(head, "nomn")
    gender, number = _gender_number(head, head_parse)
    upper = text.isupper()

    def shown(it: _RuItem) -> str:
        return it.token.norm if upper and not it.token.abbr else it.token.raw

    if head.word is not None and not head.has("nomn"):
        head_text = _nominative(head, _noun_parse(head))
    else:
        head_text = shown(head)
    # A verb before the head ("Ждём оплату", "Назначить встречу") says what happens to the
    # noun; the suggestion is then the noun alone: "Оплата получена".
    if any(it.verbal for it in items[:head_at]):
        return _ru_with_verb(head_text, verb, gender, number, text)
    # Leading adjectives are dropped ("Телефонные переговоры" → "Переговоры проведены"),
    # except in fixed compounds ("Коммерческое предложение"); other modifiers ("Онлайн") stay.
    prefix = [
        shown(it)
        for it in items[:head_at]
        if not _is_adjective(it)
        or any((a, h) in RU_FIXED_COMPOUNDS for a in it.lemmas for h in head_lemmas)
    ]
    # Kept after the head: a genitive chain ("Просмотр объектов", "Квалификация лида") and a
    # "с"-phrase ("Встреча с ЛПР").  Status phrases ("Договор на подписании") are dropped.
    tail: list[str] = []
    k = head_at + 1
    with_phrase = False
    while k < len(items) and _contiguous(text, items[k - 1], items[k]):
        it = items[k]
        if it.token.norm in {"с", "со"}:
            with_phrase = True
        elif not with_phrase and not (it.has_any("gent") or it.token.abbr):
            break
        tail.append(shown(it))
        k += 1
    if tail and tail[-1].casefold() in {"с", "со"}:
        tail.pop()
    subject = " ".join([*prefix, head_text, *tail])
    return _ru_with_verb(subject, verb, gender, number, text)


def _contiguous(text: str, left: _RuItem, right: _RuItem) -> bool:
    between = text[left.token.end : right.token.start]
    return between.isspace() and len(between) <= 2


# ---------------------------------------------------------------------------------------------
# English
# ---------------------------------------------------------------------------------------------


def _en_words(tokens: Sequence[_Token], text: str) -> tuple[list[str], frozenset[int]]:
    """Lower-case Latin words and the indices of words that end a segment of the name.

    Hyphenated words are split; "follow-up" / "follow up" become the noun "followup" (the
    verb is "followed up").  A segment ends before punctuation that separates parts of a name:
    "Lost - no budget", "Closed: won", "Proposal/Price quote".
    """
    words: list[str] = []
    ends: set[int] = set()
    latin = [t for t in tokens if t.script == "lat"]
    for k, t in enumerate(latin):
        parts = [p.replace("’", "'") for p in _HYPHENS.split(t.norm) if p]
        words.extend(parts)
        if k + 1 < len(latin) and not text[t.end : latin[k + 1].start].isspace():
            ends.add(len(words) - 1)
    merged: list[str] = []
    merged_ends: set[int] = set()
    i = 0
    while i < len(words):
        pair = words[i : i + 2]
        if pair in (["follow", "up"], ["cold", "call"]):
            merged.append("followup" if pair[0] == "follow" else "cold-call")
            i += 2
            if i - 1 in ends:
                merged_ends.add(len(merged) - 1)
            continue
        merged.append(words[i])
        if i in ends:
            merged_ends.add(len(merged) - 1)
        i += 1
    return merged, frozenset(merged_ends)


def _en_participle(word: str) -> str | None:
    """Why ``word`` is a past participle, or None."""
    if word in EN_IRREGULAR_PARTICIPLES:
        return "irregular past participle"
    if word in EN_ED_STOP_WORDS:
        return None
    if len(word) > 4 and word.endswith("ed"):
        if word.endswith("eed") and word not in EN_EED_PARTICIPLES:
            return None
        return "-ed participle"
    return None


def _en_clause_ends(words: Sequence[str], segment_ends: frozenset[int]) -> list[int]:
    """Positions where a participle would close a clause."""
    ends: list[int] = list(segment_ends)
    last = len(words) - 1
    while last > 0 and words[last] in EN_PARTICLES:
        last -= 1
    if last >= 0:
        ends.append(last)
    for i in range(1, len(words)):
        if words[i] in EN_PREPOSITIONS and words[i - 1] not in EN_PREPOSITIONS:
            ends.append(i - 1)
    return sorted(set(ends))


def _en_manager(words: Sequence[str]) -> tuple[str, str] | None:
    if not words:
        return None
    by = {words[i + 1] for i in range(len(words) - 1) if words[i] == "by"}
    if by & EN_SELLER_NOUNS:
        return f"by {min(by & EN_SELLER_NOUNS)}: the seller acts", "seller"
    if words[0] in EN_SELLER_SUBJECTS and len(words) > 1 and _en_verbish(words[1]):
        return f"{words[0]} {words[1]}: the seller acts", "seller"
    if by & EN_CUSTOMER_NOUNS:
        return None
    if set(words) & EN_CUSTOMER_MODIFIERS:
        return None
    if set(words) & EN_OBJECTION_WORDS and set(words) & EN_OBJECTION_HANDLING:
        return "objections: handled by the seller", "objection"
    customer_subject = words[0] in EN_CUSTOMER_NOUNS
    for i, w in enumerate(words):
        verb = w in EN_MANAGER_VERB_FORMS
        phrasal = w in {"followed", "following", "reach", "reached", "reaching"} and (
            i + 1 < len(words) and words[i + 1] in {"up", "out"}
        )
        if verb or phrasal:
            # "Customer sent requirements": the customer is the active subject.  "Lead
            # contacted" (nothing follows the verb) reads as passive: the seller acted.
            if customer_subject and i > 0 and i < len(words) - 1:
                return None
            key = "followup" if phrasal and w.startswith("follow") else w
            return f"{w}: the seller's act", key
    if set(words) & EN_DOCUMENT_VERBS and set(words) & EN_SELLER_DOCUMENTS:
        doc = min(set(words) & EN_SELLER_DOCUMENTS)
        return f"{doc}: handed over by the seller", "sent"
    participles = [w for w in words if _en_participle(w)]
    if not participles and len(words) > 1 and words[0] in EN_MANAGER_IMPERATIVES:
        return f"{words[0]}: an instruction to the seller", words[0]
    if set(participles) & EN_LIGHT_VERBS and set(words) & EN_SELLER_OFFERS:
        offer = min(set(words) & EN_SELLER_OFFERS)
        return f"{offer}: made by the seller", offer
    if all(p in EN_LIGHT_VERBS for p in participles):
        nouns = set(words) & EN_MANAGER_NOUNS
        if nouns:
            noun = min(nouns)
            return f"{noun}: the seller's act", noun
    return None


def _en_verbish(word: str) -> bool:
    return bool(_en_participle(word)) or word in EN_MANAGER_VERB_FORMS or word.endswith("ing")


def _en_result(words: Sequence[str], segment_ends: frozenset[int] = frozenset()) -> str | None:
    if not words:
        return None
    for i in range(len(words) - 1):
        if words[i] == "closed" and words[i + 1] in EN_OUTCOME_WORDS:
            return f"closed {words[i + 1]}: CRM outcome"
    for i in _en_clause_ends(words, segment_ends):
        why = _en_participle(words[i])
        if why is not None:
            return f"{words[i]}: {why}"
        if words[i] in EN_OUTCOME_WORDS:
            return f"{words[i]}: outcome"
    # "Signed contract", "Sales qualified lead": a participle right before the head noun says
    # the head has been through it.  Further left it is a mere modifier ("Paid search lead").
    if len(words) >= 2 and (why := _en_participle(words[-2])) is not None:
        return f"{words[-2]}: {why}"
    # "Requested a callback", "Signed the contract": a past verb with an object (the article
    # shows it is a verb, not an adjective as in "Paid search lead"); the customer is implied.
    if len(words) > 2 and words[1] in EN_ARTICLES and (why := _en_participle(words[0])):
        return f"{words[0]} {words[1]}: {why} with an object"
    # "Client answered the call": the customer did something, in the past.
    if len(words) > 2 and words[0] in EN_CUSTOMER_NOUNS:
        why = _en_participle(words[1])
        if why is not None:
            return f"{words[0]} {words[1]}: the customer acted"
    return None


def _en_capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _en_manager_suggestion(words: Sequence[str], act: str) -> str | None:
    if act == "seller":
        # "We sent the proposal" → the sending; "Presentation given by manager" → a result.
        rest = [w for w in words if w not in EN_SELLER_NOUNS and w != "by"]
        inner = _en_manager(rest)
        if inner is not None and inner[1] != "seller":
            return _en_manager_suggestion(rest, inner[1])
        if rest and _en_result(rest) is not None:
            return _en_capitalise(" ".join(rest))
        return None
    for w in words:
        if w in EN_DOCUMENT_RESULTS:
            return _en_capitalise(f"{w} {EN_DOCUMENT_RESULTS[w]}").replace("Nda", "NDA")
    if act in EN_CALL_WORDS or act == "cold-call":
        return EN_CALL_SUGGESTION
    if act == "objection":
        return EN_OBJECTION_SUGGESTION
    if act in {"issued", "issuing", "issue", "invoicing"}:
        return EN_ISSUE_SUGGESTION
    return None


def _en_process_suggestion(tokens: Sequence[_Token], words: Sequence[str], text: str) -> str | None:
    if not words or words[-1] not in EN_PROCESS_RESULTS:
        return None
    # Only a plain noun phrase gets a participle appended: "Waiting for payment", "Client
    # evaluates proposal" or "Under review" would turn into nonsense.
    for w in words[:-1]:
        if (
            w in EN_PREPOSITIONS
            or w in EN_NOT_MODIFIERS
            or w in EN_CUSTOMER_NOUNS
            or w.endswith("ing")
            or _en_participle(w)
            or w.endswith("ed")
        ):
            return None
    latin = [t for t in tokens if t.script == "lat"]
    phrase = text[latin[0].start : latin[-1].end]
    upper = phrase.isupper()
    if upper or (phrase.istitle() and len(latin) > 1):
        # "Needs Analysis" → "Needs analysis completed"; abbreviations keep their capitals.
        first = latin[0].raw.lower() if upper else latin[0].raw
        pieces = [first]
        for prev, t in itertools.pairwise(latin):
            pieces.append(text[prev.end : t.start])
            pieces.append(t.raw if t.abbr and not upper else t.raw.lower())
        phrase = "".join(pieces)
    return _en_capitalise(f"{phrase} {EN_PROCESS_RESULTS[words[-1]]}")


def _classify_en(tokens: Sequence[_Token], text: str) -> NameVerdict:
    words, segment_ends = _en_words(tokens, text)
    manager = _en_manager(words)
    if manager is not None:
        evidence, act = manager
        suggestion = _en_manager_suggestion(words, act)
        return NameVerdict(
            kind=NameKind.MANAGER_ACTION, language="en", evidence=evidence, suggestion=suggestion
        )
    result = _en_result(words, segment_ends)
    if result is not None:
        return NameVerdict(kind=NameKind.RESULT, language="en", evidence=result)
    last = words[-1] if words else ""
    evidence = f"{last}: no past participle" if last else "no English words"
    return NameVerdict(
        kind=NameKind.PROCESS,
        language="en",
        evidence=evidence,
        suggestion=_en_process_suggestion(tokens, words, text),
    )


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def classify(name: str) -> NameVerdict:
    """Classify one stage name (M1/M2/M3).  Total: any string gets a verdict, nothing raises."""
    text = _clean(name)
    tokens = _tokenize(text)
    language = _language(tokens)
    if not any(t.script != "other" for t in tokens):
        return NameVerdict(kind=NameKind.UNKNOWN, language=language, evidence="no words")
    phrase = _in_progress(tokens, text)
    if phrase is not None:
        return NameVerdict(
            kind=NameKind.IN_PROGRESS, language=language, evidence=f"in-progress phrase {phrase}"
        )
    if language == "ru":
        return _classify_ru(tokens, text)
    return _classify_en(tokens, text)
