"""The target registry: which targets exist, which module implements each, and which modules
hold the targets' diagnostic codes.

Plain strings only, so that reading it costs nothing: :mod:`funnelc.emit` imports a target's
module when the target is asked for, and :mod:`funnelc.codes` imports the code modules to merge
the targets' codes into its catalogue, without the core importing any target by name
(import-linter checks it).
"""

from __future__ import annotations

# name → module under funnelc.targets (imported lazily)
REGISTRY: dict[str, str] = {
    "json": "funnelc.targets.json_model",
    "dot": "funnelc.targets.dot",
    "svg": "funnelc.targets.svg",
    "amocrm": "funnelc.targets.amocrm",
    "bitrix24": "funnelc.targets.bitrix24",
    "mermaid": "funnelc.targets.mermaid",
}

DEFAULT_TARGETS: tuple[str, ...] = ("json", "dot", "svg")

# Modules whose ``TARGET_CODES`` join the code catalogue (:mod:`funnelc.codes`): the targets'
# own diagnostic codes, registered by name so that the core imports no target.
CODE_MODULES: tuple[str, ...] = ("funnelc.targets.codes",)
