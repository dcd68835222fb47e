"""The client panel's own host (07 BR-18): "/" leads to /client/, operator pages are 404 there;
the reseller's branding on the sign-in page; the host set on the reseller page and in the API."""

from __future__ import annotations

import io
from urllib.parse import urlparse

from PIL import Image

from portal.tenancy.models import DomainKind
from portal.tenancy.services.branding import set_branding_image
from portal.tenancy.services.resellers import set_domain, update_reseller
from tests.client_panel.conftest import ClientBrowser, make_client
from tests.factories import Panel, make_root, make_staff, make_token


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(buffer, "PNG")
    return buffer.getvalue()


def test_client_host_serves_the_client_panel_alone(app, db, acme):
    set_domain(acme, DomainKind.PANEL, "panel.acme.test")
    set_domain(acme, DomainKind.CLIENT, "my.acme.test")
    make_client(acme, owner_email="olga@example.com")
    set_branding_image(acme, "logo", png())
    member = make_staff(acme)
    db.session.commit()
    browser = ClientBrowser(app, "my.acme.test")
    home = browser.get("/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/client/")
    for path in ("/login", "/resellers", "/staff", "/settings/security", "/password/forgot"):
        assert browser.get(path).status_code == 404, path
    assert browser.get("/client/login").status_code == 200
    assert browser.get("/branding/logo").status_code == 200
    assert browser.get("/static/css/portal.css").status_code == 200
    language = browser.post("/language/en", {"next": "/client/login"})
    assert language.status_code == 302 and language.headers["Location"] == "/client/login"
    assert browser.login("olga@example.com").status_code == 302
    assert browser.get("/client/").status_code == 200

    # The panel host still serves both panels; the client panel lives under /client/ there.
    panel = Panel(app, acme, member)
    assert panel.get("/").status_code == 200
    assert panel.get("/client/login").status_code == 200
    # So does <slug>.localhost.
    assert ClientBrowser(app, acme.local_host).get("/client/login").status_code == 200


def test_log_in_as_client_goes_to_the_client_host(app, db, acme):
    set_domain(acme, DomainKind.CLIENT, "my.acme.test")
    client = make_client(acme)
    member = make_staff(acme)
    db.session.commit()
    panel = Panel(app, acme, member)
    response = panel.post(f"/clients/{client.id}/client-panel")
    target = urlparse(response.headers["Location"])
    assert target.hostname == "my.acme.test"
    browser = ClientBrowser(app, "my.acme.test")
    assert browser.get(target.path).status_code == 302
    assert 'id="impersonation-banner"' in browser.get("/client/").get_data(as_text=True)


def test_login_page_shows_the_resellers_branding(app, db, acme):
    update_reseller(acme, client_panel_title="Acme Cloud Desk", panel_title="Acme Staff",
                    primary_color="#aa3300")
    set_branding_image(acme, "logo", png())
    db.session.commit()
    page = ClientBrowser(app, acme.local_host).get("/client/login").get_data(as_text=True)
    assert 'id="panel-name">Acme Cloud Desk<' in page
    assert "<title>" in page and "— Acme Cloud Desk</title>" in page
    assert f"/branding/logo?v={acme.branding_version}" in page
    assert "--brand: #aa3300" in page
    assert "Acme Staff" not in page
    # Without a client-panel title the reseller's name stands in.
    update_reseller(acme, client_panel_title="")
    db.session.commit()
    page = ClientBrowser(app, acme.local_host).get("/client/login").get_data(as_text=True)
    assert 'id="panel-name">Acme<' in page


def test_client_domain_on_the_reseller_page(app, db, acme):
    root = make_root()
    admin = make_staff(root)
    db.session.commit()
    panel = Panel(app, root, admin)
    page = panel.get(f"/resellers/{acme.id}").get_data(as_text=True)
    assert 'name="client_domain"' in page
    response = panel.post(f"/resellers/{acme.id}/domain", {
        "panel_domain": "panel.acme.test", "store_domain": "", "client_domain": "My.Acme.test"})
    assert response.status_code == 302
    assert acme.client_domain == "my.acme.test" and acme.panel_domain == "panel.acme.test"
    # A domain in use elsewhere is refused next to the field.
    taken = panel.post(f"/resellers/{acme.id}/domain", {
        "panel_domain": "panel.acme.test", "client_domain": "localhost"})
    assert taken.status_code == 422
    assert 'id="field-client_domain"' in taken.get_data(as_text=True)
    assert 'has-error" id="field-client_domain"' in taken.get_data(as_text=True)
    cleared = panel.post(f"/resellers/{acme.id}/domain", {"panel_domain": "panel.acme.test",
                                                          "client_domain": ""})
    assert cleared.status_code == 302
    db.session.expire_all()
    assert acme.client_domain == ""


def test_client_domain_in_the_resellers_api(app, db, client, acme):
    root = make_root()
    token = make_token(make_staff(root))
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    body = client.patch(f"/api/v1/resellers/{acme.id}", json={"client_domain": "my.acme.test"},
                        headers=headers)
    assert body.status_code == 200, body.get_json()
    assert body.get_json()["client_domain"] == "my.acme.test"
    assert client.get(f"/api/v1/resellers/{acme.id}", headers=headers).get_json()[
        "client_domain"] == "my.acme.test"
    wrong = client.patch(f"/api/v1/resellers/{acme.id}", json={"client_domain": 5},
                         headers=headers)
    assert wrong.status_code == 422
    created = client.post("/api/v1/resellers", json={
        "name": "Gamma", "client_domain": "my.gamma.test"}, headers=headers)
    assert created.status_code == 201 and created.get_json()["client_domain"] == "my.gamma.test"
    taken = client.post("/api/v1/resellers", json={
        "name": "Delta", "client_domain": "my.gamma.test"}, headers=headers)
    assert taken.status_code == 409
    assert "client_domain" in taken.get_json()["error"]["fields"]
    names = [r["name"] for r in client.get("/api/v1/resellers?per_page=100",
                                           headers=headers).get_json()["items"]]
    assert "Gamma" in names and "Delta" not in names
    invalid = client.patch(f"/api/v1/resellers/{acme.id}", json={"client_domain": "not a host!"},
                           headers=headers)
    assert invalid.status_code == 422 and "client_domain" in invalid.get_json()["error"]["fields"]
    cleared = client.patch(f"/api/v1/resellers/{acme.id}", json={"client_domain": ""},
                           headers=headers)
    assert cleared.get_json()["client_domain"] is None
