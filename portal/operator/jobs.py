"""Background exports of list selections."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from portal.accounts.models import StaffMember
from portal.core.clock import clock
from portal.core.listkit import LISTS, ListState, iter_export_rows, visible_columns, write_export
from portal.core.mail import send_mail
from portal.core.models import Operation, OperationStatus
from portal.extensions import db
from portal.tenancy.models import Reseller
from portal.tenancy.services.smtp import effective_smtp


def export_list_job(operation_id: int) -> None:
    """Build the export file, recording progress; mail it if the member asked."""
    operation = db.session.get(Operation, operation_id)
    if operation is None or operation.status == OperationStatus.DONE:
        return
    params = operation.params or {}
    definition = LISTS[params["list"]]
    reseller = db.session.get(Reseller, operation.reseller_id)
    state = ListState.from_args(definition, MultiDict(params.get("args", {})))
    columns = visible_columns(definition, params.get("columns"))
    operation.status = OperationStatus.RUNNING
    db.session.commit()

    def progress(done):
        operation.progress_done = done
        db.session.commit()

    # The file speaks the language of the page the member exported from (labels, headers).
    member = db.session.get(StaffMember, operation.created_by_id)
    language = params.get("locale") or (member and member.language) or reseller.default_language
    try:
        with force_locale(language):
            rows = list(iter_export_rows(definition, reseller, state, columns, progress=progress))
            data, content_type = write_export(params["format"], columns, rows)
    except Exception as error:
        db.session.rollback()
        operation.status = OperationStatus.FAILED
        operation.error = str(error)
        operation.finished_at = clock.now()
        db.session.commit()
        raise
    operation.file_data = data
    operation.file_type = content_type
    operation.progress_done = len(rows)
    operation.status = OperationStatus.DONE
    operation.finished_at = clock.now()
    db.session.commit()
    if params.get("email"):
        mail_export_job(operation.id)


def mail_export_job(operation_id: int) -> None:
    """E-mail a finished export to the member who asked for it."""
    operation = db.session.get(Operation, operation_id)
    if operation is None or operation.status != OperationStatus.DONE:
        return
    member = db.session.get(StaffMember, operation.created_by_id)
    reseller = db.session.get(Reseller, operation.reseller_id)
    server = effective_smtp(reseller)
    if member is None or server is None:
        return
    with force_locale(member.language or reseller.default_language):
        subject = _("Export %(name)s is ready", name=operation.file_name)
        text = _("The export you asked for is attached.")
    send_mail(server, to=member.email, subject=subject, text=text,
              attachments=[(operation.file_name, operation.file_type.split(";")[0],
                            operation.file_data)])
    operation.result = {**(operation.result or {}), "emailed_to": member.email}
    db.session.commit()
