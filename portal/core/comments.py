"""Staff comments on an object's page, each with an optional attached file (01 R-CMT-1, R-CMT-2).

A comment belongs to any tenant object by (type name, id), the way the event log does; adding
and deleting one is written to that object's event log.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.core import audit
from portal.core.clock import clock
from portal.core.errors import DomainError
from portal.core.models import AuditEvent, Comment
from portal.extensions import db

MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
TEXT_LIMIT = 10_000
NAME_LIMIT = 255
TYPE_LIMIT = 128
DEFAULT_TYPE = "application/octet-stream"


class CommentError(DomainError):
    code = "comment_error"


class Attachment(NamedTuple):
    """An uploaded file: a plain (name, content type, bytes) tuple works the same."""

    name: str
    content_type: str
    data: bytes


def _clean_attachment(attachment) -> Attachment | None:
    if attachment is None:
        return None
    name, content_type, data = attachment
    data = data or b""
    name = os.path.basename((name or "").replace("\\", "/")).strip()
    if not name and not data:
        return None  # the file input was left empty
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise CommentError(_l("The file is larger than 5 MB."), field="attachment")
    if not data:
        raise CommentError(_l("The file is empty."), field="attachment")
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"') or "file"
    if len(name) > NAME_LIMIT:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            name = f"{stem[:NAME_LIMIT - len(extension) - 1]}.{extension}"  # keep the type
        else:
            name = name[:NAME_LIMIT]
    content_type = (content_type or "").split(";")[0].strip().lower()[:TYPE_LIMIT]
    return Attachment(name, content_type or DEFAULT_TYPE, data)


def add_comment(obj, *, text, actor, attachment=None) -> Comment:
    """Add a comment to obj's page: text, a file up to 5 MB, or both (01 R-CMT-1, 2.8)."""
    text = (text or "").strip()
    if len(text) > TEXT_LIMIT:
        raise CommentError(_l("At most %(n)d characters.", n=TEXT_LIMIT), field="text")
    file = _clean_attachment(attachment)
    if not text and file is None:
        raise CommentError(_l("Write a comment or attach a file."), field="text")
    member = getattr(actor, "member", actor)
    comment = Comment(
        reseller_id=obj.reseller_id, subject_type=type(obj).__name__, subject_id=obj.id,
        text=text, author_id=getattr(member, "id", None),
        author_label=str(member) if member is not None else "", created_at=clock.now(),
        attachment_name=file.name if file else None,
        attachment_type=file.content_type if file else None,
        attachment_data=file.data if file else None)
    db.session.add(comment)
    db.session.flush()
    audit.log(obj, "comments.comment.added", actor=actor,
              data=_summary(comment))
    return comment


def _summary(comment: Comment) -> dict:
    data = {"comment_id": comment.id, "text": comment.text[:200]}
    if comment.attachment_name:
        data["attachment"] = comment.attachment_name
    return data


def delete_comment(comment: Comment, *, actor, subject=None) -> None:
    """Delete a comment (01 R-CMT-2); the event goes to its object's log."""
    summary = _summary(comment)
    label = str(subject) if subject is not None else _subject_label(comment)
    event = audit.log(comment, "comments.comment.deleted", actor=actor, label=label,
                      data=summary)
    # The event belongs to the commented object, so it shows in that object's log.
    event.subject_type = comment.subject_type
    event.subject_id = comment.subject_id
    db.session.delete(comment)
    db.session.flush()


def _subject_label(comment: Comment) -> str:
    label = db.session.scalar(
        select(AuditEvent.subject_label).where(
            AuditEvent.reseller_id == comment.reseller_id,
            AuditEvent.subject_type == comment.subject_type,
            AuditEvent.subject_id == comment.subject_id)
        .order_by(AuditEvent.id.desc()).limit(1))
    return label or f"{comment.subject_type} {comment.subject_id}"


def comments_for(obj) -> list[Comment]:
    """The comments of obj, newest first (the file bytes stay unloaded)."""
    return db.session.scalars(
        select(Comment).where(Comment.reseller_id == obj.reseller_id,
                              Comment.subject_type == type(obj).__name__,
                              Comment.subject_id == obj.id)
        .order_by(Comment.id.desc())).all()


def comment_of(obj, comment_id) -> Comment | None:
    """One comment of obj, or None when the id names another object's comment."""
    try:
        comment_id = int(comment_id)
    except (TypeError, ValueError):
        return None
    return db.session.scalar(
        select(Comment).where(Comment.reseller_id == obj.reseller_id,
                              Comment.subject_type == type(obj).__name__,
                              Comment.subject_id == obj.id, Comment.id == comment_id))
