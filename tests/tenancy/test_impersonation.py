"""Log in as reseller: an upstream administrator enters a descendant's panel, audited."""

from __future__ import annotations

from urllib.parse import urlparse

from sqlalchemy import select

from portal.accounts.models import Role
from portal.core.models import AuditEvent
from tests.factories import Panel, make_reseller, make_root, make_staff


def test_root_admin_enters_a_grandchild_panel(app, db):
    root = make_root()
    acme = make_reseller(root, name="Acme", slug="acme")
    beta = make_reseller(acme, name="Beta", slug="beta")
    admin = make_staff(root, name="Root Admin")
    panel = Panel(app, root, admin)
    response = panel.post(f"/resellers/{beta.id}/enter")
    assert response.status_code == 302
    target = urlparse(response.headers["Location"])
    assert target.hostname == "beta.localhost"

    entered = panel.client.get(f"{target.path}?{target.query}", base_url="http://beta.localhost")
    assert entered.status_code == 302
    home = panel.client.get("/", base_url="http://beta.localhost").get_data(as_text=True)
    assert 'id="impersonation-banner"' in home and 'id="reseller-name">Beta<' in home
    # The hand-off link works once.
    again = app.test_client().get(f"{target.path}?{target.query}", base_url="http://beta.localhost")
    assert again.status_code == 404

    # What the operator does there is logged under the operator, flagged.
    panel.client.post("/settings/security", base_url="http://beta.localhost", data={
        "csrf_token": panel.client.get("/settings/security", base_url="http://beta.localhost")
        .get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1].split('"')[0],
        "password_complexity": "strong", "staff_max_login_attempts": 4,
        "staff_lockout_minutes": 10, "staff_password_valid_days": 90,
        "staff_password_reminder_days": 7, "session_idle_minutes": 60,
        "reset_link_valid_minutes": 30})
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.reseller_id == beta.id)).all()
    actions = {(e.action, e.actor_label, e.impersonating) for e in events}
    assert ("tenancy.reseller.panel_entered", "Root Admin", False) in actions
    assert ("settings.security.updated", "Root Admin", True) in actions
    # The operator's own log says where they went.
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.reseller_id == root.id, AuditEvent.action == "tenancy.reseller.panel_entered"))


def test_child_staff_cannot_enter_the_parent_or_a_sibling(app, db):
    root = make_root()
    acme = make_reseller(root, slug="acme")
    sibling = make_reseller(root, slug="sib")
    admin = make_staff(acme)
    panel = Panel(app, acme, admin)
    assert panel.post(f"/resellers/{root.id}/enter").status_code == 404
    assert panel.post(f"/resellers/{sibling.id}/enter").status_code == 404


def test_only_roles_with_reseller_rights_may_enter(app, db):
    root = make_root()
    acme = make_reseller(root, slug="acme")
    sales = make_staff(root, role=Role.SALES_MANAGER)
    panel = Panel(app, root, sales)
    assert panel.post(f"/resellers/{acme.id}/enter").status_code == 403
