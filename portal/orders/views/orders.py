"""Operator-panel pages of orders: the list (03 S1), the order page with its actions (S2,
ORD-8, ORD-16, ORD-17) and the sales-order wizard (02 SCR-2, §4.1).

Each page loads its objects inside the tenant, calls one service, commits and renders; a
refusal re-renders the page with 422 and the service's message, and changes nothing. The wizard
keeps no server state: every step posts the choices made so far (client, plan, period, the
resource totals as `res-<plan resource id>`; with individual prices the toggle, the renewal mode
and the prices as `ip-service-<fee>` / `ip-res-<id>-<fee>` with `ip-for` = the plan and period
they were typed for), and only «Подтвердить» writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from flask import (Blueprint, flash, g, redirect, render_template, request,
                   url_for)
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import false, func, or_
from sqlalchemy.orm import contains_eager

from portal.accounts.auth import staff_required
from portal.catalog.models import Plan, PlanPeriod, PlanResource, PlanStatus
from portal.catalog.price_list import period_name
from portal.core.links import endpoint_url
from portal.core.links import link_to as link
from portal.clients.models import Client, ClientStatus
from portal.core.audit import events_for
from portal.core.clock import clock
from portal.core.errors import DomainError
from portal.core.formatting import money
from portal.core.forms import attach_error, run_action, submit
from portal.core.htmx import is_htmx
from portal.core.listkit import Column, Filter, ListDefinition, register_list
from portal.extensions import db
from portal.operator.lists import list_response
from portal.operator.search import SearchHit, SearchProvider, id_in, register_search
from portal.orders.forms import OrderExpiryForm, OrderStartForm
from portal.orders.models import (ORDER_STATUS_LABELS, ORDER_TYPE_LABELS, Order, OrderStatus,
                                  OrderType)
from portal.orders.services.errors import OrderError
from portal.orders.services.ordering import (IndividualPrices, Quote, cancel_order,
                                             check_can_order, clean_individual_prices,
                                             individual_price_warning, place_sales_order,
                                             quote_sales_order, set_order_expiry)
from portal.subscriptions.models import (PAYMENT_MODEL_LABELS, RENEWAL_PRICE_MODE_LABELS,
                                         PaymentModel, RenewalPriceMode)
from portal.tenancy.scope import scoped_select, tenant_get_or_404


bp = Blueprint("orders", __name__, url_prefix="/orders")

SUBSCRIPTION_PAGE = "subscriptions.detail"
CLIENT_PAGE = "clients.client_detail"
STAFF_PAGE = "accounts.staff_detail"
PAYMENT_PAGE = "payments.payment_detail"

# 03 ORD-8: the expiry date can be set only in these statuses.
EXPIRY_STATUSES = (OrderStatus.WAITING_FOR_PAYMENT, OrderStatus.ACTIVATION_ERROR)
# Clients offered by the wizard; the service refuses blocked and deleted ones (02 R-ORD-9).
ORDERING_CLIENT_STATUSES = (ClientStatus.ACTIVE, ClientStatus.FINANCIALLY_BLOCKED)


# --- helpers shared with the payment pages ------------------------------------------------------

def subscription_url(subscription_id: int) -> str | None:
    """The subscription page, built by the subscriptions area (None until it exists)."""
    return endpoint_url(SUBSCRIPTION_PAGE, subscription_id=subscription_id)


def partial_wanted() -> bool:
    """An htmx request for a component (not a boosted page load) gets the partial only."""
    return is_htmx() and request.headers.get("HX-Boosted") != "true"


def quantity_text(value) -> str:
    """A quantity without trailing zeros: 5, 2.5."""
    return "" if value is None else format_decimal(value, format="#,##0.##")


def period_text(value) -> str:
    """An order line's period in months with three decimals (03 ORD-14, D2)."""
    return "" if value is None else format_decimal(value, format="#,##0.000")


def plain_number(value) -> str:
    """A quantity as a form value: 5, not 5.00."""
    number = Decimal(str(value)).normalize()
    return f"{number:f}"


def status_badge(obj) -> Markup:
    return Markup('<span class="badge" data-status="{}">{}</span>').format(
        obj.status.value, obj.status_label)


def client_link(client: Client) -> Markup:
    return link(CLIENT_PAGE, client.label, client_id=client.id)


def tenant_row(model, raw):
    """The acting reseller's row with this id, or None (an id of another tenant is None too)."""
    try:
        wanted = int(raw)
    except (TypeError, ValueError):
        return None
    return db.session.scalar(scoped_select(model).where(model.id == wanted))


def _parse_day(raw: str) -> date | None:
    """A date typed as 2026-11-22 or 22.11.2026."""
    match = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", raw)
    try:
        if match:
            return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        return date.fromisoformat(raw)
    except ValueError:
        return None


@dataclass
class DayFilter(Filter):
    """One end of a date range, both ends included (03 S1 «Дата создания» from–to)."""

    lower: bool = True

    def apply(self, query, raw: str):
        value = (raw or "").strip()
        if not value:
            return query
        day = _parse_day(value)
        if day is None:
            return query.where(false())
        return query.where(self.column >= day if self.lower else self.column <= day)


@dataclass
class YesNoFilter(Filter):
    def apply(self, query, raw: str):
        value = (raw or "").strip()
        if value == "yes":
            return query.where(self.column.is_(True))
        if value == "no":
            return query.where(self.column.is_(False))
        return query.where(false()) if value else query


YES_NO = [("yes", _l("Yes")), ("no", _l("No"))]


# --- the list (03 S1) ----------------------------------------------------------------------------

def _orders_query(reseller):
    return (scoped_select(Order, reseller).join(Client, Client.id == Order.client_id)
            .options(contains_eager(Order.client)))


def _order_link(text_of):
    def render(order: Order) -> Markup:
        return Markup('<a href="{}">{}</a>').format(
            url_for("orders.order_detail", order_id=order.id), text_of(order))
    return render


def _money_cell(value_of):
    def render(row) -> Markup:
        return escape(money(value_of(row), row.currency))
    return render


ORDERS = register_list(ListDefinition(
    key="orders", title=_l("Orders"), model=Order, permission="orders.view",
    query=_orders_query,
    columns=[
        Column("id", "ID", sort=Order.id, render=_order_link(lambda o: o.id)),
        Column("number", _l("Number"), sort=Order.number, search=Order.number,
               render=_order_link(lambda o: o.number)),
        Column("client", _l("Client"), sort=Client.name, search=Client.name,
               value=lambda o: o.client.name,
               render=lambda o: link(CLIENT_PAGE, o.client.name, client_id=o.client_id)),
        Column("order_type", _l("Type"), sort=Order.order_type, value=lambda o: o.type_label),
        Column("status", _l("Status"), sort=Order.status, value=lambda o: o.status_label,
               render=status_badge),
        Column("discount_total", _l("Discount"), sort=Order.discount_total,
               render=_money_cell(lambda o: o.discount_total)),
        Column("total", _l("Amount"), sort=Order.total, render=_money_cell(lambda o: o.total)),
        Column("created_at", _l("Order date"), sort=Order.created_at),
        Column("updated_at", _l("Updated"), sort=Order.updated_at),
        Column("closed_at", _l("Closed"), sort=Order.closed_at),
        Column("individual_prices", _l("Individual price"), sort=Order.individual_prices),
    ],
    filters=[
        Filter("status", _l("Status"), Order.status,
               [(s.value, label) for s, label in ORDER_STATUS_LABELS.items()]),
        Filter("order_type", _l("Type"), Order.order_type,
               [(t.value, label) for t, label in ORDER_TYPE_LABELS.items()]),
        # The platform day the order was placed (D6), not the UTC instant.
        DayFilter("created_from", _l("Created from"), Order.created_on),
        DayFilter("created_to", _l("Created to"), Order.created_on, lower=False),
        YesNoFilter("individual_prices", _l("Individual price"), Order.individual_prices,
                    YES_NO),
    ],
))


@bp.get("")
@staff_required("orders.view")
def list_orders():
    """«Заказы»: every order of the reseller's clients, newest first (03 S1, ORD-18)."""
    return list_response(ORDERS, title=ORDERS.title,
                         create_url=url_for("orders.new_order")
                         if current_user.can("orders.manage") else None)


# --- the order page (03 S2) ------------------------------------------------------------------

def cancellable(order: Order) -> bool:
    """03 ORD-16: a prepaid order waiting for payment, or one waiting for provisioning."""
    if order.status == OrderStatus.WAITING_FOR_PROVISIONING:
        return True
    return (order.status == OrderStatus.WAITING_FOR_PAYMENT
            and order.subscription.payment_model == PaymentModel.PREPAY)


def changeable(order: Order) -> bool:
    """03 ORD-17: as cancellable, never a prolong order; the wizard re-does sales orders."""
    return cancellable(order) and order.order_type == OrderType.SALES_ORDER


def _creator(order: Order) -> Markup:
    """03 ORD-11: the staff member or client user who placed it; «Системой» when automatic."""
    member = order.created_by_staff
    if member is not None:
        text = f"#{member.id} {member.name}"
        if current_user.can("staff.view") and member.reseller_id == g.acting_reseller.id:
            return link(STAFF_PAGE, text, member_id=member.id)
        return escape(text)
    user = order.created_by_user
    if user is not None:
        return escape(f"#{user.id} {user.full_name or user.email}")
    return escape(_("System"))


def _tabs(order: Order, active: str) -> dict:
    return {"active_tab": active,
            "tabs": [("general", _("General information"),
                      url_for("orders.order_detail", order_id=order.id)),
                     ("events", _("Event log"),
                      url_for("orders.order_events", order_id=order.id))]}


def _order_context(order: Order, **extra) -> dict:
    can_manage = current_user.can("orders.manage")
    payment = order.payment
    return {
        "order": order, "lines": list(order.lines), "subscription": order.subscription,
        "subscription_url": subscription_url(order.subscription_id),
        "client_link": client_link(order.client),
        "payment_url": endpoint_url(PAYMENT_PAGE, payment_id=payment.id) if payment else None,
        "created_by": _creator(order), "status_badge": status_badge,
        "quantity_text": quantity_text, "period_text": period_text,
        "can_set_expiry": can_manage and order.status in EXPIRY_STATUSES,
        "can_cancel": can_manage and cancellable(order),
        "can_change": can_manage and changeable(order),
        "OrderStatus": OrderStatus,
        **_tabs(order, "general"), **extra}


def _detail_page(order: Order, status: int = 200):
    return render_template("orders/orders/detail.html", **_order_context(order)), status


@bp.get("/<int:order_id>")
@staff_required("orders.view")
def order_detail(order_id):
    return _detail_page(tenant_get_or_404(Order, order_id))


@bp.get("/<int:order_id>/events")
@staff_required("orders.view")
def order_events(order_id):
    """The order's event log tab (03 S2 «Журнал событий»)."""
    order = tenant_get_or_404(Order, order_id)
    return render_template("orders/orders/events.html", order=order, events=events_for(order),
                           **_tabs(order, "events"))


def _refused(order: Order):
    """After run_action flashed the refusal: the page again, as it is in the database."""
    db.session.refresh(order)
    return _detail_page(order, 422)


@bp.post("/<int:order_id>/cancel")
@staff_required("orders.manage")
def cancel_order_page(order_id):
    """«Отменить заказ», after the confirmation (03 ORD-16, O8, O13)."""
    order = tenant_get_or_404(Order, order_id)

    def cancel():
        if not cancellable(order):
            raise OrderError(_l("Only a prepaid order waiting for payment, or an order waiting "
                                "for provisioning, can be cancelled."), status=409)
        cancel_order(order, actor=current_user, on=clock.today())

    if run_action(cancel, success=_("The order is cancelled.")):
        return redirect(url_for("orders.order_detail", order_id=order.id))
    return _refused(order)


@bp.post("/<int:order_id>/change")
@staff_required("orders.manage")
def change_order_page(order_id):
    """«Изменить» (03 ORD-17, O12): the order and its payment are cancelled and the wizard opens
    with the same client, plan, period and resource totals, ready to be edited."""
    order = tenant_get_or_404(Order, order_id)

    def change():
        if not changeable(order):
            raise OrderError(_l("Only a sales order waiting for payment or provisioning can be "
                                "changed."), status=409)
        cancel_order(order, actor=current_user, on=clock.today())

    if not run_action(change, success=_("The order %(number)s is cancelled; place the changed "
                                          "order.", number=order.number)):
        return _refused(order)
    args = {"client_id": order.client_id, "plan_id": order.plan_id,
            "period_id": order.plan_period_id}
    for resource_id, total in ((order.request or {}).get("resources") or {}).items():
        args[f"res-{resource_id}"] = plain_number(total)
    args.update(_individual_args(order))
    return redirect(url_for("orders.new_order", **args))


def _individual_args(order: Order) -> dict[str, str]:
    """The wizard's inputs for the individual prices and renewal mode the order was placed
    with (IndividualPrices.as_request: {"mode": .., "prices": {"service" | "resource:<id>":
    {fee kind: price}}})."""
    individual = (order.request or {}).get("individual_prices")
    if not isinstance(individual, dict):
        return {}
    args = {"individual_prices": "y", "renewal_price_mode": str(individual.get("mode") or ""),
            "ip-for": f"{order.plan_id}:{order.plan_period_id}"}
    for key, fees in (individual.get("prices") or {}).items():
        prefix = "service" if key == "service" else f"res-{str(key).partition(':')[2]}"
        for kind, price in (fees or {}).items():
            args[f"ip-{prefix}-{kind}"] = str(price)
    return args


@bp.route("/<int:order_id>/expiry", methods=["GET", "POST"])
@staff_required("orders.manage")
def set_expiry_page(order_id):
    """«Установить дату истечения»: date and comment (03 ORD-8)."""
    order = tenant_get_or_404(Order, order_id)
    if request.method == "GET":
        form = OrderExpiryForm(formdata=None, expires_on=order.expires_on)
        return render_template("orders/orders/expiry.html", order=order, form=form)
    form = OrderExpiryForm()
    if submit(form, lambda f: set_order_expiry(
            order, expires_on=f.expires_on.data, comment=(f.comment.data or "").strip(),
            actor=current_user, on=clock.today()), success=_("The expiry date is set.")):
        return redirect(url_for("orders.order_detail", order_id=order.id))
    db.session.refresh(order)
    return render_template("orders/orders/expiry.html", order=order, form=form), 422


# --- the order wizard (02 SCR-2) -------------------------------------------------------------

@dataclass
class ResourceRow:
    resource: PlanResource
    value: str
    additional: Decimal | None
    error: str | None


# 02 R-IP-2, R-IP-4: the fee kinds that take an individual price, with their «Тип цены».
PRICE_KINDS = (("recurring", _l("Subscription fee (monthly)")), ("setup", _l("Setup fee")))


@dataclass
class PriceRow:
    """One fee of the configuration step with individual prices (02 §2.6, R-IP-2)."""

    name: str  # the input's name after "ip-": service-recurring, res-<id>-setup
    fee_kind: str
    label: str
    plan_price: Decimal  # in the plan's currency (R-ORD-3)
    value: str
    error: str | None
    months: Decimal | None
    amount: Decimal  # in the order's currency, from the quote (R-IP-3)


def price_text(value) -> str:
    """A price as a form value: 25.00."""
    return f"{Decimal(str(value)).quantize(Decimal('0.01')):f}"


def price_input(error_field: str | None) -> str | None:
    """The price input a refusal of clean_individual_prices names, or None."""
    parts = (error_field or "").split(".")
    if parts[:2] == ["individual_prices", "service"] and len(parts) == 3:
        return f"service-{parts[2]}"
    if parts[:2] == ["individual_prices", "resources"] and len(parts) == 4:
        return f"res-{parts[2]}-{parts[3]}"
    return None


@dataclass
class Wizard:
    """What the wizard has been told so far; nothing of it is stored until «Подтвердить»."""

    form: OrderStartForm
    client: Client | None
    plan: Plan | None
    period: PlanPeriod | None
    periods: list[PlanPeriod]
    raw_quantities: dict[int, str]
    # Individual prices as typed (`ip-<name>`), and the plan:period they were typed for.
    raw_prices: dict[str, str] = field(default_factory=dict)
    prices_for: str = ""
    errors: dict[int, str] = field(default_factory=dict)
    price_errors: dict[str, str] = field(default_factory=dict)
    quote: Quote | None = None

    @property
    def individual(self) -> bool:
        return bool(self.form.individual_prices.data)

    @property
    def needs_resources(self) -> bool:
        """02 R-ORD-10: no resource step for a plan without resources or a trial period."""
        return bool(self.plan is not None and self.plan.resources
                    and not (self.period is not None and self.period.is_trial))

    @property
    def needs_configuration(self) -> bool:
        """The configuration step: resources to count, or prices to type (R-IP-1); a trial has
        neither (the service refuses individual prices for it)."""
        return self.needs_resources or bool(
            self.individual and self.period is not None and not self.period.is_trial)

    @property
    def prices_key(self) -> str:
        return f"{self.plan.id}:{self.period.id}" if self.plan and self.period else ""

    def quantities(self) -> dict[int, str]:
        """The totals the service gets: this plan's resources only (a trial takes defaults)."""
        if not self.needs_resources:
            return {}
        ids = {resource.id for resource in self.plan.resources}
        return {k: v for k, v in self.raw_quantities.items() if k in ids}

    def price_values(self) -> dict[str, str]:
        """The typed prices of this plan and period; those typed for another are dropped, as
        another plan's prices mean nothing here (cf. R-ORD-11)."""
        if not self.prices_key or self.prices_for != self.prices_key:
            return {}
        names = {f"service-{kind}" for kind, _label in PRICE_KINDS}
        names |= {f"res-{resource.id}-{kind}" for resource in self.plan.resources
                  for kind, _label in PRICE_KINDS}
        return {k: v for k, v in self.raw_prices.items() if k in names}

    def individual_request(self, values: dict[str, str]) -> dict:
        """The prices as clean_individual_prices takes them."""
        raw: dict = {"service": {}, "resources": {}}
        for name, value in values.items():
            kind = name.rsplit("-", 1)[1]
            if name.startswith("service-"):
                raw["service"][kind] = value
            else:
                raw["resources"].setdefault(name.split("-")[1], {})[kind] = value
        return raw

    def _line(self, key: str, kind: str):
        for line in self.quote.lines if self.quote else []:
            if line.key == key and line.fee_kind == kind:
                return line
        return None

    def _price_rows(self, key: str, prefix: str, prices: dict[str, Decimal]) -> list[PriceRow]:
        values = self.price_values()
        term = next((line.plan.months for line in (self.quote.lines if self.quote else [])
                     if line.fee_kind == "recurring"), None)
        rows = []
        for kind, label in PRICE_KINDS:
            name = f"{prefix}-{kind}"
            line = self._line(key, kind)
            months = (line.plan.months if line else term) if kind == "recurring" else None
            rows.append(PriceRow(
                name=name, fee_kind=kind, label=str(label), plan_price=prices[kind],
                value=values.get(name, price_text(prices[kind])),
                error=self.price_errors.get(name), months=months,
                amount=line.plan.amount if line else Decimal("0.00")))
        return rows

    def service_prices(self) -> list[PriceRow]:
        """The subscription's fees (02 §2.6 «Подписка»)."""
        return self._price_rows("service", "service", {"recurring": self.period.monthly_fee,
                                                       "setup": self.period.setup_fee})

    def resource_prices(self, resource: PlanResource) -> list[PriceRow]:
        return self._price_rows(f"resource:{resource.id}", f"res-{resource.id}",
                                {"recurring": resource.monthly_fee, "setup": resource.setup_fee})

    def resource_rows(self) -> list[ResourceRow]:
        rows = []
        for resource in self.plan.resources if self.needs_resources else []:
            value = self.raw_quantities.get(resource.id)
            if value is None:
                value = plain_number(max(resource.included, resource.minimum))
            try:
                total = Decimal(value)
                additional = max(total - resource.included, Decimal(0)) \
                    if total.is_finite() else None
            except InvalidOperation:
                additional = None
            # 02 R-ORD-16: additional = total − included.
            rows.append(ResourceRow(resource, value, additional, self.errors.get(resource.id)))
        return rows


def period_label(period: PlanPeriod) -> str:
    label = period_name(period)
    return _("%(period)s (trial)", period=label) if period.is_trial else label


def plan_label(plan: Plan) -> str:
    """01 R-FORM-1: records are picked as ID<id> - <name>."""
    return f"ID{plan.id} - {plan.name}"


def resource_label(resource: PlanResource) -> str:
    """02 §2.6: the name with "(min.: X; max.: Y)"."""
    maximum = _("unlimited") if resource.unlimited else quantity_text(resource.limit)
    return _("%(name)s (min.: %(minimum)s; max.: %(maximum)s)", name=resource.name,
             minimum=quantity_text(resource.minimum), maximum=maximum)


def _published_periods(plan: Plan | None) -> list[PlanPeriod]:
    return [p for p in plan.periods if p.published] if plan is not None else []


def _fill_choices(w: Wizard, *, all_choices: bool = True) -> None:
    choices = [(str(p.id), period_label(p)) for p in w.periods]
    w.form.period_id.choices = choices if len(choices) == 1 else [("", "—")] + choices
    if not all_choices:
        return
    clients = list(db.session.scalars(
        scoped_select(Client).where(Client.status.in_(ORDERING_CLIENT_STATUSES))
        .order_by(Client.name, Client.id)))
    if w.client is not None and w.client not in clients:
        clients.append(w.client)  # the service says why this one cannot order
    w.form.client_id.choices = [("", "—")] + [(str(c.id), c.label) for c in clients]
    plans = list(db.session.scalars(
        scoped_select(Plan).where(Plan.status == PlanStatus.ACTIVE)
        .order_by(func.lower(Plan.name), Plan.id)))
    if w.plan is not None and w.plan not in plans:
        plans.append(w.plan)
    w.form.plan_id.choices = [("", "—")] + [(str(p.id), plan_label(p)) for p in plans]


def _load_wizard(*, all_choices: bool = True) -> Wizard:
    posted = request.method == "POST"
    source = request.form if posted else request.args
    if posted:
        form = OrderStartForm()
    else:
        form = OrderStartForm(
            formdata=None, client_id=source.get("client_id", ""),
            plan_id=source.get("plan_id", ""), period_id=source.get("period_id", ""),
            individual_prices=source.get("individual_prices", "") not in ("", "0", "false"),
            renewal_price_mode=source.get("renewal_price_mode")
            or RenewalPriceMode.INDIVIDUAL.value)
    client = tenant_row(Client, form.client_id.data)
    plan = tenant_row(Plan, form.plan_id.data)
    periods = _published_periods(plan)
    if len(periods) == 1:
        # 02 R-ORD-9: the plan's only period is shown chosen and cannot be changed.
        form.period_id.data = str(periods[0].id)
    period = next((p for p in periods if str(p.id) == str(form.period_id.data or "")), None)
    if period is None:
        form.period_id.data = ""
    quantities = {int(key[4:]): value.strip() for key, value in source.items()
                  if key.startswith("res-") and key[4:].isdigit()}
    prices = {key[3:]: value.strip() for key, value in source.items()
              if re.fullmatch(r"ip-(service|res-\d+)-(recurring|setup)", key)}
    wizard = Wizard(form, client, plan, period, periods, quantities, raw_prices=prices,
                    prices_for=source.get("ip-for", ""))
    _fill_choices(wizard, all_choices=all_choices)
    return wizard


def _selection_ok(w: Wizard) -> bool:
    """CSRF and the three choices, each an object of this reseller."""
    valid = w.form.validate_on_submit()
    for name, obj, message in (("client_id", w.client, _("Choose a client.")),
                               ("plan_id", w.plan, _("Choose a plan.")),
                               ("period_id", w.period, _("Choose a period."))):
        field_ = w.form[name]
        if obj is None and not field_.errors:
            field_.errors = [*list(field_.errors or []), message]
            valid = False
    return valid


def _render(w: Wizard, step: str, status: int = 200):
    rule_model = w.client.service_rule.payment_model if w.client is not None else None
    mode = w.form.renewal_price_mode.data
    context = {
        "w": w, "form": w.form, "step": step,
        "rows": w.resource_rows() if step == "resources" else [],
        "plan_label": plan_label, "period_label": period_label,
        "resource_label": resource_label, "quantity_text": quantity_text,
        "period_text": period_text,
        # 02 R-ORD-12: the client's service rule's payment model.
        "payment_model": PAYMENT_MODEL_LABELS.get(PaymentModel(rule_model.value))
        if rule_model is not None else "",
        "renewal_mode_label": RENEWAL_PRICE_MODE_LABELS.get(mode, mode),
        # 02 R-IP-10: the client already has individually priced subscriptions on the plan.
        "price_warning": step == "resources" and individual_price_warning(w.client, w.plan),
    }
    template = "orders/orders/_wizard.html" if partial_wanted() else "orders/orders/new.html"
    return render_template(template, **context), status


def _individual(w: Wizard) -> IndividualPrices | None:
    """The typed prices through the service's rules; every refused price is noted next to its
    input, and the first refusal is raised."""
    if not w.individual:
        return None
    values = w.price_values()
    first = None
    while True:
        try:
            individual = clean_individual_prices(w.plan, w.individual_request(values),
                                                 w.form.renewal_price_mode.data)
        except OrderError as error:
            name = price_input(error.field)
            if name is None or name not in values:
                raise
            w.price_errors[name] = str(error)
            first = first or error
            del values[name]  # check the others as well
            continue
        if first is not None:
            raise first
        return individual


def _note_error(w: Wizard, error: DomainError) -> bool:
    """Put a refusal next to its input on the configuration step; False if it names none."""
    field_name = error.field or ""
    name = price_input(field_name)
    if name is not None:
        w.price_errors.setdefault(name, str(error))
        return True
    if field_name == "renewal_price_mode":
        if not w.form.renewal_price_mode.errors:
            attach_error(w.form, error)
        return True
    resource_id = field_name.partition(".")[2]
    if field_name.startswith("resources.") and resource_id.isdigit():
        w.errors[int(resource_id)] = str(error)
        return True
    return False


def _refused_step(w: Wizard, error: DomainError):
    """Show the refusal on the step that asks for the field it names (422)."""
    field_name = error.field or ""
    asked_on_configuration = (field_name.startswith("resources") and w.needs_resources) or (
        w.needs_configuration and (price_input(field_name) is not None
                                   or field_name == "renewal_price_mode"))
    if asked_on_configuration:
        if not _note_error(w, error):
            flash(str(error), "error")
        return _render(w, "resources", 422)
    attach_error(w.form, error)
    return _render(w, "start", 422)


def _run_quote(w: Wizard) -> None:
    w.quote = quote_sales_order(w.client, w.plan, w.period, quantities=w.quantities(),
                                on=clock.today(), individual=_individual(w))


def _preview(w: Wizard) -> None:
    """The totals of the configuration step, and a refusal next to its input (R-IP-3)."""
    try:
        _run_quote(w)
    except DomainError as error:
        _note_error(w, error)


def _to_confirmation(w: Wizard):
    try:
        _run_quote(w)
    except DomainError as error:
        return _refused_step(w, error)
    return _render(w, "confirm")


def _place(w: Wizard):
    """«Подтвердить» (02 R-ORD-20): one service call, one commit, then the order's page."""
    try:
        order = place_sales_order(w.client, w.plan, w.period, quantities=w.quantities(),
                                  actor=current_user, on=clock.today(),
                                  ip=request.remote_addr or "",
                                  manager_id=w.client.manager_id, individual=_individual(w))
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        return _refused_step(w, error)
    flash(_("The order %(number)s is placed.", number=order.number), "success")
    return redirect(url_for("orders.order_detail", order_id=order.id))


@bp.route("/new", methods=["GET", "POST"])
@staff_required("orders.manage")
def new_order():
    """«Создать заказ»: choose (1), configure resources and prices (2), confirm (3) (02 SCR-2).

    ?client_id= opens it from a client page with the client chosen; the order page's
    «Изменить» opens it with plan, period, res-<id> totals and individual prices filled in."""
    w = _load_wizard()
    if request.method == "GET":
        return _render(w, "start")
    step = request.form.get("step", "start")
    action = request.form.get("action", "next")
    if not _selection_ok(w):
        return _render(w, "start", 422)
    if step == "resources" and request.form.get("_refresh"):
        _preview(w)
        return _render(w, "resources")
    if action == "back":
        if step == "confirm" and w.needs_configuration:
            _preview(w)
            return _render(w, "resources")
        return _render(w, "start")
    if step == "start":
        try:
            check_can_order(w.client, w.plan, w.period)
        except DomainError as error:
            return _refused_step(w, error)
        if w.needs_configuration:
            _preview(w)
            w.errors.clear()  # nothing typed yet: the defaults are within the limits
            return _render(w, "resources")
        return _to_confirmation(w)
    if step == "confirm" and action == "confirm":
        return _place(w)
    return _to_confirmation(w)


@bp.get("/new/plan-fields")
@staff_required("orders.manage")
def wizard_plan_fields():
    """htmx: the product and the period select of the plan just chosen (02 R-ORD-9)."""
    w = _load_wizard(all_choices=False)
    return render_template("orders/orders/_plan_fields.html", w=w, form=w.form)


# --- the home page's search (01 R-HOME-1) ------------------------------------------------------

def find_orders(reseller, query: str, limit: int) -> list[SearchHit]:
    """Orders by their number (03 §2.1: the full number; a part finds it too) or ID."""
    condition = func.lower(Order.number).contains(query.strip().lower(), autoescape=True)
    wanted = id_in(query)
    if wanted is not None:
        condition = or_(Order.id == wanted, condition)
    found = db.session.scalars(scoped_select(Order, reseller).where(condition)
                               .order_by(Order.id.desc()).limit(limit)).all()
    return [SearchHit(order.number, url_for("orders.order_detail", order_id=order.id),
                      f"{order.type_label}, {order.status_label}") for order in found]


ORDER_SEARCH = register_search(SearchProvider("orders", _l("Orders"), "orders.view",
                                              find_orders, 30))
