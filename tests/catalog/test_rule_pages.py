"""Panel pages of provisioning rules (05 §5.1.10): list, create, edit, delegated copies,
the name-conflict warning (R-PR-12) and deletion (R-PR-13)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.catalog.models import ProvisioningRule
from tests.factories import Panel, make_plan, make_reseller, make_root, make_rule, make_staff

GOOD = {"name": "ESET NOD32 Smart Security Business Edition", "key": "eset",
        "financial_day": "1", "promised_payment_allowed": "y",
        "manual_renewal_point_days": "-1", "auto_renewal_point_days": "0",
        "unpaid_stop_after_days": "7", "block_period_days": "7",
        "client_types": ["legal_entity", "sole_proprietor"]}


def rules_of(db, reseller):
    return db.session.scalars(select(ProvisioningRule).where(
        ProvisioningRule.reseller_id == reseller.id).order_by(ProvisioningRule.id)).all()


def count_rules(db) -> int:
    return db.session.scalar(select(func.count(ProvisioningRule.id)))


def text_of_row(html: str, row_id: str) -> str:
    match = re.search(rf'<tr id="{row_id}">(.*?)</tr>', html, re.S)
    assert match, f"no row {row_id}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def field_error(html: str, name: str) -> bool:
    return re.search(rf'id="field-{name}">.*?class="error"', html, re.S) is not None


@pytest.fixture
def tree(app, db):
    root = make_root()
    reseller = make_reseller(root, name="Distributor")
    child = make_reseller(reseller, name="Reseller below")
    admin = make_staff(reseller)
    return {"root": root, "reseller": reseller, "child": child,
            "panel": Panel(app, reseller, admin)}


def test_create_page_offers_the_manuals_defaults(db, tree):
    html = tree["panel"].get("/provisioning-rules/new").get_data(as_text=True)
    assert re.search(r'id="manual_renewal_point_days"[^>]*value="-1"', html)
    assert re.search(r'id="auto_renewal_point_days"[^>]*value="0"', html)
    for key in ("individual", "sole_proprietor", "legal_entity"):
        assert f'name="client_types" value="{key}"' in html


def test_created_rule_is_listed_and_copied_below(db, tree):
    panel = tree["panel"]
    response = panel.post("/provisioning-rules/new", data=GOOD)
    assert response.status_code == 302
    [rule] = rules_of(db, tree["reseller"])
    assert response.headers["Location"].endswith(f"/provisioning-rules/{rule.id}")
    assert (rule.financial_day, rule.unpaid_stop_after_days, rule.block_period_days,
            rule.promised_payment_allowed, rule.manual_renewal_point_days,
            rule.auto_renewal_point_days, rule.client_types) == (
        1, 7, 7, True, -1, 0, ["sole_proprietor", "legal_entity"])
    [copy] = rules_of(db, tree["child"])
    assert copy.parent_id == rule.id and copy.is_delegated and copy.key == "eset"

    html = panel.get("/provisioning-rules").get_data(as_text=True)
    # ID, name, stop after, block period, promised payments, financial day, delegated, key
    assert text_of_row(html, f"provisioning_rules-{rule.id}") == (
        f"{rule.id} ESET NOD32 Smart Security Business Edition 7 7 Да 1 Нет eset")
    assert 'id="rule-name-conflicts"' not in html


@pytest.mark.parametrize(("change", "field"), [
    ({"financial_day": "29"}, "financial_day"),
    ({"financial_day": "0"}, "financial_day"),
    ({"financial_day": ""}, "financial_day"),
    ({"manual_renewal_point_days": "3", "auto_renewal_point_days": "5"},
     "manual_renewal_point_days"),
    ({"key": "ESET-1"}, "key"),
    ({"name": ""}, "name"),
    ({"client_types": []}, "client_types"),
    ({"block_period_days": "abc"}, "block_period_days"),
])
def test_bad_rule_is_refused_next_to_its_field(db, tree, change, field):
    before = count_rules(db)
    response = tree["panel"].post("/provisioning-rules/new", data={**GOOD, **change})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), field)
    assert count_rules(db) == before


def test_key_used_by_a_reseller_below_is_refused(db, tree):
    """R-PR-3: the child's own rule "azure" blocks the distributor's new "azure"."""
    make_rule(tree["child"], name="Child Azure", key="azure")
    db.session.commit()
    before = count_rules(db)
    response = tree["panel"].post("/provisioning-rules/new", data={**GOOD, "key": "azure"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert field_error(html, "key") and "azure" in html
    assert count_rules(db) == before


def test_own_rule_edit_reaches_the_copies(db, tree):
    rule = make_rule(tree["reseller"], name="G Suite", key="gsuite")
    db.session.commit()
    response = tree["panel"].post(f"/provisioning-rules/{rule.id}", data={
        **GOOD, "name": "G Suite", "key": "gsuite", "financial_day": "21",
        "client_types": ["individual"]})
    assert response.status_code == 302
    db.session.expire_all()
    [copy] = rules_of(db, tree["child"])
    assert (rule.financial_day, copy.financial_day, copy.client_types) == (21, 21, ["individual"])
    html = tree["panel"].get(f"/provisioning-rules/{rule.id}").get_data(as_text=True)
    assert "catalog.provisioning_rule.updated" in html


def test_delegated_rule_is_read_only_except_adding_client_types(app, db, tree):
    root, reseller = tree["root"], tree["reseller"]
    upstream = make_rule(root, name="Microsoft Azure", key="azure", financial_day=5,
                         block_period_days=90, client_types=["legal_entity"])
    copy = next(r for r in rules_of(db, reseller) if r.parent_id == upstream.id)
    db.session.commit()
    panel = tree["panel"]
    html = panel.get(f"/provisioning-rules/{copy.id}").get_data(as_text=True)
    assert 'id="delegated-note"' in html and 'id="delete-rule"' not in html
    assert 'name="name"' not in html and 'name="financial_day"' not in html
    assert re.search(r'<input type="checkbox" checked disabled>', html)
    assert 'name="added_client_types" value="individual"' in html

    response = panel.post(f"/provisioning-rules/{copy.id}", data={
        "added_client_types": ["individual"], "name": "Mine", "financial_day": "9"})
    assert response.status_code == 302
    db.session.expire_all()
    assert (copy.name, copy.financial_day, copy.client_types, copy.added_client_types) == (
        "Microsoft Azure", 5, ["legal_entity"], ["individual"])
    assert copy.effective_client_types == ["legal_entity", "individual"]

    response = panel.post(f"/provisioning-rules/{copy.id}", data={
        "added_client_types": ["martian"]})
    assert response.status_code == 422
    db.session.expire_all()
    assert copy.added_client_types == ["individual"]
    # Its reseller cannot delete it either.
    assert panel.post(f"/provisioning-rules/{copy.id}/delete").status_code == 422
    assert db.session.get(ProvisioningRule, copy.id) is not None


def test_name_conflict_warning_links_the_own_rules_to_rename(db, tree):
    """R-PR-12: the provider delegated "Microsoft Azure" while we already had one."""
    own = make_rule(tree["reseller"], name="Microsoft Azure", key="our_azure")
    make_rule(tree["reseller"], name="Unrelated", key="unrelated")
    make_rule(tree["root"], name="Microsoft Azure", key="azure")
    db.session.commit()
    html = tree["panel"].get("/provisioning-rules").get_data(as_text=True)
    warning = re.search(r'id="rule-name-conflicts">(.*?)</div>', html, re.S).group(1)
    assert f'href="/provisioning-rules/{own.id}">Microsoft Azure</a>' in warning
    assert "Unrelated" not in warning
    # Renaming the own rule ends the warning.
    response = tree["panel"].post(f"/provisioning-rules/{own.id}", data={
        **GOOD, "name": "Microsoft Azure (own)", "key": "our_azure"})
    assert response.status_code == 302
    html = tree["panel"].get("/provisioning-rules").get_data(as_text=True)
    assert 'id="rule-name-conflicts"' not in html


def test_rule_used_by_a_plan_is_kept_and_an_unused_one_goes_with_its_copies(db, tree):
    panel = tree["panel"]
    used = make_rule(tree["reseller"], name="Used", key="used")
    make_plan(tree["reseller"], rule=used)
    unused = make_rule(tree["reseller"], name="Unused", key="unused")
    db.session.commit()
    response = panel.post(f"/provisioning-rules/{used.id}/delete")
    assert response.status_code == 422
    refusal = re.search(r'class="flash flash-error"[^>]*>([^<]*)<', response.get_data(as_text=True))
    assert refusal and re.search(r"\b1\b", refusal.group(1))  # "… used by 1 plan(s) …"
    assert db.session.get(ProvisioningRule, used.id) is not None

    response = panel.post(f"/provisioning-rules/{unused.id}/delete")
    assert response.status_code == 302
    assert [r.key for r in rules_of(db, tree["reseller"])] == ["used"]
    assert [r.key for r in rules_of(db, tree["child"])] == ["used"]


def test_rules_of_other_resellers_answer_404(db, tree):
    theirs = make_rule(make_reseller(tree["root"], name="Sibling"), key="sibling_rule")
    upstream_only = make_rule(tree["root"], key="root_rule")
    db.session.commit()
    panel = tree["panel"]
    root_rule_id = upstream_only.id  # the root's own row, not the distributor's copy
    for rule_id in (theirs.id, root_rule_id):
        assert panel.get(f"/provisioning-rules/{rule_id}").status_code == 404
        assert panel.post(f"/provisioning-rules/{rule_id}/delete").status_code == 404
    assert db.session.get(ProvisioningRule, theirs.id) is not None


def test_sales_manager_cannot_see_or_change_rules(app, db, tree):
    seller = make_staff(tree["reseller"], role=Role.SALES_MANAGER)
    rule = make_rule(tree["reseller"])
    db.session.commit()
    panel = Panel(app, tree["reseller"], seller)
    assert panel.get("/provisioning-rules").status_code == 403
    assert panel.get(f"/provisioning-rules/{rule.id}").status_code == 403
    assert panel.post("/provisioning-rules/new", data=GOOD).status_code == 403
    assert panel.post(f"/provisioning-rules/{rule.id}/delete").status_code == 403
    assert db.session.get(ProvisioningRule, rule.id) is not None


def test_view_only_member_sees_no_buttons(app, db, tree, monkeypatch):
    from portal.accounts import auth

    real = auth.has_permission
    monkeypatch.setattr(auth, "has_permission", lambda role, permission, at_root: (
        not permission.endswith(".manage") and real(role, permission, at_root=at_root)))
    rule = make_rule(tree["reseller"], name="Look", key="look")
    db.session.commit()
    panel = tree["panel"]
    assert 'id="list-create"' not in panel.get("/provisioning-rules").get_data(as_text=True)
    html = panel.get(f"/provisioning-rules/{rule.id}").get_data(as_text=True)
    assert 'id="rule-form"' not in html and 'id="delete-rule"' not in html
    assert 'id="rule-facts"' in html
    assert panel.post(f"/provisioning-rules/{rule.id}", data=GOOD).status_code == 403


def test_form_offers_the_resellers_client_types(db, tree):
    from portal.clients.services.client_types import create_client_type
    from portal.clients.services.setup import install_client_defaults

    install_client_defaults(tree["root"])
    create_client_type(tree["reseller"], name="Government", key="government",
                       name_template="%primary_name")
    db.session.commit()
    html = tree["panel"].get("/provisioning-rules/new").get_data(as_text=True)
    assert re.search(r'name="client_types" value="government" checked', html)
    response = tree["panel"].post("/provisioning-rules/new", data={
        **GOOD, "client_types": ["government"]})
    assert response.status_code == 302
    [rule] = rules_of(db, tree["reseller"])
    assert rule.client_types == ["government"]
    html = tree["panel"].get(f"/provisioning-rules/{rule.id}").get_data(as_text=True)
    assert re.search(r'name="client_types" value="government" checked', html)
