"""Comments on an object's page (01 R-CMT-1, R-CMT-2, §2.8): text and/or a file up to 5 MB,
newest first, kept per object and per tenant, written to the object's event log."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from portal.core.audit import events_for
from portal.core.comments import (MAX_ATTACHMENT_BYTES, Attachment, CommentError, add_comment,
                                  comment_of, comments_for, delete_comment)
from portal.core.models import AuditEvent
from tests.factories import make_client, make_reseller, make_root, make_staff


@pytest.fixture
def setting(app, db):
    reseller = make_reseller(make_root(), name="Acme")
    return reseller, make_staff(reseller, name="Olga Operator"), make_client(reseller)


def test_a_text_comment_records_its_author_and_is_logged(db, setting):
    _reseller, member, client = setting
    comment = add_comment(client, text="  Позвонить клиенту  ", actor=member)
    assert (comment.text, comment.author_id, comment.author_label) == (
        "Позвонить клиенту", member.id, "Olga Operator")
    assert (comment.subject_type, comment.subject_id, comment.reseller_id) == (
        "Client", client.id, client.reseller_id)
    assert comment.attachment_name is None
    [event] = [e for e in events_for(client) if e.action == "comments.comment.added"]
    assert event.data == {"comment_id": comment.id, "text": "Позвонить клиенту"}
    assert event.actor_label == "Olga Operator"


def test_a_file_alone_is_a_comment(db, setting):
    _reseller, member, client = setting
    comment = add_comment(client, text="", actor=member,
                          attachment=("C:\\Users\\me\\акт сверки.pdf", "application/pdf; x=1",
                                      b"%PDF-1.4"))
    assert (comment.text, comment.attachment_name, comment.attachment_type,
            comment.attachment_data) == ("", "акт сверки.pdf", "application/pdf", b"%PDF-1.4")
    unknown = add_comment(client, text="", actor=member,
                          attachment=Attachment("notes", "", b"plain"))
    assert unknown.attachment_type == "application/octet-stream"


def test_an_empty_file_input_is_no_file(db, setting):
    _reseller, member, client = setting
    comment = add_comment(client, text="Only text", actor=member,
                          attachment=Attachment("", "application/octet-stream", b""))
    assert comment.attachment_name is None


@pytest.mark.parametrize(("text", "attachment", "field"), [
    ("", None, "text"),
    ("   \n ", None, "text"),
    ("x" * 10_001, None, "text"),
    ("", ("big.bin", "application/octet-stream", b"0" * (MAX_ATTACHMENT_BYTES + 1)),
     "attachment"),
    ("", ("empty.txt", "text/plain", b""), "attachment"),
])
def test_refusals_name_the_field(db, setting, text, attachment, field):
    _reseller, member, client = setting
    with pytest.raises(CommentError) as refusal:
        add_comment(client, text=text, actor=member, attachment=attachment)
    assert refusal.value.field == field and refusal.value.status == 422
    assert comments_for(client) == []


def test_five_megabytes_are_allowed_and_long_names_keep_their_type(db, setting):
    _reseller, member, client = setting
    comment = add_comment(client, text="", actor=member, attachment=(
        "a" * 300 + ".xlsx", "", b"0" * MAX_ATTACHMENT_BYTES))
    assert len(comment.attachment_name) == 255 and comment.attachment_name.endswith(".xlsx")


def test_the_message_reads_in_english(db, setting):
    _reseller, member, client = setting
    with force_locale("en"):
        with pytest.raises(CommentError) as refusal:
            add_comment(client, text="", actor=member)
        assert str(refusal.value) == "Write a comment or attach a file."
    assert str(refusal.value) == "Напишите комментарий или присоедините файл."


def test_comments_are_per_object_and_newest_first(db, setting):
    reseller, member, client = setting
    other = make_client(reseller)
    first = add_comment(client, text="first", actor=member)
    second = add_comment(client, text="second", actor=member)
    elsewhere = add_comment(other, text="other", actor=member)
    assert [c.id for c in comments_for(client)] == [second.id, first.id]
    assert comment_of(client, first.id) is first
    assert comment_of(client, elsewhere.id) is None
    assert comment_of(client, "nonsense") is None


def test_deleting_logs_on_the_commented_object(db, setting):
    _reseller, member, client = setting
    comment = add_comment(client, text="to go", actor=member,
                          attachment=("f.txt", "text/plain", b"x"))
    comment_id = comment.id
    delete_comment(comment, actor=member)
    assert comments_for(client) == []
    [event] = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "comments.comment.deleted")).all()
    assert (event.subject_type, event.subject_id, event.reseller_id) == (
        "Client", client.id, client.reseller_id)
    assert event.subject_label == client.name
    assert event.data == {"comment_id": comment_id, "text": "to go", "attachment": "f.txt"}
    assert event in events_for(client)


def test_another_tenants_object_keeps_its_own_comments(db, setting):
    _reseller, member, client = setting
    stranger_reseller = make_reseller(make_root(), name="Other")
    stranger = make_client(stranger_reseller)
    add_comment(stranger, text="theirs", actor=make_staff(stranger_reseller))
    assert comments_for(client) == []
    [theirs] = comments_for(stranger)
    assert theirs.reseller_id == stranger_reseller.id
