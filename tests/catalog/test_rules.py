"""Provisioning rules and their copies down the reseller tree (05 §4.17, R-PR-1..13, WE-13)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.catalog.models import ProvisioningRule
from portal.catalog.services import (CatalogError, create_provisioning_rule,
                                     delete_provisioning_rule, name_conflicts,
                                     update_provisioning_rule)
from tests.factories import delegate, make_plan, make_reseller, make_root, make_rule


def _tree():
    root = make_root()
    child = make_reseller(root, name="Child")
    grandchild = make_reseller(child, name="Grandchild")
    return root, child, grandchild


def rules_of(db, reseller) -> list[ProvisioningRule]:
    return db.session.scalars(select(ProvisioningRule).where(
        ProvisioningRule.reseller_id == reseller.id).order_by(ProvisioningRule.id)).all()


def count_rules(db) -> int:
    return db.session.scalar(select(func.count(ProvisioningRule.id)))


def copy_at(db, rule, reseller) -> ProvisioningRule | None:
    """The delegated copy of rule at reseller, found through the chain of parents."""
    for candidate in rules_of(db, reseller):
        ancestor = candidate
        while ancestor is not None:
            if ancestor.id == rule.id:
                return candidate
            ancestor = ancestor.parent
    return None


# --- R-PR-1: a rule reaches every reseller below, now and later -----------------------------

def test_rule_is_copied_read_only_to_every_level_below(db):
    root, child, grandchild = _tree()
    rule = make_rule(root, name="ESET", key="eset", financial_day=1,
                     unpaid_stop_after_days=7, block_period_days=7,
                     promised_payment_allowed=True, client_types=["legal_entity"])
    child_copy = copy_at(db, rule, child)
    grand_copy = copy_at(db, rule, grandchild)
    assert child_copy.parent_id == rule.id and grand_copy.parent_id == child_copy.id
    for copy in (child_copy, grand_copy):
        assert copy.is_delegated
        assert (copy.name, copy.key, copy.financial_day, copy.unpaid_stop_after_days,
                copy.block_period_days, copy.promised_payment_allowed, copy.client_types) == (
            "ESET", "eset", 1, 7, 7, True, ["legal_entity"])
    assert not rule.is_delegated


def test_reseller_created_later_gets_every_rule_of_its_parent(db):
    root, child, _grandchild = _tree()
    upstream = make_rule(root, name="G Suite", key="gsuite")
    own = make_rule(child, name="Child's own", key="child_own")
    late = make_reseller(child, name="Late")
    copies = {r.key: r for r in rules_of(db, late)}
    assert copies["gsuite"].parent_id == copy_at(db, upstream, child).id
    assert copies["child_own"].parent_id == own.id
    assert all(r.is_delegated for r in copies.values())
    # A reseller beside it, under the root, gets the root's rule only.
    sibling = make_reseller(root, name="Sibling")
    assert [r.key for r in rules_of(db, sibling)] == ["gsuite"]


def test_rule_made_below_never_reaches_upstream(db):
    root, child, grandchild = _tree()
    make_rule(child, name="Mid", key="mid")
    assert [r.key for r in rules_of(db, root)] == []
    assert [r.key for r in rules_of(db, grandchild)] == ["mid"]


# --- R-PR-2..5: keys ------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["Eset", "eset-1", "есет", "", "e set"])
def test_key_is_lowercase_latin_digits_underscore(db, key):
    root = make_root()
    before = count_rules(db)
    with pytest.raises(CatalogError) as refused:
        create_provisioning_rule(root, name="X", key=key, financial_day=1)
    assert refused.value.field == "key"
    assert count_rules(db) == before


def test_upstream_create_refuses_a_key_used_anywhere_below(db):
    """R-PR-3: the grandchild's own rule "azure" blocks the root's new "azure"."""
    root, _child, grandchild = _tree()
    make_rule(grandchild, name="Grandchild Azure", key="azure")
    before = count_rules(db)
    with pytest.raises(CatalogError) as refused:
        make_rule(root, name="Microsoft Azure", key="azure")
    assert refused.value.field == "key" and "azure" in str(refused.value)
    assert count_rules(db) == before


def test_key_is_unique_within_the_reseller(db):
    root = make_root()
    make_rule(root, name="First", key="first")
    with pytest.raises(CatalogError) as refused:
        make_rule(root, name="Second", key="first")
    assert refused.value.field == "key"


def test_upstream_key_change_checks_below_and_renames_every_copy(db):
    """R-PR-4: the new key may not be one of a downstream rule; its own copies do not count."""
    root, child, grandchild = _tree()
    rule = make_rule(root, name="CSP", key="csp")
    make_rule(grandchild, name="Local", key="local")
    with pytest.raises(CatalogError) as refused:
        update_provisioning_rule(rule, key="local")
    assert refused.value.field == "key"
    db.session.expire_all()
    assert rule.key == "csp" and copy_at(db, rule, grandchild).key == "csp"

    update_provisioning_rule(rule, key="csp_21", financial_day=21)
    db.session.expire_all()
    for reseller in (child, grandchild):
        copy = copy_at(db, rule, reseller)
        assert (copy.key, copy.financial_day) == ("csp_21", 21)


def test_downstream_own_rule_may_not_take_a_delegated_key(db):
    """R-PR-5: at the child, its own rule cannot be renamed to the key of a delegated one."""
    root, child, _grandchild = _tree()
    make_rule(root, name="Azure", key="azure")
    own = make_rule(child, name="Own", key="own")
    with pytest.raises(CatalogError) as refused:
        update_provisioning_rule(own, key="azure")
    assert refused.value.field == "key"
    db.session.expire_all()
    assert own.key == "own"


# --- R-PR-7, R-PR-8 (WE-13): financial day and renewal points -------------------------------

@pytest.mark.parametrize("day", [0, 29, 31, -1])
def test_financial_day_outside_1_to_28_is_refused(db, day):
    root = make_root()
    before = count_rules(db)
    with pytest.raises(CatalogError) as refused:
        make_rule(root, financial_day=day)
    assert refused.value.field == "financial_day"
    assert count_rules(db) == before


@pytest.mark.parametrize("day", [1, 28])
def test_financial_day_1_and_28_are_accepted(db, day):
    assert make_rule(make_root(), financial_day=day).financial_day == day


def test_financial_day_29_is_refused_on_edit_too(db):
    rule = make_rule(make_root(), financial_day=5)
    with pytest.raises(CatalogError):
        update_provisioning_rule(rule, financial_day=29)
    db.session.expire_all()
    assert rule.financial_day == 5


@pytest.mark.parametrize(("manual", "auto", "valid"), [
    (-1, 5, True),   # −1: renewal always available, the check is skipped
    (0, 0, True),    # never renewed by hand; the renewal order comes on the expiry day
    (3, 5, False),   # manual before automatic: refused
    (10, 5, True),   # E = 31.03: Renew from 21.03, renewal order on 26.03
    (5, 5, True),
    (-2, 0, False),
])
def test_we13_renewal_points(db, manual, auto, valid):
    root = make_root()
    if valid:
        rule = make_rule(root, manual_renewal_point_days=manual, auto_renewal_point_days=auto)
        assert (rule.manual_renewal_point_days, rule.auto_renewal_point_days) == (manual, auto)
    else:
        with pytest.raises(CatalogError) as refused:
            make_rule(root, manual_renewal_point_days=manual, auto_renewal_point_days=auto)
        assert refused.value.field == "manual_renewal_point_days"


def test_defaults_are_the_manuals(db):
    rule = make_rule(make_root())
    assert (rule.manual_renewal_point_days, rule.auto_renewal_point_days,
            rule.unpaid_stop_after_days, rule.block_period_days) == (-1, 0, 0, 0)


def test_raising_the_auto_point_above_the_manual_one_is_refused(db):
    rule = make_rule(make_root(), manual_renewal_point_days=10, auto_renewal_point_days=5)
    with pytest.raises(CatalogError):
        update_provisioning_rule(rule, auto_renewal_point_days=11)
    db.session.expire_all()
    assert rule.auto_renewal_point_days == 5


def test_client_types_need_at_least_one_known_type(db):
    root = make_root()
    with pytest.raises(CatalogError) as refused:
        make_rule(root, client_types=[])
    assert refused.value.field == "client_types"
    with pytest.raises(CatalogError):
        make_rule(root, client_types=["martian"])


# --- R-PR-11: a delegated copy is read-only except for adding client types -----------------

def test_delegated_copy_is_read_only_but_may_add_client_types(db):
    root, child, grandchild = _tree()
    rule = make_rule(root, name="Azure", key="azure", financial_day=5,
                     client_types=["legal_entity"])
    copy = copy_at(db, rule, child)
    for change in ({"name": "Mine"}, {"financial_day": 6}, {"key": "mine"},
                   {"client_types": ["individual"]}):
        with pytest.raises(CatalogError):
            update_provisioning_rule(copy, **change)
    db.session.expire_all()
    assert (copy.name, copy.financial_day, copy.client_types) == ("Azure", 5, ["legal_entity"])

    update_provisioning_rule(copy, added_client_types=["individual"])
    assert copy.effective_client_types == ["legal_entity", "individual"]
    # Upstream changes keep flowing; the child's addition stays its own.
    update_provisioning_rule(rule, client_types=["legal_entity", "sole_proprietor"])
    db.session.expire_all()
    assert copy.client_types == ["sole_proprietor", "legal_entity"]
    assert set(copy.effective_client_types) == {"legal_entity", "sole_proprietor", "individual"}
    # The grandchild's copy got the upstream change but not the child's own addition.
    assert set(copy_at(db, rule, grandchild).effective_client_types) == {
        "legal_entity", "sole_proprietor"}


def test_delegated_copy_cannot_be_deleted_by_its_reseller(db):
    root, child, _grandchild = _tree()
    rule = make_rule(root)
    with pytest.raises(CatalogError):
        delete_provisioning_rule(copy_at(db, rule, child))


# --- R-PR-13: deletion ----------------------------------------------------------------------

def test_deleting_an_unused_rule_deletes_its_copies_everywhere(db):
    root, child, grandchild = _tree()
    rule = make_rule(root, key="gone")
    keep = make_rule(root, key="kept")
    delete_provisioning_rule(rule)
    for reseller in (root, child, grandchild):
        assert [r.key for r in rules_of(db, reseller)] == ["kept"]
    assert keep.id


def test_rule_used_by_a_plan_cannot_be_deleted(db):
    root = make_root()
    rule = make_rule(root, key="used")
    make_plan(root, rule=rule)
    with pytest.raises(CatalogError):
        delete_provisioning_rule(rule)
    assert [r.key for r in rules_of(db, root)] == ["used"]


def test_rule_used_only_by_a_plan_below_cannot_be_deleted_upstream(db):
    """The child's plan uses the child's copy: the root's rule and its copies stay."""
    root, child, _grandchild = _tree()
    rule = make_rule(root, key="used_below")
    make_plan(child, rule=copy_at(db, rule, child))
    with pytest.raises(CatalogError):
        delete_provisioning_rule(rule)
    assert copy_at(db, rule, child) is not None
    assert [r.key for r in rules_of(db, root)] == ["used_below"]


def test_delegated_plan_uses_the_childs_copy_of_the_rule(db):
    root, child, _grandchild = _tree()
    rule = make_rule(root, key="delegated_use")
    child_plan = delegate(make_plan(root, rule=rule), child)
    assert child_plan.provisioning_rule_id == copy_at(db, rule, child).id


# --- R-PR-12: names -------------------------------------------------------------------------

def test_name_conflict_with_a_later_delegated_rule_is_listed(db):
    root, child, _grandchild = _tree()
    own = make_rule(child, name="Microsoft Azure", key="child_azure")
    unrelated = make_rule(child, name="Other", key="other")
    assert name_conflicts(child) == []
    make_rule(root, name="Microsoft Azure", key="azure")  # allowed: names differ per reseller
    assert [r.id for r in name_conflicts(child)] == [own.id]
    assert unrelated not in name_conflicts(child)
    assert name_conflicts(root) == []
    # Renaming the own rule ends the conflict; renaming it back is refused outright.
    update_provisioning_rule(own, name="Azure (own)")
    assert name_conflicts(child) == []
    with pytest.raises(CatalogError) as refused:
        update_provisioning_rule(own, name="Microsoft Azure")
    assert refused.value.field == "name"


# --- client types are the reseller's own client types, by key (08 §2.1) ---------------------

def test_client_types_are_the_resellers_client_type_keys(db):
    from portal.clients.services.client_types import create_client_type
    from portal.clients.services.setup import install_client_defaults

    root = make_root()
    install_client_defaults(root)
    child = make_reseller(root, name="Child")
    create_client_type(child, name="Government", key="government",
                       name_template="%primary_name")
    # By default a rule is available to every client type of its reseller.
    rule = make_rule(child)
    assert rule.client_types[:4] == ["individual", "sole_proprietor", "legal_entity",
                                     "legal_entity_no_vat"]
    assert "government" in rule.client_types
    assert make_rule(child, client_types=["government"]).client_types == ["government"]
    # The root has no "government" type: its rules cannot name it.
    with pytest.raises(CatalogError) as refused:
        make_rule(root, client_types=["government"])
    assert refused.value.field == "client_types"


def test_delegated_copy_may_add_the_childs_own_client_type(db):
    from portal.clients.services.client_types import create_client_type
    from portal.clients.services.setup import install_client_defaults

    root = make_root()
    install_client_defaults(root)
    child = make_reseller(root, name="Child")
    create_client_type(child, name="Government", key="government",
                       name_template="%primary_name")
    rule = make_rule(root, client_types=["legal_entity"])
    copy = copy_at(db, rule, child)
    update_provisioning_rule(copy, added_client_types=["government"])
    assert copy.effective_client_types == ["legal_entity", "government"]
    with pytest.raises(CatalogError) as refused:
        update_provisioning_rule(copy, added_client_types=["martian"])
    assert refused.value.field == "added_client_types"
