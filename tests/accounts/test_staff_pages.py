"""Staff pages: create with the password policy, edit guards, API tokens shown once."""

from __future__ import annotations

import re

from sqlalchemy import select

from portal.accounts.models import ApiToken, Role, StaffMember
from tests.factories import Panel, make_reseller, make_root, make_staff


def _api_status(client, raw):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code


def test_token_is_shown_once_and_can_be_regenerated_and_revoked(app, db):
    root = make_root()
    member = make_staff(root)
    panel = Panel(app, root, member)
    created = panel.post("/profile/tokens", data={"name": "billing sync"})
    raw = re.search(r'id="new-token">.*?<code>([^<]+)</code>', created.get_data(as_text=True),
                    re.S).group(1)
    assert _api_status(panel.client, raw) == 200
    # Not shown again, and not stored in the clear.
    assert raw not in panel.get("/profile").get_data(as_text=True)
    token = db.session.scalar(select(ApiToken).where(ApiToken.staff_member_id == member.id))
    assert token.token_hash != raw and raw not in token.token_hash

    regenerated = panel.post(f"/profile/tokens/{token.id}/regenerate")
    new_raw = re.search(r'id="new-token">.*?<code>([^<]+)</code>',
                        regenerated.get_data(as_text=True), re.S).group(1)
    assert _api_status(panel.client, raw) == 401
    assert _api_status(panel.client, new_raw) == 200
    new_token = db.session.scalar(select(ApiToken).where(
        ApiToken.staff_member_id == member.id, ApiToken.revoked_at.is_(None)))
    panel.post(f"/profile/tokens/{new_token.id}/revoke")
    assert _api_status(panel.client, new_raw) == 401


def test_another_members_token_cannot_be_touched(app, db):
    root = make_root()
    member = make_staff(root)
    other = make_staff(root)
    from portal.accounts.services import create_api_token

    token, raw = create_api_token(other)
    panel = Panel(app, root, member)
    assert panel.post(f"/profile/tokens/{token.id}/revoke").status_code == 404
    assert _api_status(panel.client, raw) == 200


def test_create_staff_checks_the_password_policy(app, db):
    root = make_root()
    admin = make_staff(root)
    panel = Panel(app, root, admin)
    weak = panel.post("/staff/new", data={"name": "Kate", "email": "kate.sales@example.com",
                                          "role": "sales_manager", "password": "Kate.sales9!"})
    assert weak.status_code == 422
    assert 'id="field-password"' in weak.get_data(as_text=True)
    assert db.session.scalar(select(StaffMember).where(
        StaffMember.email == "kate.sales@example.com")) is None
    ok = panel.post("/staff/new", data={"name": "Kate", "email": "kate.sales@example.com",
                                        "role": "sales_manager", "password": "o8waQt$z7"})
    assert ok.status_code == 302
    kate = db.session.scalar(select(StaffMember).where(
        StaffMember.email == "kate.sales@example.com"))
    assert kate.role == Role.SALES_MANAGER and kate.reseller_id == root.id


def test_last_admin_cannot_be_demoted_and_nobody_changes_their_own_role(app, db):
    root = make_root()
    acme = make_reseller(root)
    admin = make_staff(acme, name="Only Admin")
    panel = Panel(app, acme, admin)
    response = panel.post(f"/staff/{admin.id}", data={"name": "Only Admin", "email": admin.email,
                                                      "role": "sales_manager"})
    assert response.status_code == 422
    assert admin.role == Role.SYSTEM_ADMIN
    deactivate = panel.post(f"/staff/{admin.id}/status", data={"status": "inactive"})
    assert deactivate.status_code == 302
    db.session.expire_all()
    assert db.session.get(StaffMember, admin.id).status.value == "active"


def test_duplicate_email_is_refused_across_resellers(app, db):
    root = make_root()
    acme = make_reseller(root)
    make_staff(root, email="taken@example.com")
    admin = make_staff(acme)
    panel = Panel(app, acme, admin)
    response = panel.post("/staff/new", data={"name": "X", "email": "taken@example.com",
                                              "role": "sales_manager", "password": "o8waQt$z7"})
    assert response.status_code == 422
    assert 'id="field-email"' in response.get_data(as_text=True)
