"""Diagrams a head of sales can read in a pull request: in the pipeline's language, with every
text inside its box whatever sans-serif font the reader's machine falls back to, and legible
when GitHub scales the SVG to about 1 000 px wide.

The fit is checked with the widest usual fallback, DejaVu Sans (vendored in
``tests/fixtures/fonts``, measured with Pillow): Graphviz lays text out with Arial's metrics,
and Liberation Sans and Arimo have exactly those, so a box that holds DejaVu holds them all.
``docs/make_pngs.py`` rasterises the SVGs with DejaVu only, for looking at them.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import ImageFont

from funnelc import compile_text
from funnelc.emit import EmitOptions, get_target
from funnelc.model import Ident, Pipeline, Project, Text
from tests.conftest import ROOT
from tests.test_target_dot import CASES, case

if TYPE_CHECKING:  # mypy knows the folder as `targets`; installed, it is `funnelc.targets`
    import targets.dot as dot
else:
    dot = importlib.import_module("funnelc.targets.dot")

SVG = "{http://www.w3.org/2000/svg}"
XLINK_TITLE = "{http://www.w3.org/1999/xlink}title"
FONT = ROOT / "tests" / "fixtures" / "fonts" / "DejaVuSans.ttf"
GITHUB_WIDTH = 1000
"""How wide GitHub shows an SVG in a pull request or a README, in pixels (about)."""
MIN_TEXT_PX = 9.0

EXAMPLES = [c for c in CASES if c.values[0] == "examples"]  # type: ignore[attr-defined]


def svg_of(project: Project, pipeline: Pipeline, language: str | None = None) -> bytes:
    emitted = get_target("svg").emit(project, pipeline, EmitOptions(language=language))
    assert emitted.diagnostics == ()
    return emitted.files[f"{pipeline.id.name}.svg"]


def dot_of(project: Project, pipeline: Pipeline, language: str | None = None) -> str:
    emitted = get_target("dot").emit(project, pipeline, EmitOptions(language=language))
    return emitted.files[f"{pipeline.id.name}.dot"].decode("utf-8")


@functools.cache
def example_svg(source: str, pipeline_id: str) -> bytes:
    return svg_of(*case(source, pipeline_id))


# ---- the pipeline's language ---------------------------------------------------------------

_LATIN = re.compile(r"[A-Za-z]+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]+")
_WORD = re.compile(r"[A-Za-z]+|[\u0400-\u04ff]+")


def _user_words(project: Project) -> set[str]:
    """Every word the user wrote: display names, goals, criteria, labels, ids."""
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, Text):
            found.update(_WORD.findall(value.value))
        elif isinstance(value, Ident):
            found.update(_WORD.findall(value.name))
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for f in dataclasses.fields(value):
                if not f.name.startswith("_"):
                    walk(getattr(value, f.name))
        elif isinstance(value, tuple | list):
            for item in value:
                walk(item)

    for pipeline in project.pipelines:
        walk(pipeline)
    return found


def svg_texts(svg: bytes) -> Iterator[str]:
    """What the SVG shows or says in a tooltip (not the ``<title>`` ids)."""
    root = ET.fromstring(svg)
    for element in root.iter():
        if element.tag == f"{SVG}text" and element.text:
            yield element.text
        title = element.get(XLINK_TITLE)
        if title:
            yield title


_DOT_TEXT = re.compile(r'\b(?:label|tooltip|taillabel)=("(?:[^"\\]|\\.)*"|[^\s\]"]+)')


def dot_texts(source: str) -> Iterator[str]:
    for raw in _DOT_TEXT.findall(source):
        value = raw[1:-1] if raw.startswith('"') else raw
        yield re.sub(r"\\+[nlr]", " ", value)


def foreign_words(texts: Iterator[str], script: re.Pattern[str], allowed: set[str]) -> set[str]:
    return {w for text in texts for w in script.findall(text) if w not in allowed}


@pytest.mark.parametrize(("source", "pipeline_id"), EXAMPLES)
def test_a_russian_pipeline_has_no_english_label(source: str, pipeline_id: str) -> None:
    project, pipeline = case(source, pipeline_id)
    allowed = _user_words(project)
    assert foreign_words(svg_texts(example_svg(source, pipeline_id)), _LATIN, allowed) == set()
    assert foreign_words(dot_texts(dot_of(project, pipeline)), _LATIN, allowed) == set()


_ENGLISH = """
pipeline web "Web inbound" {
  segment "Companies that filled in the form"
  lead {
    definition "A company from the target segment left its contacts"
    stage new "Request received" { goal "Reach the client" exit "Client answered" sla 2h }
    accept "Decision maker known"
    lost junk "Lead rejected"
  }
  deal {
    stage accepted "Lead accepted" { sla 1d probability 10% timeout -> lost }
    stage qualified "Qualification passed" key { sla 5bd probability 30% }
    stage agreed "Terms agreed" { sla 2w }
    won paid "Invoice paid"
    lost lost "Deal lost"
    lost pit "Stalled"
  }
  qualified -> accepted "Client changed the brief"
  timeout -> pit
  revive pit -> new after 30d "Marketing nurtures it"
}
"""


def _english() -> tuple[Project, Pipeline]:
    result = compile_text(_ENGLISH, "web.funnel")
    assert result.project is not None, [d.message for d in result.diagnostics]
    return result.project, result.project.pipelines[0]


def test_an_english_pipeline_has_no_russian_label() -> None:
    project, pipeline = _english()
    allowed = _user_words(project)
    svg = svg_of(project, pipeline)
    assert foreign_words(svg_texts(svg), _CYRILLIC, allowed) == set()
    assert foreign_words(dot_texts(dot_of(project, pipeline)), _CYRILLIC, allowed) == set()
    # … and it does say the English words.
    shown = " ".join(svg_texts(svg))
    for word in ("Lead", "Deal", "key stage", "SLA 5bd", "any stage", "revive after 30d"):
        assert word in shown, word


def test_the_declaration_and_the_config_choose_the_language() -> None:
    project, pipeline = _english()
    # The project's default turns an English pipeline's diagram Russian …
    in_russian = dot_of(project, pipeline, "ru")
    assert "Лиды" in in_russian and "срок 5\u00a0раб. дн" in in_russian
    assert foreign_words(dot_texts(in_russian), _LATIN, _user_words(project)) == set()
    # … but a pipeline's own declaration wins over it.
    declared = _ENGLISH.replace('segment "Companies', 'language en\n  segment "Companies')
    result = compile_text(declared, "web.funnel")
    assert result.project is not None
    assert result.project.pipelines[0].language is not None
    text = dot_of(result.project, result.project.pipelines[0], "ru")
    assert "label=Lead " in text and "Лиды" not in text


def test_russian_durations_keep_their_unit() -> None:
    from funnelc.model import Duration, DurationUnit
    from funnelc.source import Span

    span = Span("t.funnel", 0, 1)
    shown = {u: dot.duration_label(Duration(5, u, span), "ru") for u in DurationUnit}
    assert len(set(shown.values())) == len(DurationUnit)  # no two units read the same
    assert shown[DurationUnit.BUSINESS_DAYS] == "5\u00a0раб. дн"
    assert dot.duration_label(Duration(5, DurationUnit.BUSINESS_DAYS, span), "en") == "5bd"


def test_the_diagram_words_come_from_the_catalogue() -> None:
    """The diagram's own words are English message ids, translated by the gettext catalogue;
    a short word has its gettext context (``msgctxt "diagram"``), never shown."""
    english, russian = dot.words("en"), dot.words("ru")
    assert english == {k: dot.as_msg(v).id for k, v in dot.WORDS.items()}
    assert dot.as_msg(dot.WORDS["timeout"]).context == "diagram"
    assert english["timeout"] == "timeout" and russian["timeout"] == "по сроку"
    for key, text in russian.items():
        assert text != english[key], key  # translated
        assert "|" not in text and "|" not in english[key]


@pytest.mark.parametrize(
    ("n", "lead", "deal"),
    [
        (1, "1 этап лидов", "1 этап сделок"),
        (2, "2 этапа лидов", "2 этапа сделок"),
        (5, "5 этапов лидов", "5 этапов сделок"),
        (11, "11 этапов лидов", "11 этапов сделок"),
        (21, "21 этап лидов", "21 этап сделок"),
        (22, "22 этапа лидов", "22 этапа сделок"),
        (112, "112 этапов лидов", "112 этапов сделок"),
    ],
)
def test_stage_counts_follow_the_plural_forms(n: int, lead: str, deal: str) -> None:
    from funnelc.model import Phase

    assert dot._stage_count(n, Phase.LEAD, "ru") == lead
    assert dot._stage_count(n, Phase.DEAL, "ru") == deal
    noun = "stage" if n == 1 else "stages"
    assert dot._stage_count(n, Phase.LEAD, "en") == f"{n} lead {noun}"
    assert dot._stage_count(n, Phase.DEAL, "en") == f"{n} deal {noun}"


# ---- no text outside its box, in the fallback font --------------------------------------------


@functools.cache
def _font(size: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT), size=round(size * 100))


def width_in_dejavu(text: str, size: float) -> float:
    """The width in points of ``text`` set in DejaVu Sans at ``size`` points."""
    return float(_font(size).getlength(text)) / 100


def _xs(element: ET.Element) -> list[float]:
    if element.tag == f"{SVG}polygon":
        pairs = (p.split(",") for p in (element.get("points") or "").split())
        return [float(x) for x, _ in pairs]
    numbers = re.findall(r"(-?[\d.]+),(-?[\d.]+)", element.get("d") or "")
    return [float(x) for x, _ in numbers]


def _text_span(text: ET.Element) -> tuple[float, float]:
    x = float(text.get("x", "0"))
    width = width_in_dejavu(text.text or "", float(text.get("font-size", "14")))
    anchor = text.get("text-anchor", "start")
    if anchor == "middle":
        return x - width / 2, x + width / 2
    if anchor == "end":
        return x - width, x
    return x, x + width


def overflows(svg: bytes) -> list[str]:
    """Every text that leaves its box (a node's outline) or the drawing, set in DejaVu Sans."""
    root = ET.fromstring(svg)
    problems: list[str] = []
    graph = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "graph")
    shift = re.search(r"translate\((-?[\d.]+) ", graph.get("transform", ""))
    offset = float(shift.group(1)) if shift else 0.0
    width = float(root.get("viewBox", "0 0 0 0").split()[2])
    for g in graph.iter(f"{SVG}g"):
        if g.get("class") != "node":
            continue
        outline = [x for e in g.iter() if e.tag in (f"{SVG}polygon", f"{SVG}path") for x in _xs(e)]
        left, right = min(outline), max(outline)
        for text in g.iter(f"{SVG}text"):
            start, end = _text_span(text)
            if start < left + 1 or end > right - 1:
                problems.append(
                    f"{text.text!r}: {start:.0f}–{end:.0f} outside {left:.0f}–{right:.0f}"
                )
    for text in graph.iter(f"{SVG}text"):
        start, end = _text_span(text)
        if start + offset < 0 or end + offset > width:
            problems.append(
                f"{text.text!r} leaves the drawing ({start + offset:.0f}–{end + offset:.0f})"
            )
    return problems


@pytest.mark.parametrize(("source", "pipeline_id"), EXAMPLES)
def test_no_text_leaves_its_box_in_the_fallback_font(source: str, pipeline_id: str) -> None:
    svg = example_svg(source, pipeline_id)
    assert b"font-family=\"Arial, 'Liberation Sans', Arimo, sans-serif\"" in svg
    assert b'font-family="Arial"' not in svg
    assert overflows(svg) == []


def test_the_check_sees_a_box_that_is_too_narrow() -> None:
    # Without the room made for the fallback font, DejaVu Sans overflows: the check can fail.
    svg = example_svg("examples", "solution_sales")
    squeezed = re.sub(rb"<text ([^>]*)font-size=\"12.00\"", rb'<text \1font-size="16.00"', svg)
    assert overflows(squeezed) != []


# ---- legible at GitHub's width ------------------------------------------------------------------


def scaled_text_sizes(svg: bytes) -> tuple[float, float]:
    """(width in points, the smallest text as shown ``GITHUB_WIDTH`` wide, in pixels).

    GitHub shows an SVG at most about 1 000 px wide: a wider one is scaled down, so its text
    is ``font-size × 1000 / width`` high."""
    root = ET.fromstring(svg)
    width = float((root.get("width") or "0").removesuffix("pt"))
    sizes = [float(t.get("font-size", "14")) for t in root.iter(f"{SVG}text")]
    scale = GITHUB_WIDTH / width if width > GITHUB_WIDTH else 1.0
    return width, min(sizes) * scale


@pytest.mark.parametrize(("source", "pipeline_id"), EXAMPLES)
def test_every_example_is_legible_at_github_width(source: str, pipeline_id: str) -> None:
    width, smallest = scaled_text_sizes(example_svg(source, pipeline_id))
    assert smallest >= MIN_TEXT_PX, f"{pipeline_id}: {width:.0f} pt wide, text {smallest:.1f} px"


def _long_pipeline(open_stages: int) -> str:
    names = [
        "Заявка получена и квалифицирована",
        "Клиент ответил на первый звонок",
        "Встреча с ЛПР назначена",
        "Встреча с ЛПР проведена",
        "Потребности клиента выявлены",
        "Коммерческое предложение отправлено",
        "КП обсуждено с финансовым директором",
        "Пилотный проект согласован",
        "Пилотный проект успешно завершён",
        "Условия договора согласованы",
        "Договор подписан обеими сторонами",
        "Предоплата получена",
    ]
    lead = "\n".join(
        f'stage l{i} "{names[i]}" {{ sla {i + 1}h }}' for i in range(min(3, open_stages))
    )
    deal = "\n".join(
        f'stage d{i} "{names[i]}" {{ sla {i + 1}d probability {5 * i + 5}% }}'
        for i in range(3, open_stages)
    )
    return f"""
    pipeline long "Длинная воронка: двенадцать этапов" {{
      segment "Крупные компании с долгим циклом сделки и несколькими участниками с каждой стороны"
      lead {{ {lead} accept "Есть ЛПР" lost junk "Лид отбракован" }}
      deal {{
        {deal}
        won paid "Оплата получена"
        lost lost "Не реализовано"
        lost pit "Сделка зависла"
      }}
      timeout -> pit
      revive pit -> l0 after 30d "Маркетинг прогревает рассылкой"
    }}
    """


@pytest.mark.parametrize("open_stages", [4, 12])
def test_a_pipeline_of_up_to_twelve_open_stages_is_legible(open_stages: int) -> None:
    result = compile_text(_long_pipeline(open_stages), "long.funnel")
    assert result.project is not None, [d.message for d in result.diagnostics]
    svg = svg_of(result.project, result.project.pipelines[0])
    width, smallest = scaled_text_sizes(svg)
    assert smallest >= MIN_TEXT_PX, f"{width:.0f} pt wide, text {smallest:.1f} px"
    assert overflows(svg) == []


def test_fonts_are_vendored() -> None:
    assert FONT.is_file() and Path(FONT.parent / "DejaVu-LICENSE.txt").is_file()


def test_the_config_reads_the_language(tmp_path: Path) -> None:
    from funnelc.config import load_config

    good = tmp_path / "funnelc.toml"
    good.write_text('language = "ru"\n', encoding="utf-8")
    config, problems = load_config(good)
    assert config.language == "ru" and problems == []
    good.write_text('language = "de"\n', encoding="utf-8")
    config, problems = load_config(good)
    assert config.language is None and [d.code for d in problems] == ["F604"]
    assert "`language` must be one of" in problems[0].message
