"""The language of a pipeline's artefacts: the words funnelc itself writes into a diagram or a
CRM plan (phase captions, "key stage", "any stage", the manual steps), not the user's names.

A pipeline says it with ``language ru`` (or ``en``); else the project's ``language`` in
``funnelc.toml`` decides; else it is detected: Russian when any display name of the pipeline
(its own or a stage's) contains Cyrillic, English otherwise.  Every target asks
:func:`pipeline_language`, so a diagram and a CRM plan of one pipeline never disagree.
"""

from __future__ import annotations

import re

from funnelc.i18n import LANGUAGES
from funnelc.model import Pipeline

__all__ = ["LANGUAGES", "detect", "pipeline_language"]

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def detect(pipeline: Pipeline) -> str:
    """``ru`` when a display name of the pipeline or of one of its stages contains Cyrillic,
    else ``en``."""
    names = [pipeline.name.value, *(s.name.value for s in pipeline.stages)]
    return "ru" if any(_CYRILLIC.search(name) for name in names) else "en"


def pipeline_language(pipeline: Pipeline, default: str | None = None) -> str:
    """The language of ``pipeline``'s artefacts: its ``language`` declaration, else
    ``default`` (the project config's ``language``), else :func:`detect`."""
    if pipeline.language is not None and pipeline.language.name in LANGUAGES:
        return pipeline.language.name
    if default in LANGUAGES:
        assert default is not None
        return default
    return detect(pipeline)
