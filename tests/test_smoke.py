from tests.factories import Panel, make_reseller, make_root, make_staff


def test_root_panel_serves_signed_in_admin(app, db):
    root = make_root()
    admin = make_staff(root)
    panel = Panel(app, root, admin)
    response = panel.get("/")
    assert response.status_code == 200
    assert "Root Operator" in response.get_data(as_text=True)


def test_reseller_panel_on_its_own_host(app, db):
    acme = make_reseller(name="Acme", slug="acme")
    member = make_staff(acme)
    panel = Panel(app, acme, member)
    html = panel.get("/").get_data(as_text=True)
    assert 'id="reseller-name">Acme<' in html
