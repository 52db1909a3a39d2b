"""The setuptools build hook that compiles the message catalogues into the wheel.

``pyproject.toml`` names :class:`build_py` as the ``build_py`` command: after the usual copy it
compiles every ``funnelc/locale/<lang>/LC_MESSAGES/*.po`` into the ``.mo`` next to it in the
build tree, so the wheel carries ``.mo`` files for stdlib :mod:`gettext` and the source tree
keeps only the ``.po`` a translator edits.  It runs before funnelc is importable, so it loads
:mod:`funnelc.po` (standard library only) by path.  An editable install compiles nothing: the
package then reads the ``.po`` directly (:func:`funnelc.i18n.translations`).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from setuptools.command.build_py import build_py as _build_py  # type: ignore[import-untyped]

_HERE = Path(__file__).resolve().parent


def _po_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_funnelc_po", _HERE / "po.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def compiled_catalogues() -> dict[str, bytes]:
    """``locale/<lang>/LC_MESSAGES/<domain>.mo`` (relative to the package) → its bytes."""
    po = _po_module()
    out: dict[str, bytes] = {}
    for source in sorted((_HERE / "locale").glob("*/LC_MESSAGES/*.po")):
        relative = source.relative_to(_HERE).with_suffix(".mo").as_posix()
        out[relative] = po.compile_mo(po.parse_po(source.read_text(encoding="utf-8")))
    return out


class build_py(_build_py):  # type: ignore[misc]
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for relative, data in compiled_catalogues().items():
            target = Path(self.build_lib) / "funnelc" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
