"""The server's state, without the protocol: open documents as overlays over the files on
disk, the latest build of each, and which documents a change makes stale.

Memory is bounded by what is open: one overlay and one build per open document (a build shared
by the documents of one unit), replaced — never added to — on every check; nothing is kept per
edit.  The compiler's own process-wide caches (the parser, the message catalogues) do not
grow either; the stage-name verdicts are held, bounded, by the workspace's
:class:`funnelc.session.Session`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from funnelc.lsp.analysis import Build, Settings, compile_unit, project_settings, unit_paths
from funnelc.session import Session

NAME_CAPACITY = 128
"""Stage-name verdicts kept from one check to the next besides the current ones: every
keystroke in a stage's name or goal is a new text to classify, and a server runs for hours."""


def _read_disk(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError):
        return None


@dataclass
class Workspace:
    """Open documents (path → version and text) and their latest builds."""

    language: str = "en"
    read_disk: Callable[[str], str | None] = _read_disk
    overlays: dict[str, tuple[int, str]] = field(default_factory=dict)
    builds: dict[str, Build] = field(default_factory=dict)
    checked: dict[str, int] = field(default_factory=dict)
    """The version of each open document its build was made from."""
    session: Session = field(init=False)
    """The compiler's session: the messages' language and the bounded stage-name verdicts,
    kept from one check to the next (not read from or written to the user's cache directory:
    a server would write it on every keystroke in a name)."""

    def __post_init__(self) -> None:
        self.session = Session(language=self.language, name_capacity=NAME_CAPACITY)

    # ---- documents ---------------------------------------------------------------------------
    def open(self, path: str, version: int, text: str) -> None:
        self.overlays[path] = (version, text)

    def change(self, path: str, version: int, text: str) -> None:
        self.overlays[path] = (version, text)

    def close(self, path: str) -> None:
        self.overlays.pop(path, None)
        self.builds.pop(path, None)
        self.checked.pop(path, None)

    def read(self, path: str) -> str | None:
        overlay = self.overlays.get(path)
        return overlay[1] if overlay is not None else self.read_disk(path)

    def fresh(self, path: str) -> bool:
        overlay = self.overlays.get(path)
        return overlay is not None and self.checked.get(path) == overlay[0]

    # ---- checking ----------------------------------------------------------------------------
    def settings(self, path: str) -> Settings:
        if "://" in path or not Path(path).is_absolute():
            return Settings()
        return project_settings(Path(path))

    def check(self, path: str) -> list[str]:
        """Compile the unit of the open document ``path`` (and then the units of the open
        documents that import it); the open documents whose builds changed, to publish."""
        done = self._check_unit(path)
        for other, build in list(self.builds.items()):
            if other in done or other not in self.overlays:
                continue
            if path in build.paths:
                done.extend(self._check_unit(other))
        return done

    def _check_unit(self, path: str) -> list[str]:
        settings = self.settings(path)
        paths = unit_paths(path, settings, self.read)
        texts = {p: t for p in paths if (t := self.read(p)) is not None}
        if path not in texts:
            texts[path] = ""
        build = self._compile(texts, settings)
        published: list[str] = []
        for p in build.paths:
            overlay = self.overlays.get(p)
            if overlay is not None:
                self.builds[p] = build
                self.checked[p] = overlay[0]
                published.append(p)
        return published

    def _compile(self, texts: dict[str, str], settings: Settings) -> Build:
        from funnelc.i18n import using

        with using(self.language):
            return compile_unit(texts, settings, session=self.session)

    def builds_for(self, path: str) -> list[Build]:
        """The builds that can answer about ``path``: its own, then every other open
        document's build that includes it (importers see the uses of its ids)."""
        found: list[Build] = []
        own = self.builds.get(path)
        if own is not None:
            found.append(own)
        for build in self.builds.values():
            if build not in found and path in build.paths:
                found.append(build)
        return found
