"""Panel pages of client types, service rules and additional parameters (08 S-1..S-6,
S-17..S-21): lists, create, edit, delegated copies, the key-conflict modal and deletion."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.clients.models import (AdditionalParameter, AdditionalParameterGroup, Client,
                                   ClientType, ServiceRule)
from portal.clients.services.client_types import create_client_type
from portal.clients.services.parameters import create_parameter, ensure_default_group
from portal.clients.services.service_rules import create_service_rule
from portal.clients.services.setup import install_client_defaults
from tests.factories import Panel, make_reseller, make_root, make_staff

TYPE = {"name": "Business", "name_template": "%primary_name", "primary_name_label": "Company",
        "key": "business", "legal_form": "organization"}
RULE = {"name": "PrepayAccClass", "key": "prepay_acc", "stop_method": "manual",
        "delete_method": "auto", "color": "orange", "payment_model": "prepay",
        "block_threshold": "100.00", "negative_balance_days": "-1",
        "cancel_unpaid_order_after_days": "1", "credit_limit": "1000.00",
        "payment_grace_days": "5", "promised_payment_limit": "0.00",
        "promised_payment_days": "0"}
PARAMETER = {"name": "КПП", "data_type": "string", "applies_to": "client", "key": "kpp",
             "weight": "0", "format": r"\d{9}"}


def count(db, model, **where) -> int:
    query = select(func.count(model.id))
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.session.scalar(query)


def text_of_row(html: str, row_id: str) -> str:
    match = re.search(rf'<tr id="{row_id}">(.*?)</tr>', html, re.S)
    assert match, f"no row {row_id}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def field_error(html: str, name: str) -> bool:
    return re.search(rf'id="field-{name}">.*?class="error"', html, re.S) is not None


@pytest.fixture
def tree(app, db):
    root = make_root()
    install_client_defaults(root)
    reseller = make_reseller(root, name="Distributor")
    child = make_reseller(reseller, name="Reseller below")
    admin = make_staff(reseller)
    db.session.commit()
    return {"root": root, "reseller": reseller, "child": child,
            "panel": Panel(app, reseller, admin)}


def own_type(db, reseller, key):
    return db.session.scalar(select(ClientType).where(ClientType.reseller_id == reseller.id,
                                                      ClientType.key == key))


# -- client types --------------------------------------------------------------------------------

def test_type_list_shows_copies_and_creates_with_copies_below(db, tree):
    panel = tree["panel"]
    html = panel.get("/client-types").get_data(as_text=True)
    individual = own_type(db, tree["reseller"], "individual")
    # ID, name, template, delegated, default
    assert text_of_row(html, f"client_types-{individual.id}") == (
        f"{individual.id} Физическое лицо %last_name %first_name %middle_name Да Да")
    assert 'id="key-conflicts"' not in html
    assert panel.get("/client-types/new").status_code == 200

    response = panel.post("/client-types/new", data=TYPE)
    assert response.status_code == 302
    created = own_type(db, tree["reseller"], "business")
    assert (created.is_delegated, created.primary_name_label, created.is_default) == (
        False, "Company", False)
    copy = own_type(db, tree["child"], "business")
    assert copy.is_delegated and copy.source_id == created.id


@pytest.mark.parametrize(("change", "field"), [
    ({"name": ""}, "name"),
    ({"key": "Bad Key"}, "key"),
    ({"key": "individual_x", "name_template": "no tokens"}, "name_template"),
    ({"legal_form": "martian"}, "legal_form"),
])
def test_bad_type_is_refused_next_to_its_field(db, tree, change, field):
    before = count(db, ClientType)
    response = tree["panel"].post("/client-types/new", data={**TYPE, **change})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), field)
    assert count(db, ClientType) == before


def test_duplicate_own_key_is_refused(db, tree):
    create_client_type(tree["reseller"], name="Ours", key="business",
                       name_template="%primary_name")
    db.session.commit()
    before = count(db, ClientType)
    response = tree["panel"].post("/client-types/new", data=TYPE)
    assert response.status_code == 422 and field_error(response.get_data(as_text=True), "key")
    assert count(db, ClientType) == before


def test_own_type_edit_reaches_the_copy_below(db, tree):
    client_type = create_client_type(tree["reseller"], **TYPE)
    db.session.commit()
    url = f"/client-types/{client_type.id}"
    html = tree["panel"].get(url).get_data(as_text=True)
    assert 'id="client-type-form"' in html and 'id="delete-client-type"' in html
    response = tree["panel"].post(url, data={**TYPE, "name": "Company", "key": "company"})
    assert response.status_code == 302
    db.session.expire_all()
    copy = own_type(db, tree["child"], "company")
    assert copy is not None and copy.name == "Company"
    html = tree["panel"].get(url).get_data(as_text=True)
    assert "clients.client_type.updated" in html  # the event log


def test_delegated_type_is_read_only_except_the_default_flag(db, tree):
    copy = own_type(db, tree["reseller"], "legal_entity")
    url = f"/client-types/{copy.id}"
    html = tree["panel"].get(url).get_data(as_text=True)
    assert 'id="delegated-note"' in html and 'id="delete-client-type"' not in html
    assert 'name="name"' not in html and 'name="is_default"' in html
    # Posted names are ignored: only the flag is read.
    response = tree["panel"].post(url, data={"name": "Hacked", "is_default": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert copy.name == "Юридическое лицо" and copy.is_default
    assert not own_type(db, tree["reseller"], "individual").is_default
    # Deleting a delegated type is refused and changes nothing.
    response = tree["panel"].post(f"{url}/delete")
    assert response.status_code == 422
    assert own_type(db, tree["reseller"], "legal_entity") is not None


def test_default_type_cannot_be_unticked(db, tree):
    client_type = create_client_type(tree["reseller"], **TYPE, is_default=True)
    db.session.commit()
    html = tree["panel"].get(f"/client-types/{client_type.id}").get_data(as_text=True)
    assert re.search(r'<input type="checkbox" checked disabled>', html)
    # The unticked (disabled) box sends nothing: the type stays the default.
    response = tree["panel"].post(f"/client-types/{client_type.id}", data=TYPE)
    assert response.status_code == 302
    db.session.expire_all()
    assert client_type.is_default


def test_key_conflict_modal_until_the_key_changes(db, tree):
    """EX-02: an own type "Физлицо" with the key of a delegated type."""
    own = create_client_type(tree["reseller"], name="Физлицо", key="legal_entity_own",
                             name_template="%last_name")
    own.key = "legal_entity"  # as if it existed before the provider made its type
    db.session.commit()
    html = tree["panel"].get("/client-types").get_data(as_text=True)
    modal = re.search(r'<dialog open[^>]*id="key-conflicts".*?</dialog>', html, re.S)
    assert modal and "Физлицо" in modal.group(0) and 'id="key-conflicts-ok"' in modal.group(0)
    response = tree["panel"].post(f"/client-types/{own.id}", data={
        "name": "Физлицо", "key": "natural_person", "name_template": "%last_name",
        "legal_form": "individual"})
    assert response.status_code == 302
    assert 'id="key-conflicts"' not in tree["panel"].get("/client-types").get_data(as_text=True)


def test_type_with_clients_is_not_deleted(db, tree):
    client_type = create_client_type(tree["reseller"], **TYPE)
    rule = create_service_rule(tree["reseller"], name="R", key="r")
    db.session.add(Client(reseller_id=tree["reseller"].id, client_type_id=client_type.id,
                          service_rule_id=rule.id, name="ООО Ромашка"))
    unused = create_client_type(tree["reseller"], name="Unused", key="unused",
                                name_template="%primary_name")
    db.session.commit()
    response = tree["panel"].post(f"/client-types/{client_type.id}/delete")
    assert response.status_code == 422
    assert db.session.get(ClientType, client_type.id) is not None
    response = tree["panel"].post(f"/client-types/{unused.id}/delete")
    assert response.status_code == 302
    assert own_type(db, tree["reseller"], "unused") is None
    assert own_type(db, tree["child"], "unused") is None  # CT4 below


def test_parameter_created_from_the_type_tab(db, tree):
    """S-21: "Apply to" and "Client type" are fixed to this type whatever is posted."""
    client_type = create_client_type(tree["reseller"], **TYPE)
    other = own_type(db, tree["reseller"], "individual")
    db.session.commit()
    url = f"/client-types/{client_type.id}/parameters/new"
    html = tree["panel"].get(url).get_data(as_text=True)
    assert re.search(r'<select[^>]*disabled[^>]*id="applies_to"|<select[^>]*id="applies_to"'
                     r'[^>]*disabled', html)
    response = tree["panel"].post(url, data={**PARAMETER, "applies_to": "user",
                                             "client_type_id": str(other.id), "optional": "y"})
    assert response.status_code == 302
    parameter = db.session.scalar(select(AdditionalParameter).where(
        AdditionalParameter.reseller_id == tree["reseller"].id,
        AdditionalParameter.key == "kpp"))
    assert (parameter.applies_to.value, parameter.client_type_id, parameter.optional) == (
        "client", client_type.id, True)
    html = tree["panel"].get(f"/client-types/{client_type.id}").get_data(as_text=True)
    # ID, name, optional, read-only for client, read-only for operator, key, weight (EX-06)
    assert text_of_row(html, f"type-parameter-{parameter.id}") == (
        f"{parameter.id} КПП Да Нет Нет kpp 0")
    # The copy reached the reseller below.
    assert count(db, AdditionalParameter, reseller_id=tree["child"].id, key="kpp") == 1


# -- service rules -------------------------------------------------------------------------------

def test_rule_create_page_shows_the_defaults(db, tree):
    html = tree["panel"].get("/service-rules/new").get_data(as_text=True)
    assert re.search(r'id="credit_limit"[^>]*value="0.00"', html)
    assert re.search(r'id="cancel_unpaid_order_after_days"[^>]*value="1"', html)
    assert 'id="credit-limit-warning"' in html


def test_rule_is_created_and_listed_with_its_colour(db, tree):
    panel = tree["panel"]
    response = panel.post("/service-rules/new", data=RULE)
    assert response.status_code == 302
    rule = db.session.scalar(select(ServiceRule).where(
        ServiceRule.reseller_id == tree["reseller"].id, ServiceRule.key == "prepay_acc"))
    assert response.headers["Location"].endswith(f"/service-rules/{rule.id}")
    assert (rule.block_threshold, rule.negative_balance_days, rule.credit_limit,
            rule.payment_grace_days, rule.stop_method.value, rule.color) == (
        Decimal("100.00"), -1, Decimal("1000.00"), 5, "manual", "orange")
    html = panel.get("/service-rules").get_data(as_text=True)
    row = re.search(rf'<tr id="service_rules-{rule.id}">(.*?)</tr>', html, re.S).group(1)
    assert 'data-color="orange"' in row
    assert "PrepayAccClass" in row and "100,00" in row and "1 000,00" in row.replace("\xa0", " ")
    # filter by payment model
    html = panel.get("/service-rules?f_payment_model=postpay").get_data(as_text=True)
    assert f'id="service_rules-{rule.id}"' not in html
    html = panel.get(f"/service-rules/{rule.id}").get_data(as_text=True)
    assert "clients.service_rule.created" in html


@pytest.mark.parametrize(("change", "field"), [
    ({"credit_limit": "-1"}, "credit_limit"),
    ({"credit_limit": "abc"}, "credit_limit"),
    ({"block_threshold": "-5"}, "block_threshold"),
    ({"block_threshold": ""}, "block_threshold"),
    ({"negative_balance_days": "-2"}, "negative_balance_days"),
    ({"negative_balance_days": "x"}, "negative_balance_days"),
    ({"cancel_unpaid_order_after_days": "0"}, "cancel_unpaid_order_after_days"),
    ({"payment_grace_days": "-1"}, "payment_grace_days"),
    ({"color": "pink"}, "color"),
    ({"key": "Bad Key"}, "key"),
    ({"name": ""}, "name"),
])
def test_bad_rule_is_refused_next_to_its_field(db, tree, change, field):
    before = count(db, ServiceRule)
    response = tree["panel"].post("/service-rules/new", data={**RULE, **change})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), field)
    assert count(db, ServiceRule) == before


def test_rule_edit_and_refused_edit(db, tree):
    rule = create_service_rule(tree["reseller"], name="Rule", key="rule")
    db.session.commit()
    url = f"/service-rules/{rule.id}"
    response = tree["panel"].post(url, data={**RULE, "credit_limit": "-1"})
    assert response.status_code == 422
    db.session.expire_all()
    assert (rule.name, rule.credit_limit) == ("Rule", Decimal("0.00"))
    response = tree["panel"].post(url, data={**RULE, "is_default": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert rule.is_default and rule.credit_limit == Decimal("1000.00")


def test_rule_with_clients_is_not_deleted(db, tree):
    rule = create_service_rule(tree["reseller"], name="Rule", key="rule")
    client_type = own_type(db, tree["reseller"], "individual")
    db.session.add(Client(reseller_id=tree["reseller"].id, client_type_id=client_type.id,
                          service_rule_id=rule.id, name="Client"))
    spare = create_service_rule(tree["reseller"], name="Spare", key="spare")
    db.session.commit()
    assert tree["panel"].post(f"/service-rules/{rule.id}/delete").status_code == 422
    assert db.session.get(ServiceRule, rule.id) is not None
    assert tree["panel"].post(f"/service-rules/{spare.id}/delete").status_code == 302
    assert count(db, ServiceRule, key="spare") == 0


def test_sibling_rule_and_type_are_404(db, tree):
    sibling = make_reseller(tree["root"], name="Sibling")
    rule = create_service_rule(sibling, name="Theirs", key="theirs")
    their_type = own_type(db, sibling, "individual")
    db.session.commit()
    panel = tree["panel"]
    assert panel.get(f"/service-rules/{rule.id}").status_code == 404
    assert panel.post(f"/service-rules/{rule.id}/delete").status_code == 404
    assert panel.get(f"/client-types/{their_type.id}").status_code == 404
    assert panel.post(f"/client-types/{their_type.id}/parameters/new",
                      data=PARAMETER).status_code == 404


def test_sales_manager_cannot_open_the_pages(app, db, tree):
    manager = make_staff(tree["reseller"], role=Role.SALES_MANAGER)
    db.session.commit()
    panel = Panel(app, tree["reseller"], manager)
    for url in ("/client-types", "/service-rules", "/additional-parameters",
                "/additional-parameter-groups"):
        assert panel.get(url).status_code == 403, url


# -- additional parameters -----------------------------------------------------------------------

def test_parameter_list_create_edit_delete(db, tree):
    panel = tree["panel"]
    client_type = own_type(db, tree["reseller"], "legal_entity")
    response = panel.post("/additional-parameters/new", data={
        **PARAMETER, "client_type_id": str(client_type.id)})
    assert response.status_code == 302
    parameter = db.session.scalar(select(AdditionalParameter).where(
        AdditionalParameter.reseller_id == tree["reseller"].id,
        AdditionalParameter.key == "kpp"))
    html = panel.get("/additional-parameters").get_data(as_text=True)
    # ID, name, optional, ro client, ro operator, key, applies to, weight (EX-31)
    row = text_of_row(html, f"additional_parameters-{parameter.id}")
    assert row.startswith(f"{parameter.id} КПП Нет Нет Нет kpp ")
    assert row.endswith(" - Юридическое лицо 0")  # "Client - Юридическое лицо"
    html = panel.get("/additional-parameters?f_applies_to=user").get_data(as_text=True)
    assert f'id="additional_parameters-{parameter.id}"' not in html

    url = f"/additional-parameters/{parameter.id}"
    assert panel.get(url).status_code == 200
    response = panel.post(url, data={**PARAMETER, "name": "КПП организации",
                                     "data_type": "text", "weight": "3",
                                     "group_id": str(ensure_default_group(tree["reseller"]).id)})
    assert response.status_code == 302
    db.session.expire_all()
    assert (parameter.name, parameter.weight, parameter.data_type.value) == (
        "КПП организации", 3, "string")  # the data type is fixed after creation
    assert panel.post(f"{url}/delete").status_code == 302
    assert count(db, AdditionalParameter, key="kpp") == 0


@pytest.mark.parametrize(("change", "field"), [
    ({"name": ""}, "name"),
    ({"client_type_id": ""}, "client_type_id"),
    ({"format": "([a-z"}, "format"),
    ({"default_value": "12"}, "default_value"),
    ({"data_type": "list", "format": "", "options": ""}, "options"),
    ({"data_type": "list", "format": "", "options": "A=a\nB=a"}, "options"),
    ({"data_type": "list", "format": "", "options": "A=a", "first_option_is_default": "y"},
     "first_option_is_default"),
    ({"weight": "heavy"}, "weight"),
])
def test_bad_parameter_is_refused_next_to_its_field(db, tree, change, field):
    client_type = own_type(db, tree["reseller"], "legal_entity")
    before = count(db, AdditionalParameter)
    response = tree["panel"].post("/additional-parameters/new", data={
        **PARAMETER, "client_type_id": str(client_type.id), **change})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), field)
    assert count(db, AdditionalParameter) == before


def test_list_parameter_options_from_the_textarea(db, tree):
    """EX-32: items in order, the first one the default of an optional parameter."""
    client_type = own_type(db, tree["reseller"], "legal_entity")
    response = tree["panel"].post("/additional-parameters/new", data={
        **PARAMETER, "format": "", "client_type_id": str(client_type.id), "data_type": "list",
        "key": "choice", "options": "default=default\nfirst=first\r\nsecond",
        "optional": "y", "first_option_is_default": "y"})
    assert response.status_code == 302
    parameter = db.session.scalar(select(AdditionalParameter).where(
        AdditionalParameter.reseller_id == tree["reseller"].id,
        AdditionalParameter.key == "choice"))
    assert parameter.options == [{"name": "default", "key": "default"},
                                 {"name": "first", "key": "first"},
                                 {"name": "second", "key": "second"}]
    assert parameter.first_option_is_default
    html = tree["panel"].get(f"/additional-parameters/{parameter.id}").get_data(as_text=True)
    assert "default=default\nfirst=first\nsecond=second" in html


def test_delegated_parameter_is_read_only(db, tree):
    root_type = own_type(db, tree["root"], "legal_entity")
    create_parameter(tree["root"], name="ОГРН", key="ogrn", data_type="string",
                     applies_to="client", client_type_id=root_type.id, optional=True)
    db.session.commit()
    copy = db.session.scalar(select(AdditionalParameter).where(
        AdditionalParameter.reseller_id == tree["reseller"].id,
        AdditionalParameter.key == "ogrn"))
    url = f"/additional-parameters/{copy.id}"
    html = tree["panel"].get(url).get_data(as_text=True)
    assert 'id="delegated-note"' in html and 'id="parameter-form"' not in html
    assert tree["panel"].post(url, data={**PARAMETER, "name": "Mine"}).status_code == 422
    assert tree["panel"].post(f"{url}/delete").status_code == 422
    db.session.expire_all()
    assert copy.name == "ОГРН"


def test_groups_create_rename_delete(db, tree):
    panel = tree["panel"]
    default = ensure_default_group(tree["reseller"])
    db.session.commit()
    html = panel.get("/additional-parameter-groups").get_data(as_text=True)
    assert f'id="additional_parameter_groups-{default.id}"' in html
    assert panel.post("/additional-parameter-groups/new", data={"name": ""}).status_code == 422
    assert panel.post("/additional-parameter-groups/new",
                      data={"name": "Microsoft"}).status_code == 302
    group = db.session.scalar(select(AdditionalParameterGroup).where(
        AdditionalParameterGroup.reseller_id == tree["reseller"].id,
        AdditionalParameterGroup.name == "Microsoft"))
    url = f"/additional-parameter-groups/{group.id}"
    assert panel.post(url, data={"name": "Microsoft CSP"}).status_code == 302
    assert panel.post(url, data={"name": ""}).status_code == 422
    db.session.expire_all()
    assert group.name == "Microsoft CSP"
    html = panel.get(f"/additional-parameter-groups/{default.id}").get_data(as_text=True)
    assert 'id="delete-group"' not in html
    assert panel.post(f"/additional-parameter-groups/{default.id}/delete").status_code == 422
    assert panel.post(f"{url}/delete").status_code == 302
    assert db.session.get(AdditionalParameterGroup, group.id) is None
