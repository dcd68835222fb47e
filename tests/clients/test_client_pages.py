"""Operator-panel pages of clients (01 S9–S11): the list with its columns and filters (R-CLL-1..4),
the create form (R-CL-1..10), the client page (R-CLV-*), block → activate → delete (§4.13,
§4.15, D6), comments (R-CMT-*), and who may open them."""

from __future__ import annotations

import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import event, func, select

from portal.accounts.models import Role
from portal.clients import hooks
from portal.clients.models import Client, ClientStatus, User
from portal.clients.services.parameters import create_parameter
from portal.clients.services.user_tokens import pending_invitation
from portal.core.comments import comments_for
from portal.core.models import AuditEvent
from portal.settings.services import system_settings
from tests.factories import (VALID_INN_10, Panel, make_client, make_client_type, make_reseller,
                             make_root, make_service_rule, make_staff, make_user)

BAD_INN_10 = "7707083890"  # the check digit is wrong


def plain(html: str) -> str:
    text = re.sub(r"<[^>]+>", " ", html).replace("\xa0", " ").replace("\u202f", " ")
    return re.sub(r"\s+", " ", text).strip()


def row_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="clients-(\d+)">', html)]


def cell(html: str, client_id: int, column: str) -> str:
    row = re.search(rf'<tr id="clients-{client_id}">(.*?)</tr>', html, re.S)
    assert row, f"no row of client {client_id}"
    match = re.search(rf'<td data-column="{column}">(.*?)</td>', row.group(1), re.S)
    assert match, f"no column {column}"
    return match.group(1)


def has_error(html: str, field: str) -> bool:
    return re.search(rf'class="field has-error" id="field-{field}"', html) is not None


def queued_invitations(app) -> int:
    """"Клиент создан" events queued with the new owner's set-password link (09 §2.9.2)."""
    backend = app.extensions["portal_jobs"]
    if hasattr(backend, "pending"):
        queued = [(path, args) for path, args in list(backend.pending.queue)]
    else:
        queued = [(job.args[0], job.args[1]) for job in backend.queue("mail").jobs]
    return sum(1 for path, args in queued if path.endswith("dispatch_event")
               and args[0] == "account_created"
               and (args[2] or {}).get("account.owner_reset_password_url"))


def count_clients(db) -> int:
    return db.session.scalar(select(func.count(Client.id)))


@pytest.fixture
def world(app, db):
    root = make_root()
    reseller = make_reseller(root, name="Distributor")
    admin = make_staff(reseller, name="Anna Admin")
    seller = make_staff(reseller, role=Role.SALES_MANAGER, name="Boris Seller")
    org = make_client_type(reseller, name="Organisation", primary_name_label="Company name",
                           is_default=True)
    person = make_client_type(reseller, name="Person", legal_form="individual",
                              name_template="%last_name %first_name %middle_name",
                              primary_name_label="")
    prepay = make_service_rule(reseller, name="Prepay 100", color="green",
                               block_threshold=Decimal("100"))
    postpay = make_service_rule(reseller, name="Postpay", payment_model="postpay",
                                credit_limit=Decimal("1000"), payment_grace_days=3)
    create_parameter(reseller, name="INN", key="inn", data_type="inn", applies_to="client",
                     client_type_id=org.id)
    db.session.commit()
    return SimpleNamespace(root=root, reseller=reseller, admin=admin, seller=seller, org=org,
                           person=person, prepay=prepay, postpay=postpay,
                           panel=Panel(app, reseller, admin))


def org_client(w, **kw):
    kw.setdefault("parameters", {"inn": VALID_INN_10})
    return make_client(w.reseller, client_type=w.org, service_rule=kw.pop("rule", w.prepay), **kw)


def create_data(w, **change):
    data = {"client_type_id": str(w.org.id), "primary_name": "Рога и копыта",
            "service_rule_id": str(w.prepay.id), "manager_id": "", "country": "RU",
            "city": "Москва", "phone": "+7 495 123-45-67",
            "signatory_first_name": "Иван", "signatory_last_name": "Петров",
            "signatory_email": "sign@example.com", "owner_mode": "create",
            "owner_first_name": "Пётр", "owner_last_name": "Иванов",
            "owner_email": "Boss@Example.com", "block_threshold_from_rule": "y",
            "credit_limit_from_rule": "y", "param_inn": VALID_INN_10}
    data.update(change)
    return {k: v for k, v in data.items() if v is not None}


def page_data(html: str) -> dict:
    """What the client page's form would post as it stands (inputs, selects, checkboxes)."""
    form = re.search(r'<form[^>]*id="client-general-form".*?</form>', html, re.S).group(0)
    data = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if kind and kind.group(1) in ("checkbox", "radio") and "checked" not in tag:
            continue
        data[name.group(1)] = value.group(1) if value else ""
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        selected = re.search(r'<option selected value="([^"]*)"', body)
        data[name] = selected.group(1) if selected else ""
    data.pop("_refresh", None)
    return data


# --- the list (R-CLL-1..4, E10) ---------------------------------------------------------------

def test_list_shows_the_manuals_default_columns(db, world):
    w = world
    client = org_client(w, primary_name="Adam Smith LLC")
    client.balance = Decimal("1613.00")
    db.session.commit()
    html = w.panel.get("/clients").get_data(as_text=True)
    headers = re.findall(r'<th data-column="([^"]+)"', html)
    assert headers == ["id", "name", "balance", "current_debt", "status", "service_rule",
                       "client_type", "created_at"]
    assert f'href="/clients/{client.id}"' in cell(html, client.id, "name")
    assert plain(cell(html, client.id, "balance")) == "1 613,00 ₽"
    assert plain(cell(html, client.id, "current_debt")) == "0,00 ₽"
    assert 'data-status="active"' in cell(html, client.id, "status")
    assert 'data-color="green"' in cell(html, client.id, "service_rule")
    assert plain(cell(html, client.id, "service_rule")) == "Prepay 100"
    assert plain(cell(html, client.id, "client_type")) == "Organisation"
    assert plain(cell(html, client.id, "created_at")).startswith("22.11.2026")
    assert 'id="list-create"' in html


def test_deleted_clients_show_only_when_the_status_filter_asks(db, world):
    w = world
    live, gone = org_client(w), org_client(w)
    gone.status = ClientStatus.DELETED
    blocked = org_client(w)
    blocked.status = ClientStatus.ADMIN_BLOCKED
    db.session.commit()
    assert row_ids(w.panel.get("/clients").get_data(as_text=True)) == [blocked.id, live.id]
    assert row_ids(w.panel.get("/clients?f_status=deleted").get_data(as_text=True)) == [gone.id]
    assert row_ids(w.panel.get("/clients?f_status=all").get_data(as_text=True)) == [
        blocked.id, gone.id, live.id]
    assert row_ids(w.panel.get("/clients?f_status=active,deleted").get_data(as_text=True)) == [
        gone.id, live.id]
    assert row_ids(w.panel.get("/clients?f_status=nonsense").get_data(as_text=True)) == []


def test_threshold_range_filters_on_the_threshold_in_force(db, world):
    w = world
    on_rule = org_client(w)                                 # the rule's 100
    own = org_client(w, block_threshold="50")               # its own 50
    zero = org_client(w, rule=make_service_rule(w.reseller, name="Zero"))  # 0
    db.session.commit()

    def ids(query):
        return sorted(row_ids(w.panel.get(f"/clients?{query}").get_data(as_text=True)))

    assert ids("f_threshold_from=60") == [on_rule.id]
    assert ids("f_threshold_to=60") == sorted([own.id, zero.id])
    assert ids("f_threshold_from=50&f_threshold_to=100") == sorted([on_rule.id, own.id])
    assert ids("f_threshold_from=abc") == []


def test_filters_by_type_rule_manager_and_self_registration(db, world):
    w = world
    mine = org_client(w, manager_id=w.seller.id)
    person = make_client(w.reseller, client_type=w.person, service_rule=w.postpay,
                         self_registered=True)
    db.session.commit()

    def ids(query):
        return row_ids(w.panel.get(f"/clients?{query}").get_data(as_text=True))

    assert ids(f"f_client_type={w.person.id}") == [person.id]
    assert ids(f"f_service_rule={w.prepay.id}") == [mine.id]
    assert ids(f"f_manager={w.seller.id}") == [mine.id]
    assert ids("f_manager=none") == [person.id]
    assert ids("f_self_registered=yes") == [person.id]
    assert ids("f_self_registered=no") == [mine.id]


def test_my_clients_are_the_ones_i_manage(app, db, world):
    w = world
    mine = org_client(w, manager_id=w.seller.id)
    org_client(w, manager_id=w.admin.id)
    org_client(w)
    db.session.commit()
    panel = Panel(app, w.reseller, w.seller)
    response = panel.get("/clients?manager=me")
    assert response.status_code == 302
    assert f"f_manager={w.seller.id}" in response.headers["Location"]
    html = panel.get(response.headers["Location"]).get_data(as_text=True)
    assert row_ids(html) == [mine.id]


def test_sorting_by_name_and_by_service_rule_ties_by_id(db, world):
    w = world
    b = org_client(w, primary_name="Beta")
    a = org_client(w, primary_name="Alpha")
    c = org_client(w, primary_name="Gamma", rule=w.postpay)
    db.session.commit()
    assert row_ids(w.panel.get("/clients").get_data(as_text=True)) == [c.id, a.id, b.id]
    assert row_ids(w.panel.get("/clients?sort=name").get_data(as_text=True)) == [a.id, b.id, c.id]
    assert row_ids(w.panel.get("/clients?sort=-name").get_data(as_text=True)) == [c.id, b.id, a.id]
    # "Postpay" < "Prepay 100"; the two prepay clients keep ID order.
    assert row_ids(w.panel.get("/clients?sort=service_rule").get_data(as_text=True)) == [
        c.id, b.id, a.id]


def test_optional_columns_load_without_a_query_per_row(app, db, world):
    w = world
    panel = w.panel
    columns = ["id", "name", "owner", "owner_email", "manager", "country", "city", "phone",
               "self_registered", "block_threshold"]
    panel.post("/lists/clients/columns", data={"columns": columns})
    first = org_client(w, owner_email="first@example.com", manager_id=w.seller.id, city="Минск")
    db.session.commit()

    def statements() -> int:
        seen = []
        engine = db.session.get_bind().engine

        def count(*_args):
            seen.append(1)
        event.listen(engine, "before_cursor_execute", count)
        try:
            html = panel.get("/clients").get_data(as_text=True)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen), html

    few, html = statements()
    assert plain(cell(html, first.id, "owner_email")) == "first@example.com"
    assert plain(cell(html, first.id, "owner")) == first.owner.full_name
    assert plain(cell(html, first.id, "manager")) == "Boris Seller"
    assert plain(cell(html, first.id, "country")) == "Россия"
    assert plain(cell(html, first.id, "block_threshold")) == "100,00 ₽"
    for _ in range(5):
        org_client(w, manager_id=w.seller.id)
    db.session.commit()
    many, html = statements()
    assert len(row_ids(html)) == 6
    assert many == few

    # full-text search looks in the owner's e-mail and the city too (R-LIST-1)
    assert row_ids(panel.get("/clients?q=FIRST@").get_data(as_text=True)) == [first.id]
    assert row_ids(panel.get("/clients?q=минск").get_data(as_text=True)) == [first.id]
    assert row_ids(panel.get("/clients?sort=owner_email").get_data(as_text=True))[0] == first.id


def test_csv_export_of_the_client_list(db, world):
    w = world
    client = org_client(w, primary_name="Export Me")
    client.balance = Decimal("12.50")
    db.session.commit()
    data = w.panel.get("/clients?export=csv").get_data().decode("utf-8-sig")
    lines = data.strip().splitlines()
    assert lines[1].startswith(f"{client.id},Export Me,12.50,0,active,Prepay 100,Organisation,")


# --- create (S10, R-CL-*) ---------------------------------------------------------------------

def test_create_page_preselects_the_default_type_and_country(db, world):
    html = world.panel.get("/clients/new").get_data(as_text=True)
    assert re.search(rf'value="{world.org.id}" checked', html)
    assert '<label for="primary_name">Company name' in html
    assert 'id="field-first_name"' not in html
    assert '<option selected value="RU">' in html
    assert 'id="field-param_inn"' in html and 'id="field-terms_accepted"' not in html
    assert plain(re.search(r'id="new-client-reseller">(.*?)<', html).group(1)) == "Distributor"


def test_changing_the_type_re_renders_its_fields(db, world):
    w = world
    response = w.panel.post("/clients/new", data={
        "_refresh": "1", "_rendered_type": str(w.org.id), "client_type_id": str(w.person.id),
        "city": "Казань"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="client-form"' in html and "<html" not in html
    assert 'id="field-first_name"' in html and 'id="field-primary_name"' not in html
    assert 'id="field-param_inn"' not in html
    assert 'value="Казань"' in html
    assert not re.search(r'class="field has-error"', html)
    assert count_clients(db) == 0


def test_create_with_a_new_owner_who_gets_an_invitation(app, db, world):
    w = world
    response = w.panel.post("/clients/new", data=create_data(w, manager_id=str(w.seller.id)))
    assert response.status_code == 302, plain(response.get_data(as_text=True))[:2000]
    client = db.session.scalar(select(Client).where(Client.reseller_id == w.reseller.id))
    assert response.headers["Location"].endswith(f"/clients/{client.id}")
    assert (client.name, client.status, client.manager_id, client.city, client.country) == (
        "Рога и копыта", ClientStatus.ACTIVE, w.seller.id, "Москва", "RU")
    assert client.block_threshold is None and client.credit_limit is None
    owner = client.owner
    assert (owner.email, owner.first_name, owner.last_name) == ("boss@example.com", "Пётр",
                                                                 "Иванов")
    assert client.technical_contact_id == owner.id == client.financial_contact_id
    if "client_panel.set_password" in app.view_functions:
        assert pending_invitation(owner)  # the set-password link went to the mail queue
        assert queued_invitations(app) == 1
    html = w.panel.get(f"/clients/{client.id}").get_data(as_text=True)
    assert f'value="{VALID_INN_10}"' in html


def test_create_with_an_existing_owner_and_own_overrides(app, db, world):
    w = world
    user = make_user(w.reseller, email="known@example.com")
    db.session.commit()
    response = w.panel.post("/clients/new", data=create_data(
        w, owner_mode="choose", owner_user_id=str(user.id), owner_email="",
        block_threshold_from_rule=None, block_threshold="250.50",
        credit_limit_from_rule=None, credit_limit="10"))
    assert response.status_code == 302
    client = db.session.scalar(select(Client).where(Client.reseller_id == w.reseller.id))
    assert client.owner.id == user.id and not pending_invitation(user)
    assert queued_invitations(app) == 0
    assert (client.block_threshold, client.credit_limit) == (Decimal("250.50"), Decimal("10.00"))


def test_create_a_person(db, world):
    w = world
    response = w.panel.post("/clients/new", data=create_data(
        w, client_type_id=str(w.person.id), primary_name=None, param_inn=None,
        first_name="Анна", middle_name="Сергеевна", last_name="Кузнецова",
        service_rule_id=str(w.postpay.id)))
    assert response.status_code == 302
    client = db.session.scalar(select(Client).where(Client.reseller_id == w.reseller.id))
    assert client.name == "Кузнецова Анна Сергеевна"


@pytest.mark.parametrize(("change", "field"), [
    ({"param_inn": ""}, "param_inn"),                          # a required parameter
    ({"param_inn": BAD_INN_10}, "param_inn"),                  # a wrong check digit
    ({"credit_limit_from_rule": None, "credit_limit": "-5"}, "credit_limit"),
    ({"block_threshold_from_rule": None, "block_threshold": ""}, "block_threshold"),
    ({"primary_name": ""}, "primary_name"),
    ({"service_rule_id": ""}, "service_rule_id"),
    ({"signatory_email": ""}, "signatory_email"),
    ({"signatory_email": "not-an-address"}, "signatory_email"),
    ({"owner_email": ""}, "owner_email"),
    ({"owner_first_name": ""}, "owner_first_name"),
    ({"owner_mode": "choose", "owner_user_id": ""}, "owner_user_id"),
    ({"region": "Республика Крым"}, "region"),
    ({"phone": "call me"}, "phone"),
    ({"country": "QQ"}, "country"),
])
def test_create_refusals_name_the_field_and_save_nothing(db, world, change, field):
    w = world
    response = world.panel.post("/clients/new", data=create_data(w, **change))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert has_error(html, field), plain(html)[:3000]
    assert count_clients(db) == 0
    assert 'value="Рога и копыта"' in html or field == "primary_name"  # what was typed stays


def test_a_duplicate_owner_email_is_refused(db, world):
    w = world
    make_user(w.reseller, email="boss@example.com")
    db.session.commit()
    response = w.panel.post("/clients/new", data=create_data(w))
    assert response.status_code == 422
    assert has_error(response.get_data(as_text=True), "owner_email")
    assert count_clients(db) == 0
    assert db.session.scalar(select(func.count(User.id)).where(
        User.reseller_id == w.reseller.id)) == 1


def test_terms_consent_shows_when_the_setting_asks(db, world):
    w = world
    system_settings(w.reseller).require_terms_consent = True
    db.session.commit()
    html = w.panel.get("/clients/new").get_data(as_text=True)
    assert re.search(r'<input checked id="terms_accepted"', html)
    response = w.panel.post("/clients/new", data=create_data(w))  # the box left unticked
    assert response.status_code == 302
    client = db.session.scalar(select(Client).where(Client.reseller_id == w.reseller.id))
    assert client.terms_accepted is False


def test_without_types_or_rules_the_form_cannot_be_sent(app, db):
    from sqlalchemy import delete

    from portal.clients.models import ClientType, ServiceRule

    reseller = make_reseller(make_root(), name="Empty")
    # A new reseller receives its parent's types and rules; this one has had them removed.
    db.session.execute(delete(ClientType).where(ClientType.reseller_id == reseller.id))
    db.session.execute(delete(ServiceRule).where(ServiceRule.reseller_id == reseller.id))
    admin = make_staff(reseller)
    db.session.commit()
    html = Panel(app, reseller, admin).get("/clients/new").get_data(as_text=True)
    assert 'id="client-setup-missing"' in html
    assert re.search(r'id="create-client" disabled', html)


# --- the client page (S11, R-CLV-*) -----------------------------------------------------------

def test_client_page_shows_the_general_information(app, db, world):
    w = world
    client = org_client(w, primary_name="Kate Ushakova")
    client.balance = Decimal("1046.70")
    client.ms_tenant_id = "d4a8b8b4-4f7b-4779-8b8b-8d0000000000"
    client.ms_tenant_name = "office.onmicrosoft.com"
    db.session.commit()
    html = w.panel.get(f"/clients/{client.id}").get_data(as_text=True)
    assert plain(re.search(r'id="client-id">(.*?)<', html).group(1)) == str(client.id)
    assert plain(re.search(r'id="balance">(.*?)<', html).group(1)) == "1 046,70 ₽"
    assert plain(re.search(r'id="current-debt">(.*?)<', html).group(1)) == "0,00 ₽"
    assert plain(re.search(r'id="available-funds">(.*?)<', html).group(1)) == "1 046,70 ₽"
    assert plain(re.search(r'id="client-created">(.*?)<', html).group(1)).startswith(
        "22.11.2026")
    assert plain(re.search(r'id="client-reseller">(.*?)<', html).group(1)) == "Distributor"
    assert 'data-status="active"' in html and 'id="block-client"' in html
    assert 'id="threshold-note"' in html and 'id="credit-limit-warning"' not in html
    assert re.search(r'id="block_threshold"[^>]*readonly[^>]*value="100.00"', html)
    assert "office.onmicrosoft.com" in html
    assert 'id="client-tabs"' in html and f'href="/clients/{client.id}/events"' in html
    if "clients.enter_client_panel" in app.view_functions:
        assert 'id="enter-client-panel"' in html


def test_postpay_clients_see_the_grace_period_and_credit_limit(db, world):
    w = world
    client = org_client(w, rule=w.postpay)
    db.session.commit()
    html = w.panel.get(f"/clients/{client.id}").get_data(as_text=True)
    assert plain(re.search(r'id="payment-grace-days">(.*?)<', html).group(1)) == "3 дня"
    assert 'id="credit-limit-warning"' in html
    assert 'id="field-block_threshold"' not in html
    assert re.search(r'id="credit_limit"[^>]*readonly[^>]*value="1000.00"', html)


def test_update_recomputes_the_name_and_saves_contacts(db, world):
    w = world
    client = org_client(w, signatory_first_name="Иван", signatory_last_name="Петров",
                        signatory_email="sign@example.com")
    db.session.commit()
    data = page_data(w.panel.get(f"/clients/{client.id}").get_data(as_text=True))
    data.update(primary_name="Новое имя", city="Тверь", street="Ленина", house="1",
                manager_id=str(w.seller.id))
    response = w.panel.post(f"/clients/{client.id}", data=data)
    assert response.status_code == 302, plain(response.get_data(as_text=True))[:3000]
    db.session.refresh(client)
    assert (client.name, client.city, client.street, client.manager_id) == (
        "Новое имя", "Тверь", "Ленина", w.seller.id)
    assert client.block_threshold is None
    events = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.subject_type == "Client", AuditEvent.subject_id == client.id)).all()
    assert "clients.client.updated" in events
    html = w.panel.get(f"/clients/{client.id}/events").get_data(as_text=True)
    assert "clients.client.updated" in html and "Тверь" in html


def test_the_threshold_override_switch(db, world):
    w = world
    client = org_client(w, signatory_first_name="Иван", signatory_last_name="Петров",
                        signatory_email="sign@example.com")
    db.session.commit()
    data = page_data(w.panel.get(f"/clients/{client.id}").get_data(as_text=True))
    data.pop("block_threshold_from_rule")
    data["block_threshold"] = "50"
    assert w.panel.post(f"/clients/{client.id}", data=data).status_code == 302
    db.session.refresh(client)
    assert client.block_threshold == Decimal("50.00")
    html = w.panel.get(f"/clients/{client.id}").get_data(as_text=True)
    assert not re.search(r'<input checked id="block_threshold_from_rule"', html)

    data["block_threshold"] = ""
    response = w.panel.post(f"/clients/{client.id}", data=data)  # off, and no amount
    assert response.status_code == 422
    assert has_error(response.get_data(as_text=True), "block_threshold")

    data.update(block_threshold_from_rule="y", block_threshold="50")
    assert w.panel.post(f"/clients/{client.id}", data=data).status_code == 302
    db.session.refresh(client)
    assert client.block_threshold is None


@pytest.mark.parametrize(("change", "field"), [
    ({"region": "Крым"}, "region"),
    ({"city": "Севастополь"}, "city"),
    ({"primary_name": ""}, "primary_name"),
    ({"param_inn": BAD_INN_10}, "param_inn"),
])
def test_update_refusals_change_nothing(db, world, change, field):
    w = world
    client = org_client(w, signatory_first_name="Иван", signatory_last_name="Петров",
                        signatory_email="sign@example.com", city="Москва")
    db.session.commit()
    data = page_data(w.panel.get(f"/clients/{client.id}").get_data(as_text=True))
    data.update(change)
    response = w.panel.post(f"/clients/{client.id}", data=data)
    assert response.status_code == 422
    assert has_error(response.get_data(as_text=True), field)
    db.session.refresh(client)
    assert client.city == "Москва" and client.region == ""


def test_changing_the_type_on_the_client_page(db, world):
    w = world
    client = org_client(w, signatory_first_name="Иван", signatory_last_name="Петров",
                        signatory_email="sign@example.com")
    db.session.commit()
    data = page_data(w.panel.get(f"/clients/{client.id}").get_data(as_text=True))
    data["client_type_id"] = str(w.person.id)
    refreshed = w.panel.post(f"/clients/{client.id}", data={**data, "_refresh": "1"},
                             headers={"HX-Request": "true"})
    assert refreshed.status_code == 200
    assert 'id="field-first_name"' in refreshed.get_data(as_text=True)
    data.update(first_name="Олег", last_name="Орлов")
    assert w.panel.post(f"/clients/{client.id}", data=data).status_code == 302
    db.session.refresh(client)
    assert (client.client_type_id, client.name) == (w.person.id, "Орлов Олег")


# --- status: block → activate → delete (§4.13, §4.15, D6) -----------------------------------

def test_block_activate_and_delete_with_the_live_subscription_guard(db, world):
    w = world
    client = org_client(w)
    db.session.commit()
    panel, url = w.panel, f"/clients/{client.id}"

    assert panel.post(f"{url}/block").status_code == 302
    db.session.refresh(client)
    assert client.status == ClientStatus.ADMIN_BLOCKED
    html = panel.get(url).get_data(as_text=True)
    assert 'data-status="admin_blocked"' in html and 'id="activate-client"' in html
    assert 'id="block-client"' not in html

    assert panel.post(f"{url}/activate").status_code == 302
    db.session.refresh(client)
    assert client.status == ClientStatus.ACTIVE

    def one_live(counted):
        return 1 if counted.id == client.id else 0

    hooks.LIVE_SUBSCRIPTION_COUNTERS.append(one_live)
    try:
        response = panel.post(f"{url}/delete")
        assert response.status_code == 422
        assert 'class="flash flash-error"' in response.get_data(as_text=True)
        db.session.refresh(client)
        assert client.status == ClientStatus.ACTIVE
    finally:
        hooks.LIVE_SUBSCRIPTION_COUNTERS.remove(one_live)

    response = panel.post(f"{url}/delete")
    assert response.status_code == 302 and response.headers["Location"].endswith("/clients")
    db.session.refresh(client)
    assert client.status == ClientStatus.DELETED
    assert client.id not in row_ids(panel.get("/clients").get_data(as_text=True))

    html = panel.get(url).get_data(as_text=True)  # read-only now
    assert 'id="client-deleted-note"' in html and 'id="save-client"' not in html
    assert re.search(r"<fieldset disabled", html)
    assert 'id="delete-client"' not in html and 'id="comment-form"' not in html
    assert panel.post(url, data=page_data(html)).status_code == 422
    assert panel.post(f"{url}/comments", data={"text": "late"}).status_code == 409


def test_blocking_twice_is_refused_with_a_message(db, world):
    w = world
    client = org_client(w)
    client.status = ClientStatus.ADMIN_BLOCKED
    db.session.commit()
    response = w.panel.post(f"/clients/{client.id}/block")
    assert response.status_code == 422
    assert 'class="flash flash-error"' in response.get_data(as_text=True)


# --- comments (R-CMT-1, R-CMT-2) -------------------------------------------------------------

def test_comments_add_download_and_delete(db, world):
    w = world
    client = org_client(w)
    db.session.commit()
    url = f"/clients/{client.id}/comments"
    from io import BytesIO

    response = w.panel.post(url, data={"text": "Позвонить в понедельник",
                                       "attachment": (BytesIO(b"%PDF-1.4 test"), "договор.pdf",
                                                      "application/pdf")},
                            headers={"HX-Request": "true"}, content_type="multipart/form-data")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section class="card" id="comments">')
    [comment] = comments_for(client)
    assert (comment.text, comment.attachment_name, comment.author_label) == (
        "Позвонить в понедельник", "договор.pdf", "Anna Admin")
    assert f'id="comment-{comment.id}"' in html

    file = w.panel.get(f"{url}/{comment.id}/file")
    assert file.status_code == 200 and file.data == b"%PDF-1.4 test"
    assert "attachment;" in file.headers["Content-Disposition"]

    empty = w.panel.post(url, data={"text": "  "}, headers={"HX-Request": "true"})
    assert empty.status_code == 422 and 'id="field-comment-text"' in empty.get_data(as_text=True)
    assert 'class="field has-error" id="field-comment-text"' in empty.get_data(as_text=True)

    deleted = w.panel.post(f"{url}/{comment.id}/delete", headers={"HX-Request": "true"})
    assert deleted.status_code == 200 and comments_for(client) == []
    assert w.panel.get(f"{url}/{comment.id}/file").status_code == 404
    actions = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.subject_type == "Client", AuditEvent.subject_id == client.id)).all()
    assert {"comments.comment.added", "comments.comment.deleted"} <= set(actions)


def test_a_plain_comment_post_returns_to_the_page(db, world):
    w = world
    client = org_client(w)
    db.session.commit()
    response = w.panel.post(f"/clients/{client.id}/comments", data={"text": "Без htmx"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/clients/{client.id}#comments")
    html = w.panel.get(f"/clients/{client.id}").get_data(as_text=True)
    assert "Без htmx" in html


# --- who may open the pages -------------------------------------------------------------------

def test_a_product_manager_may_not_open_client_pages(app, db, world):
    w = world
    client = org_client(w)
    product = make_staff(w.reseller, role=Role.PRODUCT_MANAGER)
    db.session.commit()
    panel = Panel(app, w.reseller, product)
    for path in ("/clients", "/clients/new", f"/clients/{client.id}",
                 f"/clients/{client.id}/events"):
        assert panel.get(path).status_code == 403, path
    assert panel.post(f"/clients/{client.id}/block").status_code == 403
    assert 'data-menu="clients"' not in panel.get("/").get_data(as_text=True)


def test_marketing_may_view_and_manage(app, db, world):
    w = world
    client = org_client(w)
    marketing = make_staff(w.reseller, role=Role.MARKETING_SPECIALIST)
    db.session.commit()
    panel = Panel(app, w.reseller, marketing)
    assert panel.get("/clients").status_code == 200
    assert 'id="save-client"' in panel.get(f"/clients/{client.id}").get_data(as_text=True)


def test_another_resellers_client_is_not_found(app, db, world):
    w = world
    other = make_reseller(w.root, name="Other")
    stranger = make_client(other)
    db.session.commit()
    panel = w.panel
    for path in (f"/clients/{stranger.id}", f"/clients/{stranger.id}/events"):
        assert panel.get(path).status_code == 404
    for path in (f"/clients/{stranger.id}/block", f"/clients/{stranger.id}/delete",
                 f"/clients/{stranger.id}/comments"):
        assert panel.post(path, data={"text": "x"}).status_code == 404
    assert stranger.id not in row_ids(panel.get("/clients?f_status=all").get_data(as_text=True))
    assert stranger.status == ClientStatus.ACTIVE


def test_the_financial_block_shows_like_the_other_statuses(db, world):
    w = world
    client = org_client(w)
    client.status = ClientStatus.FINANCIALLY_BLOCKED
    db.session.commit()
    html = w.panel.get("/clients").get_data(as_text=True)
    assert 'data-status="financially_blocked"' in cell(html, client.id, "status")
    assert row_ids(w.panel.get("/clients?f_status=financially_blocked")
                   .get_data(as_text=True)) == [client.id]
    page = w.panel.get(f"/clients/{client.id}").get_data(as_text=True)
    assert 'id="financial-block-note"' in page
    # R-FB-5: no button sets or lifts it; an administrative block is still possible (C4).
    assert 'id="block-client"' in page and 'id="activate-client"' not in page
