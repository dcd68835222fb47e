"""What the three notification page groups share: the delegation columns and filters of the
lists (09 §2.1), running one service with its refusal shown next to the field, and the
deletion confirmation (DLT-6)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import flash, render_template, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import false, not_

from portal.core.errors import DomainError
from portal.core.forms import attach_error
from portal.core.htmx import is_htmx
from portal.core.listkit import Column
from portal.extensions import db
from portal.notifications.services import TemplateContentInvalid
from portal.notifications.services.errors import RuleInvalid
from portal.notifications.services.pages_support import summarise_deletion

YES_NO = [("yes", _l("Yes")), ("no", _l("No"))]


def yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


def as_minutes(value) -> str:
    """09 §2.1 Дата обновления: DD.MM.YYYY HH:MM."""
    return format_datetime(value, "dd.MM.yyyy HH:mm") if value else ""


def link(endpoint: str, arg: str, text_of: Callable) -> Callable:
    """A list cell linking to the row's page."""
    def render(row) -> Markup:
        return Markup('<a href="{}">{}</a>').format(url_for(endpoint, **{arg: row.id}),
                                                     text_of(row))
    return render


@dataclass
class FlagFilter:
    """A Yes/No filter on a boolean SQL expression (Наследован is `source_id IS NOT NULL`)."""

    key: str
    label: object
    expression: object
    choices: list = None

    def __post_init__(self):
        self.choices = YES_NO

    def apply(self, query, raw: str):
        value = (raw or "").strip()
        if value == "yes":
            return query.where(self.expression)
        if value == "no":
            return query.where(not_(self.expression))
        return query.where(false()) if value else query


def delegation_columns(model) -> list[Column]:
    """Установлен, Наследован, Изменен, Дата обновления (09 §2.1), in the lists' order."""
    return [
        Column("installed", _l("Installed"), sort=model.installed),
        Column("inherited", _l("Inherited"), sort=model.source_id.is_not(None),
               value=lambda row: row.inherited),
        Column("modified", _l("Modified"), sort=model.modified),
        Column("updated_at", _l("Updated"), sort=model.updated_at,
               render=lambda row: as_minutes(row.updated_at)),
    ]


def delegation_filters(model) -> list[FlagFilter]:
    return [FlagFilter("installed", _l("Installed"), model.installed.is_(True)),
            FlagFilter("inherited", _l("Inherited"), model.source_id.is_not(None)),
            FlagFilter("modified", _l("Modified"), model.modified.is_(True))]


def attach(form, error: DomainError) -> None:
    """A refusal next to its field: each problem of an invalid template on its own line, a
    rule's error with its column (09 A-08, RULE-10)."""
    field = getattr(form, error.field or "", None) if form is not None else None
    if isinstance(error, TemplateContentInvalid) and field is not None:
        field.errors = [*list(field.errors or []), *[str(p) for p in error.problems]]
        if error.only_unknown_placeholders and hasattr(form, "allow_unknown_placeholders"):
            form.offer_unknown = True
        return
    if isinstance(error, RuleInvalid) and field is not None:
        field.rule_column = error.column
    attach_error(form, error)


def run_service(apply: Callable, *, form=None, success=None):
    """Call one service and commit; a refusal rolls back, is shown next to its field (or
    flashed) and gives its status (422, 409)."""
    try:
        result = apply()
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        attach(form, error)
        return False, error.status
    if success:
        flash(success, "success")
    return True, result


def run_action(apply: Callable, *, success) -> bool:
    """A toolbar button (restore, activate): run, commit, say how it went."""
    done, _result = run_service(apply, success=success)
    return done


def delete_confirmation(row, *, title, action_url: str, cancel_url: str, page_context: dict,
                        page: str):
    """09 DLT-6: the dialog naming what the deletion takes with it (the cascades of DLT-2..5,
    here and at the resellers below); a full page when not asked by htmx."""
    dialog = {"title": title, "summary": summarise_deletion(row), "action_url": action_url,
              "cancel_url": cancel_url}
    if is_htmx():
        return render_template("notifications/_delete_dialog.html", dialog=dialog)
    return render_template(page, **page_context, dialog=dialog)
