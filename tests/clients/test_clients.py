"""Clients: creation with an owner, names from the type's template, overrides, additional
parameters (INN), statuses and their transitions (01 §3.1, §4.9–§4.15)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask_babel import force_locale

from portal.clients import hooks
from portal.clients.funds import client_funds, effective_block_threshold, threshold_in_force
from portal.clients.models import AccessLevel, ClientStatus, ParameterTarget
from portal.clients.services import ClientsError
from portal.clients.services.clients import (block_client, create_client, delete_client,
                                             unblock_client, update_client)
from portal.clients.services.parameter_values import parameter_values
from portal.clients.services.users import create_user
from portal.core.audit import events_for
from tests.factories import (VALID_INN_10, VALID_INN_12, make_client, make_client_type,
                             make_reseller, make_root, make_service_rule, make_staff)


@pytest.fixture
def en(db):
    with force_locale("en"):
        yield


@pytest.fixture
def reseller(db, en):
    return make_reseller(make_root())


def _inn_parameter(reseller, client_type, *, optional=False):
    from portal.clients.services.parameters import create_parameter

    return create_parameter(reseller, applies_to="client", client_type_id=client_type.id,
                            name="INN", key="inn", data_type="inn", optional=optional)


def test_a_new_client_is_active_with_exactly_one_owner(reseller):
    client = make_client(reseller, owner_email="Owner@Example.com")
    assert client.status == ClientStatus.ACTIVE
    assert client.postpay_permission.value == "not_checked"
    assert [m.access_level for m in client.memberships] == [AccessLevel.OWNER]
    owner = client.owner
    assert owner.email == "owner@example.com"
    # 01 A-16: the technical and financial contacts start as the owner.
    assert client.technical_contact_id == client.financial_contact_id == owner.id
    assert "clients.client.created" in [e.action for e in events_for(client)]


def test_the_name_follows_the_client_type_template(reseller):
    person = make_client_type(reseller, name_template="ИП %Last_name %first_name %middle_name",
                              legal_form="sole_proprietor")
    client = make_client(reseller, client_type=person, first_name="Иван", last_name="Петров",
                         middle_name="")
    assert client.name == "ИП Петров Иван"
    company = make_client_type(reseller, name_template="%primary_name")
    client = make_client(reseller, client_type=company, primary_name="  Рога и копыта ")
    assert client.name == "Рога и копыта"


@pytest.mark.parametrize("field,kwargs", [
    ("primary_name", {"primary_name": ""}),
    ("service_rule_id", {"service_rule_id": 999999}),
    ("block_threshold", {"block_threshold": "-1"}),
    ("credit_limit", {"credit_limit": "-0.01"}),
    ("credit_limit", {"credit_limit": "1.005"}),
    ("country", {"country": "XX"}),
    ("region", {"region": "Республика Крым"}),
    ("signatory_email", {"signatory_email": "not-an-email"}),
    ("owner_email", {"owner": {"email": "", "first_name": "A", "last_name": "B"}}),
])
def test_bad_input_is_refused_with_the_field_named(reseller, field, kwargs):
    client_type = make_client_type(reseller)
    rule = make_service_rule(reseller)
    data = {"client_type_id": client_type.id, "service_rule_id": rule.id,
            "primary_name": "Acme", "owner": {"email": "o@example.com", "first_name": "A",
                                              "last_name": "B"}}
    data.update(kwargs)
    with pytest.raises(ClientsError) as refusal:
        create_client(reseller, **data)
    assert refusal.value.field == field


def test_a_float_amount_is_refused(reseller):
    with pytest.raises(ClientsError) as refusal:
        make_client(reseller, credit_limit=1.5)
    assert refusal.value.field == "credit_limit"


def test_an_existing_email_must_be_chosen_as_the_owner(reseller):
    user = create_user(reseller, email="taken@example.com", first_name="A", last_name="B")
    with pytest.raises(ClientsError) as refusal:
        make_client(reseller, owner_email="TAKEN@example.com")
    assert refusal.value.field == "owner_email" and refusal.value.status == 409
    client = make_client(reseller, owner_user_id=user.id)
    assert client.owner is user


def test_an_owner_from_another_reseller_is_refused(reseller):
    other = make_reseller(make_root())
    stranger = create_user(other, email="x@example.com", first_name="A", last_name="B")
    with pytest.raises(ClientsError) as refusal:
        make_client(reseller, owner_user_id=stranger.id)
    assert refusal.value.field == "owner_user_id"


@pytest.mark.parametrize("legal_form,value,ok", [
    ("organization", VALID_INN_10, True),
    ("organization", VALID_INN_12, False),      # wrong length for an organisation
    ("organization", "7707083894", False),      # wrong check digit
    ("sole_proprietor", VALID_INN_12, True),
    ("sole_proprietor", VALID_INN_10, False),   # 12 digits for a sole proprietor
    ("individual", "500100732258", False),
    ("individual", "50010073225x", False),
])
def test_the_inn_is_checked_for_the_client_type(reseller, legal_form, value, ok):
    template = "%primary_name" if legal_form == "organization" else "%last_name %first_name"
    client_type = make_client_type(reseller, legal_form=legal_form, name_template=template)
    _inn_parameter(reseller, client_type)
    if ok:
        client = make_client(reseller, client_type=client_type, parameters={"inn": value})
        parameter_id = next(iter(parameter_values(client, ParameterTarget.CLIENT)))
        assert parameter_values(client, ParameterTarget.CLIENT)[parameter_id] == value
    else:
        with pytest.raises(ClientsError) as refusal:
            make_client(reseller, client_type=client_type, parameters={"inn": value})
        assert refusal.value.field == "parameters.inn"


def test_a_required_additional_parameter_must_be_given(reseller):
    client_type = make_client_type(reseller)
    _inn_parameter(reseller, client_type)
    with pytest.raises(ClientsError) as refusal:
        make_client(reseller, client_type=client_type)
    assert refusal.value.field == "parameters.inn"
    assert "INN" in str(refusal.value)
    with pytest.raises(ClientsError) as refusal:
        make_client(reseller, client_type=client_type, parameters={"unknown": "1"})
    assert refusal.value.field == "parameters.unknown"


def test_update_recomputes_the_name_and_keeps_overrides_apart(reseller):
    rule = make_service_rule(reseller, block_threshold="100.00", credit_limit="500.00",
                             allow_negative_balance_payment=True)
    client = make_client(reseller, service_rule=rule, primary_name="Old")
    assert effective_block_threshold(client) == Decimal("100.00")
    update_client(client, primary_name="New Name", block_threshold="50", city="Минск")
    assert client.name == "New Name" and client.city == "Минск"
    funds = client_funds(client, currency="RUB")
    assert (funds.balance, funds.blocked, funds.block_threshold) == (0, 0, Decimal("50.00"))
    # D10: available = balance − blocked + T when the rule lets the balance go negative.
    assert funds.available == Decimal("50.00") and funds.credit_limit == Decimal("500.00")
    actions = [e.action for e in events_for(client)]
    assert "clients.client.block_threshold_changed" in actions
    update_client(client, block_threshold=None)
    assert effective_block_threshold(client) == Decimal("100.00")
    with pytest.raises(ClientsError) as refusal:
        update_client(client, city="Севастополь")
    assert refusal.value.field == "city"


def test_the_threshold_is_not_in_force_without_negative_payment(reseller):
    rule = make_service_rule(reseller, block_threshold="100.00")
    client = make_client(reseller, service_rule=rule)
    assert threshold_in_force(client) == 0  # 01 A-5


def test_the_manager_is_a_staff_member_of_the_same_reseller(reseller):
    member = make_staff(reseller)
    client = make_client(reseller, manager_id=member.id)
    assert client.manager is member
    foreign = make_staff(make_reseller(make_root()))
    with pytest.raises(ClientsError) as refusal:
        update_client(client, manager_id=foreign.id)
    assert refusal.value.field == "manager_id"


class _Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, client, **kw):
        self.calls.append((client.id, kw.get("blocked")))


def test_administrative_block_and_unblock_drive_the_subscription_steps(reseller):
    client = make_client(reseller)
    steps, evaluations = _Recorder(), _Recorder()
    hooks.ADMIN_BLOCK_STEPS.append(steps)
    hooks.FINANCIAL_BLOCK_EVALUATORS.append(evaluations)
    try:
        block_client(client)
        assert client.status == ClientStatus.ADMIN_BLOCKED
        with pytest.raises(ClientsError):
            block_client(client)
        unblock_client(client)
        assert client.status == ClientStatus.ACTIVE
    finally:
        hooks.ADMIN_BLOCK_STEPS.remove(steps)
        hooks.FINANCIAL_BLOCK_EVALUATORS.remove(evaluations)
    assert steps.calls == [(client.id, True), (client.id, False)]
    # C5: the financial block is evaluated right after the administrative one is lifted.
    assert evaluations.calls == [(client.id, None)]
    with pytest.raises(ClientsError):
        unblock_client(client)


def test_a_financially_blocked_client_can_be_blocked_administratively(reseller):
    client = make_client(reseller)
    client.status = ClientStatus.FINANCIALLY_BLOCKED
    block_client(client)
    assert client.status == ClientStatus.ADMIN_BLOCKED


def test_delete_is_refused_while_subscriptions_live(reseller):
    client = make_client(reseller)
    live = {"n": 1}

    def counter(c):
        return live["n"] if c.id == client.id else 0

    hooks.LIVE_SUBSCRIPTION_COUNTERS.append(counter)
    try:
        with pytest.raises(ClientsError) as refusal:
            delete_client(client)
        assert refusal.value.status == 409 and "1" in str(refusal.value)
        live["n"] = 0
        delete_client(client)
    finally:
        hooks.LIVE_SUBSCRIPTION_COUNTERS.remove(counter)
    assert client.status == ClientStatus.DELETED and client.deleted_at is not None
    # R-CLD-4: there is no way back, and a deleted client is read-only.
    for action in (block_client, unblock_client, delete_client):
        with pytest.raises(ClientsError):
            action(client)
    with pytest.raises(ClientsError):
        update_client(client, city="X")


def test_the_standard_legal_entity_carries_inn_and_bank_details(reseller):
    """The root's installed types reach the reseller with their INN and bank details."""
    from sqlalchemy import select

    from portal.clients.models import ClientType
    from portal.extensions import db

    legal = db.session.scalar(select(ClientType).where(ClientType.reseller_id == reseller.id,
                                                       ClientType.key == "legal_entity"))
    assert legal.is_delegated and legal.legal_form.value == "organization"
    with pytest.raises(ClientsError) as refusal:
        make_client(reseller, client_type=legal)  # the INN is required for organisations
    assert refusal.value.field == "parameters.inn"
    with pytest.raises(ClientsError) as refusal:
        make_client(reseller, client_type=legal, parameters={"inn": VALID_INN_10, "bik": "12345"})
    assert refusal.value.field == "parameters.bik"
    client = make_client(reseller, client_type=legal, parameters={
        "inn": VALID_INN_10, "bik": "044525225", "settlement_account": "40702810900000000001"})
    assert sorted(v for v in parameter_values(client, ParameterTarget.CLIENT).values()) == [
        "044525225", "40702810900000000001", VALID_INN_10]
