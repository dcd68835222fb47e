"""Plain factory functions: they flush and never commit."""

from __future__ import annotations

import itertools
import re

from portal.accounts.models import Role
from portal.accounts.services import create_api_token, create_staff_member
from portal.cli import ensure_root
from portal.extensions import db
from portal.tenancy.services.resellers import create_reseller

PASSWORD = "Test-pass-2026"
_seq = itertools.count(1)


def make_root(**kw):
    from sqlalchemy import select

    from portal.tenancy.models import Reseller

    root = db.session.scalar(select(Reseller).where(Reseller.is_root))
    if root is not None:
        return root
    root, _member, _token = _ensure_root_no_commit(**kw)
    return root


def _ensure_root_no_commit(**kw):
    # ensure_root commits; inside the rolled-back test transaction that is a savepoint release.
    return ensure_root(name=kw.get("name", "Root Operator"), email=kw.get("email", "root@example.com"),
                       password=PASSWORD, currency=kw.get("currency", "RUB"),
                       domain=kw.get("domain", "localhost"))


def make_reseller(parent=None, *, name=None, **kw):
    parent = parent or make_root()
    n = next(_seq)
    return create_reseller(parent, name=name or f"Reseller {n}", slug=kw.pop("slug", f"r{n}"),
                           currency=kw.pop("currency", "RUB"), **kw)


def make_staff(reseller, *, role=Role.SYSTEM_ADMIN, email=None, password=PASSWORD, **kw):
    n = next(_seq)
    return create_staff_member(reseller, email=email or f"staff{n}@example.com",
                               name=kw.pop("name", f"Staff {n}"), role=role, password=password, **kw)


def make_token(member) -> str:
    _token, raw = create_api_token(member)
    db.session.flush()
    return raw


def host_of(reseller) -> str:
    return reseller.panel_domain or reseller.local_host


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(client, reseller, member, password=PASSWORD):
    """Sign in through the real form on the reseller's host; returns the response."""
    host = host_of(reseller)
    page = client.get("/login", base_url=f"http://{host}")
    response = client.post("/login", base_url=f"http://{host}", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "email": member.email,
        "password": password, "remember": "y"})
    return response


class Panel:
    """A test client signed in to one reseller's panel."""

    def __init__(self, app, reseller, member, password=PASSWORD):
        self.client = app.test_client()
        self.reseller = reseller
        self.member = member
        self.base = f"http://{host_of(reseller)}"
        response = login(self.client, reseller, member, password)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]

    def get(self, path, **kw):
        return self.client.get(path, base_url=self.base, **kw)

    def csrf(self, path="/"):
        return csrf_from(self.get(path).get_data(as_text=True))

    def post(self, path, data=None, **kw):
        data = dict(data or {})
        if "csrf_token" not in data:
            data["csrf_token"] = self.csrf()
        return self.client.post(path, base_url=self.base, data=data, **kw)


# --- catalogue ---------------------------------------------------------------------------

def make_rule(reseller, *, key=None, **kw):
    from portal.catalog.services import create_provisioning_rule

    n = next(_seq)
    return create_provisioning_rule(reseller, name=kw.pop("name", f"Rule {n}"),
                                    key=key or f"rule_{n}", financial_day=kw.pop("financial_day", 1),
                                    **kw)


def make_product(reseller, *, category=None, **kw):
    from portal.catalog.services import create_product, create_product_category

    n = next(_seq)
    category = category or create_product_category(reseller, name=f"Category {n}",
                                                   key=f"category_{n}")
    return create_product(reseller, name=kw.pop("name", f"Product {n}"),
                          product_category_id=category.id, **kw)


def make_plan_category(reseller, **kw):
    from portal.catalog.services import create_plan_category

    n = next(_seq)
    return create_plan_category(reseller, name=kw.pop("name", f"Plan category {n}"),
                                key=kw.pop("key", f"plan_category_{n}"), **kw)


def make_service(reseller, *, resources=(("Licences", "units"), ("Support", "boolean")), **kw):
    from portal.catalog.services import create_service_template

    n = next(_seq)
    return create_service_template(
        reseller, name=kw.pop("name", f"Service {n}"), connector=kw.pop("connector", "simulated"),
        resources=[{"name": name, "unit_type": unit} for name, unit in resources], **kw)


def make_plan(reseller, *, periods=None, resources=None, rule=None, product=None,
              plan_category=None, services=None, **kw):
    """A plan with one 1-month period priced 100.00 unless periods are given."""
    from portal.catalog.services import create_plan

    n = next(_seq)
    rule = rule or make_rule(reseller)
    product = product or make_product(reseller)
    plan_category = plan_category or make_plan_category(reseller)
    if services is None:
        services = [make_service(reseller)] if resources else []
    if periods is None:
        periods = [{"duration": 1, "duration_unit": "month", "setup_fee": "0",
                    "monthly_fee": "100.00"}]
    return create_plan(reseller, name=kw.pop("name", f"Plan {n}"),
                       billing_type=kw.pop("billing_type", "preorder"),
                       plan_category_id=plan_category.id, product_id=product.id,
                       provisioning_rule_id=rule.id, services=services, periods=periods,
                       resources=resources or [], **kw)


def delegate(plan, child):
    """Delegate synchronously (what the delegation job does for one pair)."""
    from portal.catalog.services import delegate_plan
    from portal.core.clock import clock

    copy, _created = delegate_plan(plan, child, now=clock.now())
    return copy


def sync(plan):
    from portal.catalog.services import sync_plan_copies
    from portal.core.clock import clock

    return sync_plan_copies(plan, now=clock.now())


# --- clients -------------------------------------------------------------------------------

VALID_INN_10 = "7707083893"    # an organisation's INN with right check digits
VALID_INN_12 = "500100732259"  # a person's INN with right check digits


def make_client_type(reseller, *, key=None, **kw):
    from portal.clients.services.client_types import create_client_type

    n = next(_seq)
    return create_client_type(reseller, name=kw.pop("name", f"Client type {n}"),
                              key=key or f"type_{n}",
                              name_template=kw.pop("name_template", "%primary_name"),
                              primary_name_label=kw.pop("primary_name_label", "Company"),
                              legal_form=kw.pop("legal_form", "organization"), **kw)


def make_service_rule(reseller, *, key=None, **kw):
    from portal.clients.services.service_rules import create_service_rule

    n = next(_seq)
    return create_service_rule(reseller, name=kw.pop("name", f"Service rule {n}"),
                               key=key or f"service_rule_{n}", **kw)


def make_client(reseller, *, client_type=None, service_rule=None, owner_email=None, **kw):
    """An active client with a new owner user (no invitation mail)."""
    from portal.clients.services.clients import create_client

    n = next(_seq)
    client_type = client_type or make_client_type(reseller)
    service_rule = service_rule or make_service_rule(reseller)
    if "owner_user_id" not in kw:
        kw.setdefault("owner", {"email": owner_email or f"owner{n}@example.com",
                                "first_name": "Ivan", "last_name": f"Owner{n}"})
    if client_type.uses_primary_name:
        kw.setdefault("primary_name", f"Client {n}")
    if client_type.uses_person_name:
        kw.setdefault("first_name", "Anna")
        kw.setdefault("last_name", f"Client{n}")
    return create_client(reseller, client_type_id=client_type.id,
                         service_rule_id=service_rule.id, **kw)


def make_user(reseller, *, email=None, password=PASSWORD, **kw):
    from portal.clients.services.users import create_user

    n = next(_seq)
    return create_user(reseller, email=email or f"user{n}@example.com",
                       first_name=kw.pop("first_name", "Petr"),
                       last_name=kw.pop("last_name", f"User{n}"), password=password, **kw)
