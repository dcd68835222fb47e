"""The plan pages as a member sees them: list, create, the plan page's tabs, copy, and the
delegation of plans from the plan page and the wizard (05 §5.1.6–§5.1.9, 07 §4.5)."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.catalog.models import (BILLING_TYPE_LABELS, Plan, PlanStatus, PlanSwitchTarget,
                                   ProvisioningRule)
from portal.core import jobs
from portal.core.models import Operation
from tests.factories import (Panel, delegate, make_plan, make_plan_category, make_product,
                             make_reseller, make_root, make_rule, make_service, make_staff)

HX = {"HX-Request": "true"}


# -- helpers ---------------------------------------------------------------------------------

def text_of(response) -> str:
    return response.get_data(as_text=True)


def fragment(response, element_id: str) -> str:
    """The element with element_id (to its matching close tag) out of a response's HTML."""
    text = text_of(response)
    match = re.search(r'<(\w+)[^>]*\bid="%s"' % re.escape(element_id), text)
    assert match, f'no id="{element_id}" in the response'
    tag, depth, pos = match.group(1), 0, match.start()
    for token in re.finditer(r"<(/?)%s\b[^>]*>" % tag, text[pos:]):
        depth += -1 if token.group(1) else 1
        if depth == 0:
            return text[pos: pos + token.end()]
    raise AssertionError(f'id="{element_id}" is not closed')


def plain(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def row_ids(response, key: str = "plans") -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="%s-(\d+)"' % key,
                                       fragment(response, f"list-{key}"))]


def cell(response, row_id: str, column: str) -> str:
    row = fragment(response, row_id)
    match = re.search(r'<td data-column="%s">(.*?)</td>' % column, row, re.S)
    assert match, f"no {column} in {row_id}"
    return plain(match.group(1))


def is_disabled(response, name: str) -> bool:
    tag = re.search(r'<(?:input|select|textarea)[^>]*\bname="%s"[^>]*>' % name, text_of(response))
    assert tag, f"no field {name}"
    return " disabled" in tag.group(0)


def operation_path(response) -> str:
    assert response.status_code == 302, text_of(response)[:2000]
    path = urlsplit(response.headers["Location"]).path
    assert re.fullmatch(r"/operations/\d+", path), path
    return path


# -- fixtures --------------------------------------------------------------------------------

@pytest.fixture
def root(db):
    return make_root()


@pytest.fixture
def admin(root):
    return make_staff(root, name="Plan Admin", email="plans.admin@root.test", language="en")


@pytest.fixture
def panel(app, admin):
    return Panel(app, admin.reseller, admin)


@pytest.fixture
def setup(db, root):
    """What a plan needs: a rule, a product, a plan category and a service with resources."""
    rule = make_rule(root, name="Standard rule", key="standard")
    product = make_product(root, name="Cloud Office")
    category = make_plan_category(root, name="Office plans", key="office")
    service = make_service(root, name="Office service",
                           resources=(("Licences", "units"), ("Support", "boolean")))
    # Committed (to the test's outer transaction): a refused form rolls its request back.
    db.session.commit()
    return {"rule": rule, "product": product, "category": category, "service": service}


def _plan(root, setup, **kw):
    return make_plan(root, rule=setup["rule"], product=setup["product"],
                     plan_category=setup["category"], services=[setup["service"]], **kw)


# -- list ------------------------------------------------------------------------------------

def test_plans_list_shows_own_plans_with_filters(app, panel, root, setup, db):
    office = _plan(root, setup, name="Office Basic", sku="OB-1")
    archive = _plan(root, setup, name="Office Archive", billing_type="no_refund")
    archive.status = archive.own_status = PlanStatus.INACTIVE
    child = make_reseller(root, name="Child")
    foreign = make_plan(child, name="Child's own plan")
    db.session.flush()

    page = panel.get("/plans")
    assert page.status_code == 200
    assert sorted(row_ids(page)) == sorted([office.id, archive.id])
    assert foreign.id not in row_ids(page)
    assert cell(page, f"plans-{office.id}", "sku") == "OB-1"
    assert cell(page, f"plans-{office.id}", "billing_type") == "Pre-order"
    assert cell(page, f"plans-{office.id}", "plan_category") == "Office plans"
    assert cell(page, f"plans-{office.id}", "product") == "Cloud Office"
    assert cell(page, f"plans-{office.id}", "status") == "Active"
    assert cell(page, f"plans-{archive.id}", "status") == "Inactive"
    assert 'data-column="currency"' not in fragment(page, "table-plans")  # hidden by default
    toolbar = fragment(page, "plans-toolbar")
    assert "Create plan" in toolbar and "Copy plan" in toolbar and "Delegate plans" in toolbar
    assert 'id="list-create"' not in text_of(page)  # one "create" button, the toolbar's

    assert row_ids(panel.get("/plans?f_status=inactive", headers=HX)) == [archive.id]
    assert row_ids(panel.get("/plans?f_billing_type=no_refund", headers=HX)) == [archive.id]
    assert row_ids(panel.get("/plans?f_delegated=yes", headers=HX)) == []
    assert sorted(row_ids(panel.get("/plans?f_delegated=no", headers=HX))) == sorted(
        [office.id, archive.id])
    assert row_ids(panel.get("/plans?q=archive", headers=HX)) == [archive.id]

    # The child sees its own plan and the delegated copy, marked as delegated.
    copy = delegate(office, child)
    child_panel = Panel(app, child, make_staff(child, language="en"))
    listing = child_panel.get("/plans?f_delegated=yes", headers=HX)
    assert row_ids(listing) == [copy.id]
    assert cell(listing, f"plans-{copy.id}", "is_delegated") == "Yes"


def test_plan_pages_need_the_plans_permission(app, root, setup):
    plan = _plan(root, setup)
    sales = Panel(app, root, make_staff(root, role=Role.SALES_MANAGER))
    assert sales.get("/plans").status_code == 403
    assert sales.get(f"/plans/{plan.id}").status_code == 403
    marketing = Panel(app, root, make_staff(root, role=Role.MARKETING_SPECIALIST))
    assert marketing.get(f"/plans/{plan.id}").status_code == 200


def test_another_resellers_plan_answers_404(app, panel, root, setup):
    child = make_reseller(root, name="Other")
    theirs = make_plan(child, name="Theirs")
    assert panel.get(f"/plans/{theirs.id}").status_code == 404
    assert panel.post(f"/plans/{theirs.id}/deactivate").status_code == 404
    period = theirs.periods[0]
    assert panel.get(f"/plans/{theirs.id}/periods/{period.id}").status_code == 404
    mine = _plan(root, setup)
    # A period of another plan through my plan's URL is not found either.
    assert panel.get(f"/plans/{mine.id}/periods/{period.id}").status_code == 404
    assert theirs.status == PlanStatus.ACTIVE


# -- create ----------------------------------------------------------------------------------

def _create_data(setup, **kw):
    data = {"name": "Office Pro", "sku": "OP-1", "plan_category_id": setup["category"].id,
            "product_id": setup["product"].id, "description": "For teams",
            "published": "y", "billing_type": "preorder",
            "provisioning_rule_id": setup["rule"].id, "currency": "RUB",
            "services": [setup["service"].id]}
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


def test_create_page_names_what_is_missing(panel, root):
    page = panel.get("/plans/new")
    assert page.status_code == 200
    missing = plain(fragment(page, "plan-prerequisites"))
    assert missing == ("Before creating a plan, create a plan category, a product, "
                       "a provisioning rule, a service.")


def test_create_from_a_product_comes_with_the_product_chosen(panel, root, setup):
    def product_select(url):
        page = text_of(panel.get(url))
        return re.search(r'<select[^>]*name="product_id".*?</select>', page, re.S).group(0)

    chosen = product_select(f"/plans/new?product_id={setup['product'].id}")
    assert re.search(r'<option selected value="%d">' % setup["product"].id, chosen) or \
        re.search(r'<option value="%d" selected>' % setup["product"].id, chosen)  # R-PD-5
    assert 'selected value=""' in product_select("/plans/new?product_id=999999")  # not ours


def test_create_plan_then_add_periods_and_resources(panel, root, setup, db):
    page = panel.get("/plans/new")
    assert page.status_code == 200
    assert "plan-prerequisites" not in text_of(page)
    billing = fragment(page, "billing_type")
    for label in BILLING_TYPE_LABELS.values():
        assert html.escape(str(label)) in billing
    # The currency defaults to the reseller's (R-PLN-9).
    assert re.search(r'<option selected value="RUB">|<option value="RUB" selected>',
                     fragment(page, "currency"))

    response = panel.post("/plans/new", data=_create_data(setup))
    assert response.status_code == 302
    plan = db.session.scalar(select(Plan).where(Plan.name == "Office Pro"))
    assert response.headers["Location"].endswith(f"/plans/{plan.id}?tab=periods")
    assert (plan.sku, plan.published, plan.billing_type, plan.currency) == (
        "OP-1", True, "preorder", "RUB")
    assert [s.id for s in plan.services] == [setup["service"].id]
    assert plan.status == PlanStatus.ACTIVE

    # Two periods.
    assert panel.post(f"/plans/{plan.id}/periods/new", data={
        "duration": "1", "duration_unit": "month", "published": "y", "setup_fee": "10.00",
        "monthly_fee": "100.00", "transfer_fee": "10", "renewal_fee": "10,00"}).status_code == 302
    assert panel.post(f"/plans/{plan.id}/periods/new", data={
        "duration": "1", "duration_unit": "year", "monthly_fee": "90"}).status_code == 302
    # Two resources: a units resource and a boolean one.
    licences, support = setup["service"].resources
    choose = panel.get(f"/plans/{plan.id}/resources/new")
    assert "Licences" in fragment(choose, "service_resource_id")
    form = panel.get(f"/plans/{plan.id}/resources/new?service_resource_id={licences.id}")
    assert 'value="Licences"' in fragment(form, "resource-form")
    assert panel.post(f"/plans/{plan.id}/resources/new", data={
        "service_resource_id": licences.id, "name": "Seats", "included": "15",
        "minimum": "20", "limit": "100", "monthly_fee": "5.50", "public": "y",
        "priority": "1"}).status_code == 302
    assert panel.post(f"/plans/{plan.id}/resources/new", data={
        "service_resource_id": support.id, "included": "1", "minimum": "1",
        "monthly_fee": "3"}).status_code == 302

    periods = panel.get(f"/plans/{plan.id}?tab=periods")
    first, second = sorted(plan.periods, key=lambda p: p.id)
    assert cell(periods, f"period-{first.id}", "period") == "1 month"
    assert "100.00" in cell(periods, f"period-{first.id}", "monthly_fee")
    assert "10.00" in cell(periods, f"period-{first.id}", "renewal_fee")
    assert cell(periods, f"period-{second.id}", "period") == "1 year"
    assert first.published and not second.published  # the add form's default is unchecked
    resources = panel.get(f"/plans/{plan.id}?tab=resources")
    seats = next(r for r in plan.resources if r.name == "Seats")
    flag = next(r for r in plan.resources if r.name == "Support")
    assert (seats.included, seats.minimum, seats.limit) == (Decimal(15), Decimal(20),
                                                            Decimal(100))
    assert cell(resources, f"resource-{seats.id}", "minimum") == "20"
    assert "5.50" in cell(resources, f"resource-{seats.id}", "monthly_fee")
    assert cell(resources, f"resource-{flag.id}", "included") == "Yes"
    # Every template resource is on the plan now (R-RS-8).
    assert "resources-all-included" in text_of(resources)


def test_create_plan_refuses_bad_input_and_creates_nothing(panel, root, setup, db):
    child = make_reseller(root, name="Child")
    foreign_product = make_product(child, name="Foreign")
    db.session.commit()
    before = db.session.scalar(select(Plan.id).order_by(Plan.id.desc()))

    no_type = panel.post("/plans/new", data=_create_data(setup, billing_type=""))
    assert no_type.status_code == 422
    assert "Choose a billing type." in fragment(no_type, "field-billing_type")
    no_name = panel.post("/plans/new", data=_create_data(setup, name=""))
    assert no_name.status_code == 422
    assert 'class="error"' in fragment(no_name, "field-name")
    no_service = panel.post("/plans/new", data=_create_data(setup, services=[]))
    assert no_service.status_code == 422
    assert "Choose at least one service." in fragment(no_service, "field-services")
    foreign = panel.post("/plans/new", data=_create_data(setup, product_id=foreign_product.id))
    assert foreign.status_code == 422
    assert 'class="error"' in fragment(foreign, "field-product_id")
    # R-PLN-8: full payment needs a rule with financial day 1.
    rule_15 = make_rule(root, name="Day 15", key="day15", financial_day=15)
    db.session.commit()
    full = panel.post("/plans/new", data=_create_data(setup, billing_type="full_payment",
                                                      provisioning_rule_id=rule_15.id))
    assert full.status_code == 422
    assert "financial day 1" in fragment(full, "field-provisioning_rule_id")
    assert db.session.scalar(select(Plan.id).order_by(Plan.id.desc())) == before


# -- general tab -----------------------------------------------------------------------------

def test_general_tab_edit_and_status(panel, root, setup, db):
    plan = _plan(root, setup, name="Office Std")
    db.session.commit()
    page = panel.get(f"/plans/{plan.id}")
    assert fragment(page, "plan-markup").endswith(">Cannot be set</dd>")  # no cost at the root
    assert not is_disabled(page, "billing_type")

    response = panel.post(f"/plans/{plan.id}", data={
        "name": "Office Standard", "sku": "OS", "plan_category_id": setup["category"].id,
        "product_id": setup["product"].id, "billing_type": "csp_monthly",
        "provisioning_rule_id": setup["rule"].id, "currency": "RUB", "single": "y"})
    assert response.status_code == 302
    assert (plan.name, plan.sku, plan.billing_type, plan.single) == (
        "Office Standard", "OS", "csp_monthly", True)

    bad = panel.post(f"/plans/{plan.id}", data={
        "name": "", "plan_category_id": setup["category"].id, "billing_type": "preorder",
        "product_id": setup["product"].id, "provisioning_rule_id": setup["rule"].id,
        "currency": "XXX"})
    assert bad.status_code == 422
    db.session.expire_all()
    assert plan.name == "Office Standard" and plan.billing_type == "csp_monthly"

    assert panel.post(f"/plans/{plan.id}/deactivate").status_code == 302
    assert plan.status == PlanStatus.INACTIVE
    page = panel.get(f"/plans/{plan.id}")
    assert fragment(page, "plan-status").endswith(">Inactive</dd>")
    assert "plan-activate" in text_of(page) and "plan-deactivate" not in text_of(page)
    assert panel.post(f"/plans/{plan.id}/activate").status_code == 302
    assert plan.status == PlanStatus.ACTIVE


def test_delegated_plan_locks_synchronised_fields(app, root, setup, db):
    plan = _plan(root, setup, name="Office Std", sku="OS")
    child = make_reseller(root, name="Child")
    copy = delegate(plan, child)
    db.session.commit()
    child_panel = Panel(app, child, make_staff(child, language="en"))

    page = child_panel.get(f"/plans/{copy.id}")
    assert "synced-note" in text_of(page)
    for name in ("name", "sku", "billing_type", "currency", "fixed_price",
                 "provisioning_rule_id"):
        assert is_disabled(page, name), name
    assert not is_disabled(page, "description") and not is_disabled(page, "published")
    assert fragment(page, "plan-markup").endswith(">1.00</dd>")
    assert "copy-dialog" not in text_of(page)  # a delegated plan cannot be copied (R-CP-1)

    # What the browser sends: the locked fields are not in the form; the rest is saved.
    ok = child_panel.post(f"/plans/{copy.id}", data={
        "plan_category_id": copy.plan_category_id, "description": "Our words",
        "published": "y"})
    assert ok.status_code == 302
    assert (copy.description, copy.published, copy.name) == ("Our words", True, "Office Std")
    # A forged form that changes a synchronised field is refused with the reason.
    forged = child_panel.post(f"/plans/{copy.id}", data={
        "name": "Renamed", "plan_category_id": copy.plan_category_id})
    assert forged.status_code == 422
    assert "set by the provider" in fragment(forged, "field-name")
    db.session.expire_all()
    assert copy.name == "Office Std"

    # The periods' structure is read-only, the prices are not; a price edit ends the markup.
    period = copy.periods[0]
    edit = child_panel.get(f"/plans/{copy.id}/periods/{period.id}")
    assert is_disabled(edit, "duration") and not is_disabled(edit, "monthly_fee")
    assert child_panel.post(f"/plans/{copy.id}/periods/new").status_code == 302
    assert len(copy.periods) == 1
    saved = child_panel.post(f"/plans/{copy.id}/periods/{period.id}", data={
        "monthly_fee": "120.00", "setup_fee": "0", "transfer_fee": "0", "renewal_fee": "0"})
    assert saved.status_code == 302
    db.session.expire_all()
    assert period.monthly_fee == Decimal("120.00") and period.duration == 1
    assert copy.markup_coefficient is None
    assert fragment(child_panel.get(f"/plans/{copy.id}"), "plan-markup").endswith(
        ">Not set</dd>")
    # Deleting a period of a delegated plan is refused (R-PER-10).
    child_panel.post(f"/plans/{copy.id}/periods/{period.id}/delete")
    db.session.expire_all()
    assert period.deleted_at is None


# -- periods and resources -------------------------------------------------------------------

def test_period_and_resource_edits_refused_with_the_reason(panel, root, setup, db):
    licences, _support = setup["service"].resources
    plan = _plan(root, setup, periods=[
        {"duration": 1, "duration_unit": "month", "monthly_fee": "100.00"},
        {"duration": 1, "duration_unit": "year", "monthly_fee": "90.00"}],
        resources=[{"service_resource_id": licences.id, "included": "0", "minimum": "1",
                    "limit": "10", "monthly_fee": "5"}])
    db.session.commit()
    month, year = plan.periods
    seats = plan.resources[0]

    # WE-3: minimum below included is refused and nothing changes.
    refused = panel.post(f"/plans/{plan.id}/resources/{seats.id}", data={
        "name": seats.name, "included": "15", "minimum": "10", "limit": "100",
        "setup_fee": "0", "overuse_fee": "0", "monthly_fee": "5", "renewal_fee": "0",
        "public": "y", "priority": "0"})
    assert refused.status_code == 422
    assert "Minimum must be greater than or equal to Included" in fragment(
        refused, "field-minimum")
    db.session.expire_all()
    assert (seats.included, seats.minimum) == (Decimal(0), Decimal(1))
    ok = panel.post(f"/plans/{plan.id}/resources/{seats.id}", data={
        "name": seats.name, "included": "15", "minimum": "20", "limit": "100",
        "setup_fee": "0", "overuse_fee": "0", "monthly_fee": "7.25", "renewal_fee": "0",
        "public": "y", "priority": "0"})
    assert ok.status_code == 302
    db.session.expire_all()
    assert (seats.included, seats.minimum, seats.monthly_fee) == (
        Decimal(15), Decimal(20), Decimal("7.25"))

    negative = panel.post(f"/plans/{plan.id}/periods/{month.id}", data={
        "duration": "1", "duration_unit": "month", "published": "y", "setup_fee": "-1",
        "monthly_fee": "100", "transfer_fee": "0", "renewal_fee": "0"})
    assert negative.status_code == 422
    assert "below zero" in fragment(negative, "field-setup_fee")
    words = panel.post(f"/plans/{plan.id}/periods/new", data={
        "duration": "two", "duration_unit": "month"})
    assert words.status_code == 422
    assert 'class="error"' in fragment(words, "field-duration")
    trial = panel.post(f"/plans/{plan.id}/periods/new", data={
        "is_unlimited": "y", "is_trial": "y"})
    assert trial.status_code == 422
    assert "cannot be a trial" in fragment(trial, "field-is_trial")
    db.session.expire_all()
    assert len(plan.periods) == 2

    # Delete a period (the page asks for confirmation first).
    edit = panel.get(f"/plans/{plan.id}/periods/{year.id}")
    assert "confirm(" in fragment(edit, "period-delete")
    assert panel.post(f"/plans/{plan.id}/periods/{year.id}/delete").status_code == 302
    db.session.expire_all()
    assert [p.id for p in plan.periods] == [month.id]
    assert f'id="period-{year.id}"' not in text_of(panel.get(f"/plans/{plan.id}?tab=periods"))
    assert panel.post(f"/plans/{plan.id}/resources/{seats.id}/delete").status_code == 302
    db.session.expire_all()
    assert plan.resources == []


def test_boolean_resource_matrix_through_the_page(panel, root, setup, db):
    _licences, support = setup["service"].resources
    plan = _plan(root, setup)
    db.session.commit()
    form = panel.get(f"/plans/{plan.id}/resources/new?service_resource_id={support.id}")
    assert 'type="checkbox" name="included"' in fragment(form, "field-included")
    assert 'name="overuse_fee"' not in text_of(form)
    # Included without minimum is not a valid configuration (R-RS-5).
    refused = panel.post(f"/plans/{plan.id}/resources/new", data={
        "service_resource_id": support.id, "included": "1", "monthly_fee": "3"})
    assert refused.status_code == 422
    assert "Included" in text_of(refused) and "without minimum" in text_of(refused)
    assert plan.resources == []
    assert panel.post(f"/plans/{plan.id}/resources/new", data={
        "service_resource_id": support.id, "minimum": "1", "monthly_fee": "3"}
    ).status_code == 302
    db.session.expire_all()
    (flag,) = plan.resources
    assert (flag.included, flag.minimum) == (Decimal(0), Decimal(1))
    # Unchecking the minimum on the edit page clears it.
    assert panel.post(f"/plans/{plan.id}/resources/{flag.id}", data={
        "name": "Support", "setup_fee": "0", "monthly_fee": "3", "renewal_fee": "0",
        "public": "y", "priority": "0"}).status_code == 302
    db.session.expire_all()
    assert flag.minimum == Decimal(0)


# -- copy, services, switch targets ----------------------------------------------------------

def test_copy_from_the_plan_page_and_the_copy_page(panel, root, setup, db):
    plan = _plan(root, setup, name="Office Std")
    db.session.commit()
    dialog = fragment(panel.get(f"/plans/{plan.id}"), "copy-form")
    assert 'value="Office Std Copy"' in dialog

    response = panel.post(f"/plans/{plan.id}/copy", data={"name": "Office Std 2",
                                                          "published": "y"})
    copy = db.session.scalar(select(Plan).where(Plan.name == "Office Std 2"))
    assert response.headers["Location"].endswith(f"/plans/{copy.id}?tab=general")
    # Reset prices was unchecked: the prices are kept, the markup is "not set" (R-CP-5).
    assert copy.periods[0].monthly_fee == Decimal("100.00")
    assert copy.published and copy.markup_coefficient is None

    page = panel.get("/plans/copy")
    assert f"{plan.id} · Office Std" in fragment(page, "plan_id")
    response = panel.post("/plans/copy", data={"plan_id": plan.id, "reset_prices": "y"})
    assert response.status_code == 302
    reset = db.session.scalar(select(Plan).where(Plan.name == "Office Std Copy"))
    assert reset.periods[0].monthly_fee == Decimal("0.00")  # R-CP-4
    assert not reset.published
    assert panel.post("/plans/copy", data={"plan_id": ""}).status_code == 422


def test_services_and_switch_targets(panel, root, setup, db):
    plan = _plan(root, setup, name="Office Std")
    upgrade = _plan(root, setup, name="Office Premium")
    other = make_product(root, name="Backup")
    backup = make_plan(root, name="Backup 1 TB", product=other)
    extra = make_service(root, name="Extra service")
    db.session.commit()

    assert panel.post(f"/plans/{plan.id}/services",
                      data={"services": [setup["service"].id, extra.id]}).status_code == 302
    db.session.expire_all()
    assert {s.id for s in plan.services} == {setup["service"].id, extra.id}
    empty = panel.post(f"/plans/{plan.id}/services", data={})
    assert empty.status_code == 422
    assert "at least one service" in fragment(empty, "field-services")

    # The add list is filtered by the plan's product at first (R-SW-4).
    tab = panel.get(f"/plans/{plan.id}?tab=switch")
    candidates = fragment(tab, "switch-candidates")
    assert f'id="candidate-{upgrade.id}"' in candidates
    assert f'id="candidate-{backup.id}"' not in candidates
    assert "switch-warning" in text_of(tab)
    everything = panel.get(f"/plans/{plan.id}?tab=switch&sw_product=")
    assert f'id="candidate-{backup.id}"' in fragment(everything, "switch-candidates")

    assert panel.post(f"/plans/{plan.id}/switch-targets",
                      data={"target_ids": [upgrade.id, backup.id]}).status_code == 302
    targets = set(db.session.scalars(select(PlanSwitchTarget.target_plan_id).where(
        PlanSwitchTarget.plan_id == plan.id)))
    assert targets == {upgrade.id, backup.id}
    tab = panel.get(f"/plans/{plan.id}?tab=switch")
    assert f'id="target-{upgrade.id}"' in fragment(tab, "switch-targets")
    assert panel.post(f"/plans/{plan.id}/switch-targets/remove",
                      data={"target_ids": [backup.id]}).status_code == 302
    targets = set(db.session.scalars(select(PlanSwitchTarget.target_plan_id).where(
        PlanSwitchTarget.plan_id == plan.id)))
    assert targets == {upgrade.id}
    # Another reseller's plan is no valid choice.
    child = make_reseller(root, name="Child")
    theirs = make_plan(child, name="Theirs")
    db.session.commit()
    refused = panel.post(f"/plans/{plan.id}/switch-targets", data={"target_ids": [theirs.id]})
    assert refused.status_code == 422


def test_event_log_tab_lists_the_plan_changes(panel, root, setup, db):
    plan = _plan(root, setup)
    db.session.commit()
    panel.post(f"/plans/{plan.id}/deactivate")
    events = fragment(panel.get(f"/plans/{plan.id}?tab=events"), "event-log")
    assert "catalog.plan.deactivated" in events and "catalog.plan.created" in events


# -- delegation ------------------------------------------------------------------------------

def test_delegate_from_the_plan_page(app, panel, root, setup, db):
    plan = _plan(root, setup, name="Office Std")
    child = make_reseller(root, name="Child A")
    other = make_reseller(root, name="Child B")
    grandchild = make_reseller(child, name="Grandchild")
    db.session.commit()

    tab = panel.get(f"/plans/{plan.id}?tab=delegated")
    form = fragment(tab, "delegate-form")
    assert "Child A" in form and "Child B" in form and "Grandchild" not in form
    assert "not delegated to any reseller" in fragment(tab, "copies")

    refused = panel.post(f"/plans/{plan.id}/delegate", data={"reseller_ids": [grandchild.id]})
    assert refused.status_code == 422  # only one level down (BR-33)
    none = panel.post(f"/plans/{plan.id}/delegate", data={})
    assert none.status_code == 422
    assert "Choose at least one reseller." in fragment(none, "field-reseller_ids")

    operation = operation_path(panel.post(f"/plans/{plan.id}/delegate",
                                          data={"reseller_ids": [child.id]}))
    waiting = panel.get(operation)
    assert "In progress: 0 of 1 delegations." in fragment(waiting, "operation-status")
    assert 'hx-trigger="load delay:1s"' in text_of(waiting)
    with app.app_context():
        jobs.drain()
    done = panel.get(operation, headers=HX)
    copy = db.session.scalar(select(Plan).where(Plan.parent_id == plan.id))
    assert copy.reseller_id == child.id
    assert "Done." in fragment(done, "operation-status")
    assert cell(done, f"delegation-{plan.id}-{child.id}", "child_plan_id") == str(copy.id)
    assert 'hx-trigger="load' not in text_of(done)

    tab = panel.get(f"/plans/{plan.id}?tab=delegated")
    assert cell(tab, f"copy-{copy.id}", "child_plan_id") == str(copy.id)
    assert cell(tab, f"copy-{copy.id}", "markup") == "1.00"
    assert "Child A" in fragment(tab, f"copy-{copy.id}")
    assert "Child A" not in fragment(tab, "delegate-form")  # already delegated there
    assert f'value="{other.id}"' in fragment(tab, "delegate-form")  # Child B still offered


def test_rule_key_clash_blocks_delegation_from_the_page(app, panel, root, setup, db):
    child = make_reseller(root, name="Child A")
    # The child made its own rule "special" before the root had one (the root could not
    # create it through the services any more, R-PR-3): the state 07 BR-34 guards against.
    make_rule(child, name="Child's special", key="special")
    root_rule = ProvisioningRule(reseller_id=root.id, name="Special", key="special",
                                 financial_day=1, client_types=["individual"],
                                 added_client_types=[])
    db.session.add(root_rule)
    db.session.flush()
    plan = make_plan(root, name="Special plan", rule=root_rule, product=setup["product"],
                     plan_category=setup["category"])
    db.session.commit()

    response = panel.post(f"/plans/{plan.id}/delegate", data={"reseller_ids": [child.id]})
    assert response.status_code == 409
    conflict = plain(fragment(response, "delegation-conflict"))
    assert "Child A: Child's special (special)" in conflict
    assert db.session.scalar(select(Operation.id).where(Operation.kind == "delegation")) is None
    assert db.session.scalar(select(Plan).where(Plan.parent_id == plan.id)) is None


def test_delegation_wizard(app, panel, root, setup, db):
    a = make_reseller(root, name="Alpha")
    b = make_reseller(root, name="Beta")
    deep = make_reseller(a, name="Deep")
    both = _plan(root, setup, name="Delegated to both")
    one = _plan(root, setup, name="Delegated to Alpha")
    fresh = _plan(root, setup, name="Fresh")
    off = _plan(root, setup, name="Switched off")
    off.status = off.own_status = PlanStatus.INACTIVE
    delegate(both, a)
    delegate(both, b)
    delegate(one, a)
    db.session.commit()

    step1 = panel.get("/plans/delegate")
    table = fragment(step1, "table-wizard-resellers")
    assert f'id="reseller-{a.id}"' in table and f'id="reseller-{b.id}"' in table
    assert f'id="reseller-{deep.id}"' not in table  # one level below only (BR-39)
    assert 'id="select-all"' in table
    assert f'id="reseller-{b.id}"' not in fragment(panel.get("/plans/delegate?q=alp"),
                                                   "table-wizard-resellers")
    nothing = panel.get("/plans/delegate?step=2")
    assert nothing.status_code == 422 and "Choose at least one reseller." in text_of(nothing)

    step2 = panel.get(f"/plans/delegate?step=2&reseller_ids={a.id}&reseller_ids={b.id}")
    plans = fragment(step2, "table-wizard-plans")
    # BR-40: active plans not yet delegated to at least one of the chosen resellers.
    assert f'id="plan-{one.id}"' in plans and f'id="plan-{fresh.id}"' in plans
    assert f'id="plan-{both.id}"' not in plans and f'id="plan-{off.id}"' not in plans
    everyone = panel.get("/plans/delegate?step=2&all_matching=1")
    assert "Alpha" in fragment(everyone, "wizard-resellers-chosen")
    assert "Beta" in fragment(everyone, "wizard-resellers-chosen")

    operation = operation_path(panel.post("/plans/delegate", data={
        "reseller_ids": [a.id, b.id], "plan_ids": [one.id, fresh.id]}))
    with app.app_context():
        jobs.drain()
    done = panel.get(operation)
    assert "Done." in fragment(done, "operation-status")
    copies = {(p.parent_id, p.reseller_id) for p in db.session.scalars(
        select(Plan).where(Plan.parent_id.in_([one.id, fresh.id])))}
    assert copies == {(one.id, a.id), (one.id, b.id), (fresh.id, a.id), (fresh.id, b.id)}
    # BR-41: the pair that existed is skipped, not delegated again.
    assert "already delegated" in fragment(done, f"delegation-{one.id}-{a.id}")
    assert "already delegated" not in fragment(done, f"delegation-{one.id}-{b.id}")
    # The wizard refuses a plan that is not the member's own or not active.
    refused = panel.post("/plans/delegate", data={"reseller_ids": [a.id],
                                                  "plan_ids": [off.id]})
    assert refused.status_code == 422
