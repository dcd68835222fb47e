"""Log in as client (01 R-LAC-1/3): staff open the client panel as the owner, audited, with a
banner; blocked and deleted clients are refused; another reseller's client is a 404."""

from __future__ import annotations

from urllib.parse import urlparse

from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.clients.models import ClientStatus, UserSession
from portal.core.models import AuditEvent
from tests.client_panel.conftest import ClientBrowser, add_user, make_client
from tests.factories import Panel, make_reseller, make_staff


def _enter(panel, client):
    response = panel.post(f"/clients/{client.id}/client-panel")
    return response


def test_staff_logs_in_as_the_owner_with_a_banner_and_an_audit_entry(app, db, acme,
                                                                      frozen_clock):
    client = make_client(acme, name="Romashka LLC", first_name="Olga", last_name="Ivanova")
    member = make_staff(acme, name="Kate Manager", role=Role.SALES_MANAGER)
    db.session.commit()
    panel = Panel(app, acme, member)
    with panel.client.session_transaction(base_url=panel.base) as session:
        session["lang"] = "en"
    response = _enter(panel, client)
    assert response.status_code == 302
    target = urlparse(response.headers["Location"])
    assert target.hostname == acme.local_host and target.path.startswith("/client/enter/")

    entered = panel.client.get(target.path, base_url=panel.base)
    assert entered.status_code == 302 and entered.headers["Location"].endswith("/client/")
    home = panel.client.get("/client/", base_url=panel.base).get_data(as_text=True)
    assert 'id="impersonation-banner"' in home
    assert ("You are in the client panel as Olga Ivanova, signed in by staff member "
            "Kate Manager.") in home
    assert 'id="client-name">Romashka LLC<' in home
    # The staff login in the same browser goes on.
    assert panel.get("/").status_code == 200
    # The hand-off works once.
    assert ClientBrowser(app, acme.local_host).get(target.path).status_code == 404
    # Not the owner's own sign-in.
    assert client.owner.sign_in_count == 0
    session = db.session.scalar(select(UserSession).where(UserSession.client_id == client.id))
    assert session.impersonator_id == member.id and session.user_id == client.owner.id
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.reseller_id == acme.id, AuditEvent.subject_type == "Client",
        AuditEvent.subject_id == client.id, AuditEvent.action == "clients.client.panel_entered"))
    assert event.actor_id == member.id and event.actor_label == "Kate Manager"
    # The owner's password is not the staff member's to change.
    settings = panel.client.get("/client/settings", base_url=panel.base).get_data(as_text=True)
    assert 'id="password-form"' not in settings


def test_impersonated_session_stays_in_the_entered_client(app, db, acme):
    first = make_client(acme, name="First LLC")
    second = make_client(acme, name="Second LLC")
    add_user(second, first.owner, "admin")
    member = make_staff(acme)
    db.session.commit()
    panel = Panel(app, acme, member)
    target = urlparse(_enter(panel, first).headers["Location"])
    panel.client.get(target.path, base_url=panel.base)
    home = panel.client.get("/client/", base_url=panel.base).get_data(as_text=True)
    assert 'id="client-switcher"' not in home
    switched = panel.client.post(f"/client/accounts/{second.id}", base_url=panel.base,
                                 data={"csrf_token": panel.csrf("/client/")})
    assert switched.status_code == 404
    # Blocked meanwhile: the staff session in the client panel ends.
    first.status = ClientStatus.ADMIN_BLOCKED
    db.session.commit()
    response = panel.client.get("/client/", base_url=panel.base)
    assert response.headers["Location"].endswith("/client/login")


def test_hand_off_expires_after_two_minutes(app, db, acme, frozen_clock):
    client = make_client(acme)
    member = make_staff(acme)
    db.session.commit()
    panel = Panel(app, acme, member)
    target = urlparse(_enter(panel, client).headers["Location"])
    frozen_clock.advance(minutes=3)
    assert panel.client.get(target.path, base_url=panel.base).status_code == 404


def test_blocked_or_deleted_client_is_refused_with_the_users_message(app, db, acme):
    blocked = make_client(acme, status=ClientStatus.ADMIN_BLOCKED)
    deleted = make_client(acme, status=ClientStatus.DELETED)
    member = make_staff(acme)
    db.session.commit()
    panel = Panel(app, acme, member)
    with panel.client.session_transaction(base_url=panel.base) as session:
        session["lang"] = "en"
    for client, message in ((blocked, "The client is blocked. Any operations are prohibited."),
                            (deleted, "The client is deleted.")):
        response = panel.client.post(f"/clients/{client.id}/client-panel", base_url=panel.base,
                                     data={"csrf_token": panel.csrf()},
                                     headers={"Referer": f"{panel.base}/"})
        assert response.status_code == 302
        assert urlparse(response.headers["Location"]).hostname in (None, acme.local_host)
        assert message in panel.get("/").get_data(as_text=True)
    assert db.session.scalar(select(func.count(UserSession.id))) == 0


def test_client_of_another_reseller_is_a_404(app, db, acme):
    beta = make_reseller(name="Beta", slug="beta")
    foreign = make_client(beta)
    member = make_staff(acme)
    db.session.commit()
    panel = Panel(app, acme, member)
    assert _enter(panel, foreign).status_code == 404


def test_roles_without_clients_access_are_refused(app, db, acme):
    client = make_client(acme)
    member = make_staff(acme, role=Role.PRODUCT_MANAGER)
    db.session.commit()
    assert _enter(Panel(app, acme, member), client).status_code == 403


def test_a_hand_off_key_of_one_reseller_does_nothing_on_another_host(app, db, acme):
    beta = make_reseller(name="Beta", slug="beta")
    client = make_client(acme)
    member = make_staff(acme)
    db.session.commit()
    panel = Panel(app, acme, member)
    target = urlparse(_enter(panel, client).headers["Location"])
    assert ClientBrowser(app, beta.local_host).get(target.path).status_code == 404
    # Still claimable on its own host.
    assert panel.client.get(target.path, base_url=panel.base).status_code == 302
