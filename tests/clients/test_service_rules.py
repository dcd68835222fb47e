"""Service rules (08 §2.2, §3.2, R-SR-1..18): defaults, validation per field, the default
flag, the deletion guard and what a new reseller receives."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.clients.models import Client, PaymentModel, ServiceRule, StopMethod
from portal.clients.services import ClientsError
from portal.clients.services.service_rules import (create_service_rule, default_service_rule,
                                                   delete_service_rule, update_service_rule)
from portal.clients.services.setup import install_client_defaults
from portal.core.models import AuditEvent
from portal.tenancy.models import SettingsMode
from tests.factories import make_reseller, make_root


def rules_of(db, reseller):
    return db.session.scalars(select(ServiceRule).where(
        ServiceRule.reseller_id == reseller.id).order_by(ServiceRule.id)).all()


@pytest.fixture
def root(app, db):
    root = make_root()
    install_client_defaults(root)
    return root


@pytest.fixture
def reseller(root):
    return make_reseller(root, name="Distributor")


def refused(call, field):
    with pytest.raises(ClientsError) as info:
        call()
    assert info.value.field == field, (info.value.field, str(info.value))
    return info.value


def test_rule_gets_the_manuals_defaults(db, reseller):
    rule = create_service_rule(reseller, name="PrepayAccClass", key="prepay_acc")
    assert (rule.payment_model, rule.stop_method, rule.delete_method, rule.color) == (
        PaymentModel.PREPAY, StopMethod.AUTO, StopMethod.AUTO, "grey")
    assert (rule.block_threshold, rule.credit_limit, rule.negative_balance_days,
            rule.cancel_unpaid_order_after_days, rule.allow_negative_balance_payment) == (
        Decimal("0"), Decimal("0"), 0, 1, False)


def test_ex10_rule_with_unlimited_negative_period(db, reseller):
    """EX-10: "Rule -1", key 0326, light blue, prepay, threshold 100,0, period −1."""
    rule = create_service_rule(
        reseller, name="Rule -1", key="0326", color="light_blue", payment_model="prepay",
        block_threshold="100,0", negative_balance_days=-1, cancel_unpaid_order_after_days=1)
    assert (rule.block_threshold, rule.negative_balance_days, rule.color) == (
        Decimal("100.00"), -1, "light_blue")
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.subject_type == "ServiceRule", AuditEvent.subject_id == rule.id)).all()
    assert [e.action for e in events] == ["clients.service_rule.created"]


def test_postpay_rule_takes_decimal_strings(db, reseller):
    rule = create_service_rule(reseller, name="POSTPAY", key="postpay", payment_model="postpay",
                               credit_limit="10000.00", payment_grace_days=3,
                               promised_payment_limit=Decimal("500.5"), promised_payment_days=7,
                               allow_negative_balance_payment=True, stop_method="manual")
    assert (rule.payment_model, rule.credit_limit, rule.payment_grace_days,
            rule.promised_payment_limit, rule.stop_method) == (
        PaymentModel.POSTPAY, Decimal("10000.00"), 3, Decimal("500.50"), StopMethod.MANUAL)


@pytest.mark.parametrize(("change", "field"), [
    ({"name": ""}, "name"),
    ({"key": ""}, "key"),
    ({"key": "Has Space"}, "key"),
    ({"color": "pink"}, "color"),
    ({"payment_model": "barter"}, "payment_model"),
    ({"stop_method": "sometimes"}, "stop_method"),
    ({"delete_method": ""}, "delete_method"),
    ({"credit_limit": "-1"}, "credit_limit"),
    ({"credit_limit": -5}, "credit_limit"),
    ({"credit_limit": 1.5}, "credit_limit"),
    ({"credit_limit": "1.005"}, "credit_limit"),
    ({"credit_limit": "abc"}, "credit_limit"),
    ({"credit_limit": "NaN"}, "credit_limit"),
    ({"credit_limit": "1e15"}, "credit_limit"),
    ({"block_threshold": "-0.01"}, "block_threshold"),
    ({"promised_payment_limit": None}, "promised_payment_limit"),
    ({"negative_balance_days": -2}, "negative_balance_days"),
    ({"negative_balance_days": "3"}, "negative_balance_days"),
    ({"cancel_unpaid_order_after_days": 0}, "cancel_unpaid_order_after_days"),
    ({"payment_grace_days": -1}, "payment_grace_days"),
    ({"promised_payment_days": 2**40}, "promised_payment_days"),
    ({"is_default": "yes"}, "is_default"),
])
def test_bad_rule_is_refused_with_the_field_named(db, reseller, change, field):
    before = len(rules_of(db, reseller))
    refused(lambda: create_service_rule(reseller, **{"name": "R", "key": "r", **change}), field)
    assert len(rules_of(db, reseller)) == before


def test_key_is_unique_per_reseller(db, root, reseller):
    create_service_rule(reseller, name="VIP", key="vip")
    refused(lambda: create_service_rule(reseller, name="VIP 2", key="vip"), "key")
    other = make_reseller(root)
    assert create_service_rule(other, name="VIP", key="vip").key == "vip"
    second = create_service_rule(reseller, name="Gold", key="gold")
    refused(lambda: update_service_rule(second, key="vip"), "key")


def test_one_default_at_most(db, reseller):
    """08 §3.2: ticking B clears A; unticking leaves the reseller with none (A-7)."""
    a = create_service_rule(reseller, name="A", key="a", is_default=True)
    b = create_service_rule(reseller, name="B", key="b")
    update_service_rule(b, is_default=True)
    assert [r.key for r in rules_of(db, reseller) if r.is_default] == ["b"]
    assert default_service_rule(reseller) is b
    update_service_rule(b, is_default=False)
    assert default_service_rule(reseller) is None
    assert not a.is_default


def test_update_is_logged_with_its_changes(db, reseller):
    rule = create_service_rule(reseller, name="Rule", key="rule")
    update_service_rule(rule, credit_limit="250", name="Rule")
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.subject_type == "ServiceRule", AuditEvent.subject_id == rule.id,
        AuditEvent.action == "clients.service_rule.updated")).one()
    assert event.changes == {"credit_limit": ["0.00", "250.00"]}


def test_rule_with_clients_cannot_be_deleted(db, root, reseller):
    """R-SR-16: a client of any status keeps the rule."""
    rule = create_service_rule(reseller, name="Used", key="used")
    unused = create_service_rule(reseller, name="Unused", key="unused")
    client_type = next(t for t in _types(db, reseller))
    db.session.add(Client(reseller_id=reseller.id, client_type_id=client_type.id,
                          service_rule_id=rule.id, name="Deleted one", status="deleted"))
    db.session.flush()
    with pytest.raises(ClientsError) as info:
        delete_service_rule(rule)
    assert info.value.code == "in_use" and info.value.status == 409
    delete_service_rule(unused)
    assert [r.key for r in rules_of(db, reseller) if r.key in ("used", "unused")] == ["used"]


def _types(db, reseller):
    from portal.clients.models import ClientType

    return db.session.scalars(select(ClientType).where(ClientType.reseller_id == reseller.id))


def test_copy_provider_copies_the_rules_never_the_default(db, root):
    vip = create_service_rule(root, name="VIP", key="vip", credit_limit="99.00")
    child = make_reseller(root, settings_mode=SettingsMode.COPY_PROVIDER)
    copies = {r.key: r for r in rules_of(db, child)}
    assert set(copies) == {r.key for r in rules_of(db, root)}
    assert copies["vip"].credit_limit == Decimal("99.00") and copies["vip"].id != vip.id
    assert not any(r.is_default for r in copies.values())
    # Independent afterwards (R-SR-18).
    update_service_rule(vip, credit_limit="1")
    assert copies["vip"].credit_limit == Decimal("99.00")


def test_copy_standard_installs_the_standard_rule(db, root):
    create_service_rule(root, name="VIP", key="vip")
    child = make_reseller(root, settings_mode=SettingsMode.COPY_STANDARD)
    [rule] = rules_of(db, child)
    assert (rule.key, rule.name, rule.payment_model, rule.block_threshold, rule.is_default) == (
        "default", "Стандартное", PaymentModel.PREPAY, Decimal("0"), True)
