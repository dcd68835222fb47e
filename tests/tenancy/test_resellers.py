"""The reseller tree: creation and inheritance, SMTP, branding, suspension, delete guard."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from portal.core.deletion import StillLinkedError
from portal.core.errors import DomainError
from portal.settings.services import security_settings, system_settings, update_system_settings
from portal.tenancy.models import Reseller, ResellerStatus, SettingsMode
from portal.tenancy.services import effective_smtp, send_test_email
from portal.tenancy.services.branding import set_branding_image
from portal.tenancy.services.resellers import (create_reseller, delete_reseller, set_domain,
                                               set_reseller_status, update_reseller)
from portal.tenancy.tree import ancestors, descendant_ids_select, is_descendant
from tests.factories import Panel, make_reseller, make_root, make_staff


def png(size=(32, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, "PNG")
    return buffer.getvalue()


def test_tree_queries_reach_any_depth(db):
    root = make_root()
    a = make_reseller(root)
    b = make_reseller(a)
    c = make_reseller(b)
    sibling = make_reseller(root)
    below_a = set(db.session.scalars(descendant_ids_select(a.id)))
    assert below_a == {b.id, c.id}
    assert [r.id for r in ancestors(c)] == [b.id, a.id, root.id]
    assert is_descendant(root, c.id) and not is_descendant(a, sibling.id)
    assert not is_descendant(c, a.id)


def test_new_reseller_copies_languages_in_copy_provider_mode_only(db):
    root = make_root()
    update_system_settings(root, operator_languages=["en"], operator_default_language="en")
    security_settings(root).staff_max_login_attempts = 7
    copied = make_reseller(root, settings_mode=SettingsMode.COPY_PROVIDER)
    standard = make_reseller(root, settings_mode=SettingsMode.COPY_STANDARD)
    assert system_settings(copied).operator_languages == ["en"]
    assert system_settings(copied).operator_default_language == "en"
    assert system_settings(standard).operator_languages == ["ru", "en"]
    # The password policy is inherited either way; each child owns its copy afterwards.
    assert security_settings(copied).staff_max_login_attempts == 7
    security_settings(copied).staff_max_login_attempts = 3
    assert security_settings(root).staff_max_login_attempts == 7


def test_smtp_is_inherited_from_the_nearest_ancestor(db):
    root = make_root()
    a = make_reseller(root)
    b = make_reseller(a)
    assert effective_smtp(b) is None
    update_reseller(root, smtp_host="mail.root.test", smtp_port=25)
    assert effective_smtp(b).host == "mail.root.test"
    update_reseller(a, smtp_host="mail.a.test", smtp_port=2525)
    assert (effective_smtp(b).host, effective_smtp(b).port) == ("mail.a.test", 2525)


def test_test_email_goes_through_the_reseller_smtp(db, smtp_server):
    root = make_root()
    a = make_reseller(root, name="Acme")
    update_reseller(a, smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_sender="a@a.test")
    send_test_email(a, to="ops@example.com", actor=None)
    message = smtp_server.wait_for(1)[0]
    assert message["To"] == "ops@example.com" and "Acme" in message["Subject"]


def test_test_email_reports_an_unreachable_server(db):
    root = make_root()
    a = make_reseller(root)
    update_reseller(a, smtp_host="127.0.0.1", smtp_port=1)
    with pytest.raises(DomainError):
        send_test_email(a, to="ops@example.com", actor=None)


def test_domains_are_unique_across_tenants(db):
    root = make_root()
    a = make_reseller(root)
    b = make_reseller(root)
    set_domain(a, "panel", "Panel.Acme.Example.com")
    assert a.panel_domain == "panel.acme.example.com"
    with pytest.raises(DomainError):
        set_domain(b, "panel", "panel.acme.example.com")
    with pytest.raises(DomainError):
        set_domain(b, "panel", "not a domain")


def test_own_domain_serves_the_panel_with_its_branding(app, db):
    root = make_root()
    acme = create_reseller(root, name="Acme", domain="acme.example.com", slug="acme")
    update_reseller(acme, panel_title="Acme Cloud Panel", default_language="en")
    set_branding_image(acme, "logo", png())
    client = app.test_client()
    html = client.get("/login", base_url="http://acme.example.com").get_data(as_text=True)
    assert "Acme Cloud Panel" in html and "Sign in" in html
    logo = client.get("/branding/logo", base_url="http://acme.example.com")
    assert logo.status_code == 200 and logo.content_type == "image/png"
    # The root's panel shows the root, in Russian.
    root_html = client.get("/login", base_url="http://localhost").get_data(as_text=True)
    assert "Acme" not in root_html and "Root Operator" in root_html


@pytest.mark.parametrize("data", [b"not an image", b"GIF89a" + b"\0" * 10])
def test_logo_must_be_an_image(db, data):
    root = make_root()
    with pytest.raises(DomainError):
        set_branding_image(root, "logo", data)
    assert root.logo is None


def test_logo_size_is_bounded(db):
    root = make_root()
    with pytest.raises(DomainError):
        set_branding_image(root, "logo", png((3000, 100)))
    with pytest.raises(DomainError):
        set_branding_image(root, "logo", b"\x89PNG" + b"0" * (600 * 1024))


def test_logo_upload_form_shows_the_error_next_to_the_field(app, db):
    root = make_root()
    admin = make_staff(root)
    acme = make_reseller(root)
    panel = Panel(app, root, admin)
    response = panel.post(f"/resellers/{acme.id}/branding", data={
        "default_language": "ru", "logo": (io.BytesIO(b"<svg></svg>"), "logo.svg")},
        content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="field-logo"' in html and 'class="error"' in html
    assert db.session.get(Reseller, acme.id).logo is None


def test_suspended_reseller_closes_its_subtree_panels(app, db):
    root = make_root()
    a = make_reseller(root, slug="susp")
    b = make_reseller(a, slug="susp-child")
    set_reseller_status(a, ResellerStatus.SUSPENDED)
    client = app.test_client()
    assert client.get("/login", base_url=f"http://{a.local_host}").status_code == 403
    assert client.get("/login", base_url=f"http://{b.local_host}").status_code == 403
    set_reseller_status(a, ResellerStatus.ACTIVE)
    assert client.get("/login", base_url=f"http://{b.local_host}").status_code == 200


def test_delete_refuses_while_objects_are_linked(db):
    root = make_root()
    a = make_reseller(root)
    child = make_reseller(a)
    member = make_staff(a)
    with pytest.raises(StillLinkedError) as refused:
        delete_reseller(a)
    assert "resellers" in str(refused.value) and "staff_members" in str(refused.value)
    db.session.delete(member)
    delete_reseller(child)
    delete_reseller(a)
    assert db.session.scalar(select(Reseller).where(Reseller.id == a.id)) is None


def test_root_cannot_be_deleted_or_suspended(db):
    root = make_root()
    with pytest.raises(DomainError):
        delete_reseller(root)
    with pytest.raises(DomainError):
        set_reseller_status(root, ResellerStatus.SUSPENDED)


def test_create_reseller_form_errors_change_nothing(app, db):
    root = make_root()
    admin = make_staff(root)
    make_reseller(root, domain="taken.example.com")
    panel = Panel(app, root, admin)
    before = db.session.scalar(select(db.func.count(Reseller.id)))
    response = panel.post("/resellers/new", data={"name": "New", "currency": "RUB",
                                                  "settings_mode": "copy_provider",
                                                  "domain": "taken.example.com"})
    assert response.status_code == 422
    assert 'id="field-domain"' in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(Reseller.id))) == before
    response = panel.post("/resellers/new", data={"name": "", "currency": "RUB",
                                                  "settings_mode": "copy_provider"})
    assert response.status_code == 422


def test_reseller_changes_are_in_its_event_log(app, db):
    root = make_root()
    admin = make_staff(root, name="Olga Admin")
    acme = make_reseller(root, name="Acme")
    panel = Panel(app, root, admin)
    response = panel.post(f"/resellers/{acme.id}", data={"name": "Acme Cloud", "currency": "USD"})
    assert response.status_code == 302
    html = panel.get(f"/resellers/{acme.id}").get_data(as_text=True)
    assert "Acme → Acme Cloud" in html and "Olga Admin" in html
