"""The one way a panel form is handled: validate, call one service, commit (STYLE §3)."""

from __future__ import annotations

from flask import flash
from flask_babel import gettext as _

from portal.core.errors import DomainError
from portal.extensions import db


def attach_error(form, error: DomainError) -> None:
    """Show a service's refusal next to its field, or as a message when it names none."""
    field = getattr(form, error.field or "", None) if form is not None else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*list(field.errors or []), str(error)]
    else:
        flash(str(error), "error")


def submit(form, apply, *, success=None) -> bool:
    """Validate form and run apply(form) in one transaction; False leaves nothing changed."""
    if not form.validate_on_submit():
        db.session.rollback()
        return False
    try:
        apply(form)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        attach_error(form, error)
        return False
    flash(success or _("Saved."), "success")
    return True


def run_action(apply, *, success=None) -> bool:
    """A button without a form (activate, suspend, delete): run, commit, and say how it went."""
    try:
        apply()
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "error")
        return False
    except ValueError:
        db.session.rollback()
        flash(_("The request is not valid."), "error")
        return False
    flash(success or _("Saved."), "success")
    return True
