"""The Russian catalogue is complete and compiled, so no screen falls back to English."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

CATALOGUES = Path(__file__).resolve().parent.parent / "portal" / "translations"


def _key(message_id):
    return tuple(message_id) if isinstance(message_id, list | tuple) else message_id


def _entry(message):
    """(context, msgid): one msgid has one translation per context (pgettext)."""
    context = message.context
    if isinstance(context, bytes):  # read_mo leaves the context undecoded
        context = context.decode("utf-8")
    return context, _key(message.id)


def _translated(string) -> bool:
    if isinstance(string, list | tuple):
        return bool(string) and all(string)  # every plural form
    return bool(string)


def test_russian_catalogue_is_complete():
    with open(CATALOGUES / "ru" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle)
    missing = [_entry(m) for m in catalog if m.id and (not _translated(m.string) or m.fuzzy)]
    assert missing == []
    assert len(catalog) > 200


def test_compiled_catalogue_matches_the_source():
    with open(CATALOGUES / "ru" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        source = {_entry(m): _key(m.string) for m in read_po(handle) if m.id}
    with open(CATALOGUES / "ru" / "LC_MESSAGES" / "messages.mo", "rb") as handle:
        compiled = {_entry(m): _key(m.string) for m in read_mo(handle) if m.id}
    assert compiled == source
