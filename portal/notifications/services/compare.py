"""Compare a template's body with its parent's (or its default) and revert fragments
(09 §5.2 S7, TPL-6..8, EX-10)."""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

from flask_babel import lazy_gettext as _l

from portal.notifications.models import NotificationTemplate
from portal.notifications.services.errors import NotificationError
from portal.notifications.services.templates import reference_body


@dataclass(frozen=True)
class Fragment:
    """A run of lines: equal in both bodies, or differing (highlighted, with a revert button)."""

    index: int
    equal: bool
    current: str    # the lines in the current body ("" when the parent added them)
    reference: str  # the lines in the parent's or default body ("" when the current added them)


def body_fragments(current: str, reference: str) -> list[Fragment]:
    """Split two bodies into line fragments; joining every `current` gives the current body
    back, joining every `reference` the reference body."""
    ours, theirs = (current or "").splitlines(keepends=True), \
        (reference or "").splitlines(keepends=True)
    matcher = SequenceMatcher(None, ours, theirs, autojunk=False)
    return [Fragment(index, tag == "equal", "".join(ours[i1:i2]), "".join(theirs[j1:j2]))
            for index, (tag, i1, i2, j1, j2) in enumerate(matcher.get_opcodes())]


def revert_fragment(current: str, reference: str, index: int) -> str:
    """The current body with fragment `index` replaced by the reference's text (09 TPL-8)."""
    fragments = body_fragments(current, reference)
    if not 0 <= index < len(fragments):
        raise NotificationError(_l("There is no such fragment; compare the template again."))
    return "".join(f.reference if f.index == index else f.current for f in fragments)


@dataclass(frozen=True)
class TemplateComparison:
    """The compare tab of one language: the two panes and their fragments."""

    language: str
    reference_kind: str  # "parent" or "default"
    current: str
    reference: str
    fragments: list[Fragment]

    @property
    def differs(self) -> bool:
        return any(not f.equal for f in self.fragments)

    def reverted(self, index: int) -> str:
        return revert_fragment(self.current, self.reference, index)


def compare_template(template: NotificationTemplate, *, language: str) -> TemplateComparison:
    """The body of an inherited template against its parent's, or of an installed template at
    the Operator against its default (09 TPL-6, TPL-7). Saving the result is update_template."""
    kind, reference = reference_body(template, language)
    content = template.content(language)
    current = content.body if content is not None else ""
    return TemplateComparison(language, kind, current, reference,
                              body_fragments(current, reference))
