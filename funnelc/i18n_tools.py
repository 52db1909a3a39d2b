"""Development tools for the message catalogues (not needed at run time).

    python -m funnelc.i18n_tools check [LANG]      # missing / stale / mismatched entries
    python -m funnelc.i18n_tools update [LANG]     # add new ids (empty), drop stale ones
    python -m funnelc.i18n_tools pot               # the template, funnelc/locale/funnelc.pot
    python -m funnelc.i18n_tools merge-json PATH [LANG]   # carry a JSON-era ru.json over

The ids are extracted from the code: every literal passed to ``_``, ``N_``, ``lazy`` and ``t``
(a bound :func:`funnelc.i18n.texts_for`; first argument), ``ngettext``/``ngettext_noop``/
``counted`` (first two) and ``pgettext``/``pgettext_noop`` (the context, then the id: a
``msgctxt`` entry); the templates and summaries of the code catalogue; the rules' summaries,
rationales and option docs; the targets'
descriptions, capabilities and artefact texts; the CLI's help texts; the parser's catalogue of
typical mistakes.  Babel can do the same (``babel.cfg``; ``pybabel extract -F babel.cfg -o
funnelc.pot .``) through :func:`babel_extract`.

``merge-json`` exists for branches that still add translations to ``funnelc/locale/ru.json``:
it reads that file (id → translation, or plural id → list of forms), puts every entry into the
``.po`` (a counted message is matched to its singular through the extracted ids; a JSON value
replaces the ``.po``'s translation of the same id), drops the ids the code no longer uses,
rewrites the ``.po`` canonically and prints what ``check`` would; the JSON file can then be
deleted.  After a merge that conflicts on the deleted ``ru.json``::

    git show BRANCH:funnelc/locale/ru.json > /tmp/ru.json
    git rm funnelc/locale/ru.json
    python -m funnelc.i18n_tools merge-json /tmp/ru.json   # exit 0: nothing missing
"""

from __future__ import annotations

import ast
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from funnelc.i18n import po_path
from funnelc.po import Catalogue, Entry, parse_po, write_po
from funnelc.po import key as po_key

_FIXED_WORDS = ("error", "warning", "info", "open", "won", "lost")


@dataclass
class Extracted:
    msgid: str
    plural: str | None = None
    references: set[str] = field(default_factory=set)
    context: str | None = None

    def shown(self) -> str:
        """The id as ``check`` names it: ``'id'``, or ``'id' (msgctxt 'context')``."""
        if self.context is None:
            return repr(self.msgid)
        return f"{self.msgid!r} (msgctxt {self.context!r})"


def _literal(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def extract_source(
    text: str, name: str = "<string>"
) -> Iterator[tuple[int, str, str | None, str | None]]:
    """(line, msgid, plural id, context) for every marked literal of one Python file."""
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args):
            continue
        function = node.func.id
        if function in ("_", "N_", "lazy", "t"):  # t: a bound ``i18n.texts_for(lang)``
            value = _literal(node.args[0])
            if value is not None:
                yield node.lineno, value, None, None
        elif function in ("ngettext", "counted", "ngettext_noop") and len(node.args) >= 2:
            singular, plural = _literal(node.args[0]), _literal(node.args[1])
            if singular is not None and plural is not None:
                yield node.lineno, singular, plural, None
        elif function in ("pgettext", "pgettext_noop") and len(node.args) >= 2:
            context, value = _literal(node.args[0]), _literal(node.args[1])
            if context is not None and value is not None:
                yield node.lineno, value, None, context


def _runtime_ids() -> Iterator[tuple[str, str]]:
    """(msgid, where) for the tables whose texts are data rather than marked literals."""
    from funnelc.codes import CODES
    from funnelc.emit import REGISTRY, get_target
    from funnelc.lint.rules import RULES
    from funnelc.parse import _MISTAKES

    for entry in CODES.values():
        yield entry.message, f"code {entry.code}"
        yield entry.summary, f"code {entry.code}"
        if entry.help:
            yield entry.help, f"code {entry.code}"
    for rule in RULES:
        yield rule.summary, f"rule {rule.code}"
        yield rule.rationale, f"rule {rule.code}"
        for doc in rule.option_docs.values():
            yield doc, f"rule {rule.code}"
    for name in REGISTRY:
        target = get_target(name)
        yield target.description, f"target {name}"
        for construct in target.capabilities.constructs:
            yield construct, f"target {name}"
    yield from _help_texts()
    for message, hint in _MISTAKES:
        yield message, "funnelc/parse.py"
        yield hint, "funnelc/parse.py"
    for word in _FIXED_WORDS:
        yield word, "funnelc/i18n_tools.py"


def _help_texts() -> Iterator[tuple[str, str]]:
    """The ``--help`` texts of the CLI: each command's docstring and each option's help."""
    import typer

    from funnelc.cli import app

    group = typer.main.get_command(app)
    commands = [("funnelc", group), *getattr(group, "commands", {}).items()]
    for name, command in commands:
        if command.help:
            yield command.help, f"funnelc {name} --help"
        for param in command.params:
            text = getattr(param, "help", None)
            if text:
                yield text, f"funnelc {name} --help"


def _files() -> list[Path]:
    from funnelc.resources import targets_dir

    package = Path(__file__).resolve().parent
    return sorted(package.rglob("*.py")) + sorted(targets_dir().rglob("*.py"))


def extract() -> dict[str, Extracted]:
    """Every message id funnelc can show, with its plural id and where it comes from, by
    :func:`funnelc.po.key` (the id, or ``context\x04id``) as the catalogue keys it."""
    root = Path(__file__).resolve().parent.parent
    found: dict[str, Extracted] = {}
    for path in _files():
        try:
            shown = path.resolve().relative_to(root).as_posix()
        except ValueError:
            shown = path.name
        for line, msgid, plural, context in extract_source(path.read_text(encoding="utf-8"), shown):
            item = found.setdefault(po_key(msgid, context), Extracted(msgid, context=context))
            item.plural = item.plural or plural
            item.references.add(f"{shown}:{line}")
    for msgid, where in _runtime_ids():
        if msgid:
            found.setdefault(msgid, Extracted(msgid)).references.add(where)
    found.pop("", None)
    return found


def babel_extract(
    fileobj: object, keywords: object, comment_tags: object, options: object
) -> Iterator[tuple[int, str | None, str | tuple[str, str], list[str]]]:
    """A Babel extraction method (``[funnelc.i18n_tools:babel_extract: **.py]``) that yields
    the same ids as :func:`extract` for one file, plus the tables for ``funnelc/codes.py``."""
    read = getattr(fileobj, "read")  # noqa: B009 - Babel passes a binary file object
    data = read()
    text = data.decode("utf-8") if isinstance(data, bytes) else str(data)
    for line, msgid, plural, context in extract_source(text):
        if context is not None:
            yield line, "pgettext", (context, msgid), []  # Babel's keyword: ((1, "c"), 2)
        elif plural is None:
            yield line, "_", msgid, []
        else:
            yield line, "ngettext", (msgid, plural), []
    if "_COMPILER_CODES" in text:
        for msgid, where in _runtime_ids():
            yield 0, "_", msgid, [where]


# ---- fields --------------------------------------------------------------------------------


def fields(template: str) -> set[str]:
    """The ``{fields}`` of a template; braces inside `code` spans are literal text."""
    outside = re.sub(r"`[^`{}]*[{}][^`]*`", "", template)
    return set(re.findall(r"\{(\w+)(?:![rsa])?(?::[^}]*)?\}", outside))


# ---- catalogue maintenance -----------------------------------------------------------------


def load(lang: str) -> Catalogue:
    return parse_po(po_path(lang).read_text(encoding="utf-8"))


def save(catalogue: Catalogue, lang: str) -> None:
    po_path(lang).write_text(write_po(catalogue), encoding="utf-8")


def problems(catalogue: Catalogue, extracted: dict[str, Extracted], forms: int) -> list[str]:
    """What is wrong with a catalogue, one line per problem (empty when it is complete)."""
    out: list[str] = []
    for id_, item in sorted(extracted.items()):
        entry = catalogue.entries.get(id_)
        if entry is None or not entry.translated:
            out.append(f"missing: {item.shown()}")
        elif entry.plural != item.plural:
            out.append(f"plural id differs: {item.shown()}: {entry.plural!r} vs {item.plural!r}")
    for id_ in sorted(set(catalogue.entries) - set(extracted)):
        entry = catalogue.entries[id_]
        out.append(f"stale: {Extracted(entry.msgid, context=entry.context).shown()}")
    for entry in catalogue.entries.values():
        if entry.plural is not None:
            if len(entry.plural_forms) != forms:
                out.append(f"{len(entry.plural_forms)} plural forms, not {forms}: {entry.msgid!r}")
            wanted = fields(entry.plural)
            for form in entry.plural_forms:
                if fields(form) != wanted:
                    out.append(f"fields differ: {entry.msgid!r} -> {form!r}")
        elif entry.msgstr and fields(entry.msgstr) != fields(entry.msgid):
            out.append(f"fields differ: {entry.msgid!r} -> {entry.msgstr!r}")
    return out


def plural_count(catalogue: Catalogue) -> int:
    match = re.search(r"nplurals\s*=\s*(\d+)", catalogue.header_field("Plural-Forms"))
    return int(match.group(1)) if match else 2


def update(catalogue: Catalogue, extracted: dict[str, Extracted]) -> Catalogue:
    """New ids added untranslated, stale ones dropped, references refreshed."""
    forms = plural_count(catalogue)
    entries: dict[str, Entry] = {}
    for id_, item in extracted.items():
        entry = catalogue.entries.get(id_) or Entry(item.msgid, context=item.context)
        entry.plural = item.plural
        if item.plural is not None and len(entry.plural_forms) != forms:
            entry.plural_forms = (entry.plural_forms + [""] * forms)[:forms]
        entries[id_] = entry
    return Catalogue(catalogue.header, entries)


def merge_json(catalogue: Catalogue, data: dict[str, str | list[str]]) -> list[str]:
    """Put JSON-era translations into the catalogue; returns the ids that could not be placed
    (a list value whose plural id the code does not use any more)."""
    extracted = extract()
    by_plural = {e.plural: e.msgid for e in extracted.values() if e.plural is not None}
    left: list[str] = []
    for key, value in data.items():
        if isinstance(value, list):
            singular = by_plural.get(key)
            if singular is None:
                left.append(key)
                continue
            entry = catalogue.entries.setdefault(singular, Entry(singular))
            entry.plural, entry.plural_forms = key, list(value)
        else:
            entry = catalogue.entries.setdefault(key, Entry(key))
            entry.msgstr = value
    return left


def _main(argv: list[str]) -> int:
    if not argv:
        sys.stderr.write(__doc__ or "")
        return 2
    command, rest = argv[0], argv[1:]
    if command == "merge-json":
        path = Path(rest[0])
        lang = rest[1] if len(rest) > 1 else "ru"
        catalogue = load(lang)
        left = merge_json(catalogue, json.loads(path.read_text(encoding="utf-8")))
        # Then as `update`: ids the code no longer uses go, new ones come in untranslated.
        extracted = extract()
        catalogue = update(catalogue, extracted)
        save(catalogue, lang)
        for key in left:
            sys.stderr.write(f"not merged (no ngettext uses this plural id): {key!r}\n")
        found = problems(catalogue, extracted, plural_count(catalogue))
        sys.stdout.write("".join(line + "\n" for line in found))
        return 1 if left or found else 0
    lang = rest[0] if rest else "ru"
    if command == "check":
        catalogue = load(lang)
        found = problems(catalogue, extract(), plural_count(catalogue))
        sys.stdout.write("".join(line + "\n" for line in found))
        return 1 if found else 0
    if command == "update":
        save(update(load(lang), extract()), lang)
        return 0
    if command == "pot":
        header = Entry(
            "",
            "Project-Id-Version: funnelc\n"
            "MIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=UTF-8\n"
            "Content-Transfer-Encoding: 8bit\n",
        )
        entries = {
            id_: Entry(
                e.msgid,
                plural=e.plural,
                plural_forms=["", ""] if e.plural else [],
                context=e.context,
            )
            for id_, e in extract().items()
        }
        target = po_path("ru").parent.parent.parent / "funnelc.pot"
        target.write_text(write_po(Catalogue(header, entries)), encoding="utf-8")
        return 0
    sys.stderr.write(f"unknown command {command!r}\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
