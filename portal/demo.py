"""Demo data: a root operator and two levels of resellers with their own branding and staff."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw
from sqlalchemy import select

from portal.accounts.models import Role, StaffMember
from portal.accounts.services import create_staff_member
from portal.cli import ensure_root
from portal.extensions import db
from portal.tenancy.models import Reseller
from portal.tenancy.services.branding import set_branding_image
from portal.tenancy.services.resellers import create_reseller, update_reseller

PASSWORD = "Demo-pass-2026"
ROLES = (Role.SYSTEM_ADMIN, Role.PRODUCT_MANAGER, Role.SALES_MANAGER, Role.MARKETING_SPECIALIST)


def _logo(letter: str, color: str) -> bytes:
    image = Image.new("RGB", (96, 96), color)
    draw = ImageDraw.Draw(image)
    draw.rectangle((8, 8, 87, 87), outline="white", width=4)
    draw.text((36, 30), letter, fill="white", font_size=36)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _staff(reseller: Reseller, prefix: str) -> list[str]:
    lines = []
    for role in ROLES:
        email = f"{role.value.split('_')[0]}@{prefix}.example.com"
        if db.session.scalar(select(StaffMember.id).where(StaffMember.email == email)) is None:
            create_staff_member(reseller, email=email, role=role, password=PASSWORD,
                                name=f"{role.value.replace('_', ' ').title()} {reseller.name}")
        lines.append(f"    {role.value:<22} {email}")
    return lines


def load_demo() -> list[str]:
    root, admin, _token = ensure_root(name="Softline Distribution", email="admin@example.com",
                                      password=PASSWORD, currency="RUB")
    tree = [("Acme Cloud", root, "acme", "#b3261e", "en"),
            ("Beta Systems", None, "beta", "#2e7d32", "ru")]
    created = {root.slug: root}
    parent = root
    for name, explicit_parent, prefix, color, language in tree:
        owner = explicit_parent or parent
        reseller = db.session.scalar(select(Reseller).where(Reseller.name == name))
        if reseller is None:
            reseller = create_reseller(owner, name=name, slug=prefix, currency="RUB" if language == "ru" else "USD",
                                       contact_email=f"info@{prefix}.example.com")
            update_reseller(reseller, default_language=language, primary_color=color,
                            panel_title=f"{name} — panel")
            set_branding_image(reseller, "logo", _logo(name[0], color))
        created[prefix] = reseller
        parent = reseller
    if root.logo is None:
        set_branding_image(root, "logo", _logo("S", "#1f5fa8"))
        update_reseller(root, panel_title="Softline Distribution — operator panel")
    _catalogue(root, created["acme"], created["beta"])
    client_lines = _clients(created["acme"]) + _clients(created["beta"])
    _subscriptions(created["acme"])
    lines = ["Demo data is ready. Password for every account: " + PASSWORD, ""]
    for prefix, reseller in created.items():
        host = "localhost" if reseller.is_root else reseller.local_host
        lines.append(f"  {reseller.name}: http://{host}:5000/")
        lines += [f"    {'system_admin':<22} admin@example.com"] if reseller.is_root else []
        lines += _staff(reseller, prefix)
    lines += ["", "  Client panels (owners' logins):", *client_lines]
    db.session.commit()
    return lines


# key of the client type, names, owner (first, last, e-mail prefix), INN
DEMO_CLIENTS = (
    ("legal_entity", {"primary_name": "Contoso Ltd"}, ("Kate", "Ushakova", "kate"),
     "7707083893"),
    ("individual", {"first_name": "Adam", "last_name": "Smith"}, ("Adam", "Smith", "adam"),
     ""),
)


def _clients(reseller: Reseller) -> list[str]:
    """Two clients with owners who can sign in to the reseller's client panel."""
    from portal.clients.models import ClientType, User  # noqa: PLC0415
    from portal.clients.services.clients import create_client  # noqa: PLC0415
    from portal.clients.services.service_rules import default_service_rule  # noqa: PLC0415
    from portal.clients.services.users import set_user_password  # noqa: PLC0415

    host = f"http://{reseller.local_host}:5000/client/"
    lines = []
    from portal.clients.models import ServiceRule  # noqa: PLC0415

    rule = default_service_rule(reseller) or db.session.scalar(
        select(ServiceRule).where(ServiceRule.reseller_id == reseller.id)
        .order_by(ServiceRule.id))
    for type_key, names, (first, last, login), inn in DEMO_CLIENTS:
        email = f"{login}@{reseller.slug}-client.example.com"
        lines.append(f"    {reseller.name}: {host}  {email}")
        if db.session.scalar(select(User.id).where(User.reseller_id == reseller.id,
                                                   User.email == email)) is not None:
            continue
        client_type = db.session.scalar(select(ClientType).where(
            ClientType.reseller_id == reseller.id, ClientType.key == type_key))
        if client_type is None or rule is None:
            continue
        client = create_client(reseller, client_type_id=client_type.id, service_rule_id=rule.id,
                               owner={"email": email, "first_name": first, "last_name": last},
                               parameters={"inn": inn} if inn else {}, city="Moscow",
                               **names)
        set_user_password(client.owner, PASSWORD)
    return lines


def _subscriptions(reseller: Reseller) -> None:
    """Contoso tops up its balance and buys a year of ESET as a pre-order, paid from it."""
    from portal.catalog.models import Plan  # noqa: PLC0415
    from portal.clients.models import Client  # noqa: PLC0415
    from portal.core.clock import clock  # noqa: PLC0415
    from portal.core.errors import DomainError  # noqa: PLC0415
    from portal.orders.models import Order  # noqa: PLC0415
    from portal.orders.services.ordering import place_sales_order  # noqa: PLC0415
    from portal.orders.services.payments import complete_payment, create_topup  # noqa: PLC0415

    client = db.session.scalar(select(Client).where(Client.reseller_id == reseller.id,
                                                    Client.name == "Contoso Ltd"))
    plan = db.session.scalar(select(Plan).where(Plan.reseller_id == reseller.id,
                                                Plan.billing_type == "preorder"))
    if client is None or plan is None or db.session.scalar(
            select(Order.id).where(Order.client_id == client.id)) is not None:
        return
    period = next(p for p in plan.periods if not p.is_trial)
    try:
        with db.session.begin_nested():
            topup = create_topup(client, amount="1000.00", actor=None,
                                 comment="Demo top-up")
            complete_payment(topup, from_balance=False, actor=None, on=clock.today())
            order = place_sales_order(client, plan, period, quantities={}, actor=None,
                                      on=clock.today())
            complete_payment(order.payment, from_balance=True, actor=None, on=clock.today())
    except DomainError:
        pass  # the demo stays usable without the sample subscription


def _catalogue(root: Reseller, acme: Reseller, beta: Reseller) -> None:
    """Plans built at the root, delegated to Acme (markup 1.20) and on to Beta (1.10)."""
    from portal.catalog.models import Plan  # noqa: PLC0415
    from portal.catalog.services import (  # noqa: PLC0415
        create_plan, create_plan_category, create_product, create_product_category,
        create_provisioning_rule, create_service_template, delegate_plan, set_markup,
        set_new_categories_markup)
    from portal.core.clock import clock  # noqa: PLC0415

    if db.session.scalar(select(Plan.id).where(Plan.reseller_id == root.id)) is not None:
        return
    csp = create_provisioning_rule(root, name="Microsoft CSP", key="csp", financial_day=1,
                                   promised_payment_allowed=True, block_period_days=30)
    eset = create_provisioning_rule(root, name="ESET", key="eset", financial_day=1,
                                    unpaid_stop_after_days=7, block_period_days=7)
    licences = create_product_category(root, name="Microsoft licences",
                                       key="microsoft_licenses", priority=1)
    security = create_product_category(root, name="Antivirus", key="antivirus", priority=2)
    m365 = create_product(root, name="Microsoft 365", product_type="SaaS",
                          product_category_id=licences.id, published=True,
                          vendor_name="Microsoft",
                          marketing_description="Office apps, mail and Teams for business.")
    nod32 = create_product(root, name="ESET NOD32", product_type="SaaS",
                           product_category_id=security.id, published=True, vendor_name="ESET")
    office = create_plan_category(root, name="Office", key="office")
    antivirus = create_plan_category(root, name="Antivirus", key="antivirus")
    m365_service = create_service_template(
        root, name="Microsoft 365 (simulated CSP)", connector="simulated",
        resources=[{"name": "Licences", "unit_type": "units", "measurable": False},
                   {"name": "Teams Phone", "unit_type": "boolean"}])
    eset_service = create_service_template(
        root, name="ESET (manual provisioning)", connector="manual",
        resources=[{"name": "Seats", "unit_type": "units"}])
    plans = [
        create_plan(root, name="Microsoft 365 Business Basic", sku="CFQ7TTC0LH18",
                    billing_type="csp_monthly", plan_category_id=office.id,
                    product_id=m365.id, provisioning_rule_id=csp.id, published=True,
                    services=[m365_service],
                    periods=[{"duration": 1, "duration_unit": "month"},
                             {"duration": 1, "duration_unit": "year"}],
                    resources=[{"service_resource_id": m365_service.resources[0].id,
                                "included": 0, "minimum": 1, "limit": 300,
                                "monthly_fee": "500.00"},
                               {"service_resource_id": m365_service.resources[1].id,
                                "monthly_fee": "250.00"}]),
        create_plan(root, name="ESET NOD32 Antivirus", billing_type="preorder",
                    plan_category_id=antivirus.id, product_id=nod32.id,
                    provisioning_rule_id=eset.id, published=True, services=[eset_service],
                    periods=[{"duration": 1, "duration_unit": "month", "is_trial": True},
                             {"duration": 1, "duration_unit": "year", "setup_fee": "300.00",
                              "monthly_fee": "150.00", "renewal_fee": "100.00"}],
                    resources=[{"service_resource_id": eset_service.resources[0].id,
                                "included": 5, "minimum": 5, "limit": 1000,
                                "monthly_fee": "30.00"}]),
    ]
    from portal.billing.services import set_exchange_rate  # noqa: PLC0415

    # Acme sells in USD: the price list shows the RUB costs converted at these root rates.
    set_exchange_rate(root, "RUB", "USD", units=1, rate="92.5000", valid_from=clock.today())
    set_exchange_rate(root, "USD", "RUB", units=100, rate="1.0800", valid_from=clock.today())
    set_new_categories_markup(acme, "1.20")
    set_new_categories_markup(beta, "1.10")
    now = clock.now()
    acme_plans = [delegate_plan(plan, acme, now=now)[0] for plan in plans]
    beta_plans = [delegate_plan(plan, beta, now=now)[0] for plan in acme_plans]
    set_markup(acme_plans, "1.20")
    set_markup(beta_plans, "1.10")
