"""Refusals of the notification services."""

from __future__ import annotations

from portal.core.errors import DomainError
from portal.notifications.liquid_validation import UNKNOWN_PLACEHOLDER


class NotificationError(DomainError):
    """An expected refusal about notification categories, templates or handlers."""

    code = "notification_error"


class TemplateContentInvalid(NotificationError):
    """A template field is not valid Liquid for the events that use it (09 LIQ-1, A-23, A-27).

    `problems` are liquid_validation.TemplateProblem items. `only_unknown_placeholders` says
    every problem is a placeholder missing from the catalogue: A-23 renders those as empty, so
    the panel may offer to save anyway (`allow_unknown_placeholders=True`).
    """

    code = "template_invalid"

    def __init__(self, message, *, field: str, problems: list):
        super().__init__(message, field=field)
        self.problems = problems

    @property
    def only_unknown_placeholders(self) -> bool:
        return all(problem.kind == UNKNOWN_PLACEHOLDER for problem in self.problems)


class RuleInvalid(NotificationError):
    """A handler rule that does not parse; `position` is the 0-based offending character."""

    code = "rule_invalid"

    def __init__(self, message, *, position: int):
        super().__init__(message, field="rule")
        self.position = position

    @property
    def column(self) -> int:
        return self.position + 1
