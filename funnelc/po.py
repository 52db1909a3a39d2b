"""Reading and writing gettext catalogues with the standard library only.

``funnelc/locale/<lang>/LC_MESSAGES/funnelc.po`` is the source a translator edits (with Poedit,
Lokalize, Weblate or a text editor); the wheel carries the compiled ``funnelc.mo`` that stdlib
:mod:`gettext` reads.  This module parses the ``.po`` subset those tools write (comments,
``msgctxt``, ``msgid_plural``/``msgstr[N]``, multi-line strings), writes it back in a canonical
form, and compiles it to ``.mo`` the way CPython's ``Tools/i18n/msgfmt.py`` does.

A message with a context (``msgctxt``: the same English text translated another way in
another place) is keyed ``context + "\x04" + msgid`` — in :attr:`Catalogue.entries` as in the
``.mo``, where stdlib :func:`gettext.pgettext` looks it up.

It imports nothing from funnelc, because the build hook (:mod:`funnelc._build`) loads it by
path before the package is installed.
"""

from __future__ import annotations

import ast
import re
import struct
from dataclasses import dataclass, field

CONTEXT_SEPARATOR = "\x04"
"""What joins a message's context to its msgid in a ``.mo`` key (GNU gettext's convention)."""


def key(msgid: str, context: str | None = None) -> str:
    """The key of a message in a catalogue and in the ``.mo``: its msgid, or
    ``context\x04msgid`` when it has a context."""
    return msgid if context is None else context + CONTEXT_SEPARATOR + msgid


@dataclass
class Entry:
    """One message: ``msgid`` (the English text), its plural id if it is counted, and the
    translation (one string, or one per plural form).  ``comments`` are ``#`` lines kept
    verbatim (``#.`` extracted comments, ``#:`` references, ``#,`` flags); ``context`` is the
    ``msgctxt`` (``None``: none)."""

    msgid: str
    msgstr: str = ""
    plural: str | None = None
    plural_forms: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    context: str | None = None

    @property
    def key(self) -> str:
        return key(self.msgid, self.context)

    @property
    def translated(self) -> bool:
        if self.plural is not None:
            return bool(self.plural_forms) and all(self.plural_forms)
        return bool(self.msgstr)


@dataclass
class Catalogue:
    header: Entry
    entries: dict[str, Entry]
    """The messages by :func:`key` (the msgid, or ``context\x04msgid``)."""

    def header_field(self, name: str) -> str:
        for line in self.header.msgstr.splitlines():
            key, _sep, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return ""


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b"}
_ESCAPE = re.compile(r"\\(.)")
_OTHER = re.compile(r'\\[^ntr"\\ab]')


def _unquote(text: str, lineno: int) -> str:
    text = text.strip()
    if not (text.startswith('"') and text.endswith('"') and len(text) >= 2):
        raise ValueError(f"line {lineno}: expected a quoted string, got {text!r}")
    body = text[1:-1]
    if "\\" not in body:
        return body
    if _OTHER.search(body):
        # A rarer C escape (octal, hex): Python's literal syntax is a superset of C's.
        value = ast.literal_eval(text)
        assert isinstance(value, str)
        return value
    return _ESCAPE.sub(lambda m: _ESCAPES[m.group(1)], body)


def parse_po(text: str) -> Catalogue:
    """The entries of a ``.po`` file (the header is the entry whose msgid is empty)."""
    entries: list[Entry] = []
    current: Entry | None = None
    comments: list[str] = []
    target: tuple[str, int] | None = None  # which string a continuation line extends

    def finish() -> None:
        nonlocal current
        if current is not None:
            entries.append(current)
        current = None

    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if target is not None and target[0] != "comment":
                finish()
                target = None
            if line.startswith("#~"):
                continue  # obsolete entries are dropped
            comments.append(raw.rstrip())
            continue
        keyword, _sep, rest = line.partition(" ")
        if line.startswith('"'):
            if current is None or target is None:
                raise ValueError(f"line {lineno}: a string outside an entry")
            value = _unquote(line, lineno)
            kind, index = target
            if kind == "msgctxt":
                current.context = (current.context or "") + value
            elif kind == "msgid":
                current.msgid += value
            elif kind == "msgid_plural":
                current.plural = (current.plural or "") + value
            elif kind == "msgstr":
                current.msgstr += value
            else:
                current.plural_forms[index] += value
            continue
        if keyword == "msgctxt":
            finish()
            current = Entry("", comments=comments, context=_unquote(rest, lineno))
            comments = []
            target = ("msgctxt", 0)
        elif keyword == "msgid" and current is not None and target == ("msgctxt", 0):
            current.msgid = _unquote(rest, lineno)  # the message its msgctxt line began
            target = ("msgid", 0)
        elif keyword == "msgid":
            finish()
            current = Entry(_unquote(rest, lineno), comments=comments)
            comments = []
            target = ("msgid", 0)
        elif keyword == "msgid_plural" and current is not None:
            current.plural = _unquote(rest, lineno)
            target = ("msgid_plural", 0)
        elif keyword == "msgstr" and current is not None:
            current.msgstr = _unquote(rest, lineno)
            target = ("msgstr", 0)
        elif keyword.startswith("msgstr[") and current is not None:
            index = int(keyword[len("msgstr[") : -1])
            while len(current.plural_forms) <= index:
                current.plural_forms.append("")
            current.plural_forms[index] = _unquote(rest, lineno)
            target = ("form", index)
        else:
            raise ValueError(f"line {lineno}: cannot read {raw!r}")
    finish()
    header = Entry("")
    by_id: dict[str, Entry] = {}
    for entry in entries:
        if entry.msgid == "" and entry.context is None:
            header = entry
        elif entry.key in by_id:
            shown = f" (msgctxt {entry.context!r})" if entry.context is not None else ""
            raise ValueError(f"duplicate msgid {entry.msgid!r}{shown}")
        else:
            by_id[entry.key] = entry
    return Catalogue(header, by_id)


def _quote(text: str) -> str:
    out = text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t").replace("\r", "\\r")
    return '"' + out.replace("\n", "\\n") + '"'


def _field(keyword: str, value: str, width: int = 79) -> list[str]:
    """``keyword "value"``, split after each ``\\n`` and at spaces as msgcat wraps long lines."""
    single = f"{keyword} {_quote(value)}"
    if len(single) <= width and "\n" not in value.rstrip("\n"):
        return [single]
    pieces: list[str] = []
    for part in value.splitlines(keepends=True):
        while len(_quote(part)) > width - 2:
            cut = part.rfind(" ", 0, width - 10)
            if cut <= 0:
                break
            pieces.append(part[: cut + 1])
            part = part[cut + 1 :]
        pieces.append(part)
    return [f'{keyword} ""', *(_quote(p) for p in pieces)]


def write_po(catalogue: Catalogue) -> str:
    """The catalogue in canonical form: the header, then the entries sorted by :func:`key`
    (the msgid; an entry with a context as ``context\x04msgid``, the order of the ``.mo``)."""
    blocks: list[list[str]] = []
    for entry in [catalogue.header, *sorted(catalogue.entries.values(), key=lambda e: e.key)]:
        lines = list(entry.comments)
        if entry.context is not None:
            lines += _field("msgctxt", entry.context)
        lines += _field("msgid", entry.msgid)
        if entry.plural is not None:
            lines += _field("msgid_plural", entry.plural)
            for index, form in enumerate(entry.plural_forms):
                lines += _field(f"msgstr[{index}]", form)
        else:
            lines += _field("msgstr", entry.msgstr)
        blocks.append(lines)
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"


def compile_mo(catalogue: Catalogue) -> bytes:
    """The ``.mo`` file of the catalogue, byte for byte as ``msgfmt.py`` writes it (untranslated
    entries are left out, so gettext falls back to the English id; a context is in the key,
    ``context\x04msgid``)."""
    messages: dict[bytes, bytes] = {b"": catalogue.header.msgstr.encode("utf-8")}
    for entry in catalogue.entries.values():
        if not entry.translated:
            continue
        if entry.plural is not None:
            id_ = entry.key.encode("utf-8") + b"\0" + entry.plural.encode("utf-8")
            value = b"\0".join(form.encode("utf-8") for form in entry.plural_forms)
        else:
            id_, value = entry.key.encode("utf-8"), entry.msgstr.encode("utf-8")
        messages[id_] = value
    keys = sorted(messages)
    ids = strs = b""
    offsets: list[tuple[int, int, int, int]] = []
    for id_ in keys:
        offsets.append((len(ids), len(id_), len(strs), len(messages[id_])))
        ids += id_ + b"\0"
        strs += messages[id_] + b"\0"
    keystart = 7 * 4 + 16 * len(keys)
    valuestart = keystart + len(ids)
    koffsets: list[int] = []
    voffsets: list[int] = []
    for o1, l1, o2, l2 in offsets:
        koffsets += [l1, o1 + keystart]
        voffsets += [l2, o2 + valuestart]
    header = struct.pack(
        "Iiiiiii", 0x950412DE, 0, len(keys), 7 * 4, 7 * 4 + len(keys) * 8, 0, keystart
    )
    table = struct.pack(f"{len(koffsets + voffsets)}i", *(koffsets + voffsets))
    return header + table + ids + strs
