"""Operator-panel pages of subscriptions (02 §5.1): the list (SCR-1, R-LST-*), the subscription
page with its tabs (SCR-3: general, resources SCR-4, orders, charges, transactions, event log),
the toolbar operations (stop SCR-8, activate SCR-14, renew SCR-12, expiry date SCR-9, close
charges SCR-10, delete SCR-13), the client page's Subscriptions tab and the home search.

Each handler loads the subscription inside the tenant, calls one service, commits and redirects;
a refusal re-renders the page with the service's message and its status (409 / 422), and
nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import contains_eager

from portal.accounts.auth import staff_required
from portal.accounts.models import StaffMember, StaffStatus
from portal.billing.models import Charge, Transaction
from portal.billing.views_charges import as_minutes, signed_money
from portal.catalog.models import BILLING_TYPE_LABELS, BillingType, Plan, PlanPeriod, PlanResource
from portal.catalog.pricing import period_months
from portal.catalog.views.plans import period_label, quantity
from portal.clients.models import Client
from portal.core.audit import events_for
from portal.core.clock import clock
from portal.core.errors import DomainError
from portal.core.forms import attach_error
from portal.core.htmx import is_htmx
from portal.core.listkit import Column, Filter, ListDefinition, register_list
from portal.core.links import endpoint_url, link_to
from portal.core.money import round_money
from portal.core.tenant_guard import across_tenants
from portal.extensions import db
from portal.operator.lists import list_response
from portal.operator.search import SearchHit, SearchProvider, id_in, register_search
from portal.orders.models import Order
from portal.orders.services.ordering import (Quote, check_no_open_order, place_change_order,
                                             place_renewal_order, quote_renewal_order,
                                             renewal_periods, renewal_window_open)
from portal.orders.services.switching import (NOT_SWITCHED, default_quantities,
                                              place_switch_order, quote_switch_order,
                                              switch_periods, switch_targets)
from portal.subscriptions.forms import (ExpiryDateChangeForm, SubscriptionActivateForm,
                                        SubscriptionStopForm, SubscriptionUpdateForm,
                                        SwitchPlanForm)
from portal.subscriptions.models import (RENEWAL_PRICE_MODE_LABELS, SUBSCRIPTION_STATUS_LABELS,
                                         RenewalPriceMode, Subscription, SubscriptionResource,
                                         SubscriptionStatus)
from portal.subscriptions.services.lifecycle import (activate_subscription,
                                                     change_expiry_date, close_charges_manually,
                                                     delete_subscription, set_individual_prices,
                                                     stop_subscription, update_subscription)
from portal.tenancy.scope import scoped_select, tenant_get_or_404

bp = Blueprint("subscriptions", __name__, url_prefix="/subscriptions")

S = SubscriptionStatus
# Pages of other areas; linked only once they exist.
ORDER_NEW = "orders.new_order"
ORDER_DETAIL = "orders.order_detail"
CLIENT_PAGE = "clients.client_detail"
PLAN_PAGE = "catalog.plan_detail"
PERIOD_PAGE = "catalog.period_page"
PLAN_RESOURCE_PAGE = "catalog.resource_page"

TABS = (("general", _l("General information")), ("resources", _l("Resources")),
        ("prices", _l("Prices")), ("orders", _l("Orders")), ("charges", _l("Charges")),
        ("transactions", _l("Transactions")), ("events", _l("Event log")))

# The statuses whose last error the General tab shows (02 §3.1 S3/S4/S5/S6/S13).
ERROR_STATUSES = frozenset({S.INSTALL_ERROR, S.ACTIVATION_ERROR, S.UPDATE_ERROR,
                            S.RENEWAL_ERROR, S.STOP_FAILED, S.DELETE_ERROR})
# 02 S7, S5: only a working subscription is stopped or changes its resources.
WORKING = (S.ACTIVE, S.PAYMENT_OVERDUE)
FINISHED = (S.DELETED, S.DELETING)
STATUS_COLOURS = {S.ACTIVE: "#2e7d32", S.DELIVERED: "#2e7d32", S.PAYMENT_OVERDUE: "#ef8f00",
                  S.STOPPED: "#9e9e9e", S.BLOCKED: "#c62828", S.DELETED: "#9e9e9e"}


# --- small helpers ---------------------------------------------------------------------------

def order_url(order: Order) -> str | None:
    """The order's page (the orders area), when it exists."""
    return endpoint_url(ORDER_DETAIL, order_id=order.id)


def new_order_url(client_id: int | None = None) -> str | None:
    """The order wizard (02 SCR-2), with the client chosen when it is known."""
    return endpoint_url(ORDER_NEW, **({"client_id": client_id} if client_id else {}))


def status_badge(subscription: Subscription) -> Markup:
    colour = STATUS_COLOURS.get(subscription.status, "#1f5fa8")
    return Markup('<span class="badge" data-status="{}"><span class="swatch" aria-hidden="true" '
                  'style="display:inline-block;width:.8em;height:.8em;border-radius:50%;'
                  'background:{}"></span> {}</span>').format(subscription.status.value, colour,
                                                             subscription.status_label)


def _yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


def _detail_link(text_of: Callable[[Subscription], object]):
    def render(subscription: Subscription) -> Markup:
        return Markup('<a href="{}">{}</a>').format(
            url_for("subscriptions.detail", subscription_id=subscription.id),
            text_of(subscription))
    return render


def parse_day(value: str) -> date | None:
    """A day typed as 22.11.2026 or 2026-11-22."""
    value = (value or "").strip()
    for pattern in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, pattern).date()  # noqa: DTZ007 - a calendar day
        except ValueError:
            continue
    return None


# --- the list (SCR-1) ------------------------------------------------------------------------

def _subscriptions_query(reseller):
    return (scoped_select(Subscription, reseller)
            .join(Client, Client.id == Subscription.client_id)
            .join(Plan, Plan.id == Subscription.plan_id)
            .outerjoin(StaffMember, StaffMember.id == Subscription.manager_id)
            .options(contains_eager(Subscription.client), contains_eager(Subscription.plan),
                     contains_eager(Subscription.manager)))


class PlanFilter:
    """The acting reseller's plans (SCR-1 "Тарифный план"); another tenant's id finds nothing,
    the query being scoped already."""

    def __init__(self, key: str, label):
        self.key, self.label, self.column = key, label, Subscription.plan_id

    @property
    def choices(self) -> list[tuple[str, str]]:
        plans = db.session.execute(select(Plan.id, Plan.name).where(
            Plan.reseller_id == g.acting_reseller.id).order_by(Plan.name, Plan.id)).all()
        return [(str(plan_id), name) for plan_id, name in plans]

    def apply(self, query, raw: str):
        value = (raw or "").strip()
        if not value:
            return query
        try:
            return query.where(self.column == int(value))
        except ValueError:
            return query.where(false())


@dataclass
class DayFilter(Filter):
    """One end of a date range, both ends included (SCR-1 "Дата начала")."""

    lower: bool = True

    def apply(self, query, raw: str):
        value = (raw or "").strip()
        if not value:
            return query
        day = parse_day(value)
        if day is None:
            return query.where(false())
        return query.where(self.column >= day if self.lower else self.column <= day)


SUBSCRIPTIONS = register_list(ListDefinition(
    key="subscriptions", title=_l("Subscriptions"), model=Subscription,
    permission="subscriptions.view", query=_subscriptions_query,
    columns=[
        Column("id", "ID", sort=Subscription.id, render=_detail_link(lambda s: s.id)),
        Column("name", _l("Name"), sort=Subscription.name, search=Subscription.name,
               render=_detail_link(lambda s: s.name)),
        Column("client", _l("Client"), sort=Client.name, search=Client.name,
               value=lambda s: s.client.name,
               render=lambda s: link_to(CLIENT_PAGE, s.client.name, client_id=s.client_id)),
        Column("plan", _l("Plan"), sort=Plan.name, search=Plan.name,
               value=lambda s: s.plan.name,
               render=lambda s: link_to(PLAN_PAGE, s.plan.name, plan_id=s.plan_id)),
        Column("sku", _l("SKU (Offer ID)"), sort=Plan.sku, search=Plan.sku,
               value=lambda s: s.plan.sku, default=False),
        Column("billing_type", _l("Billing type"), sort=Plan.billing_type,
               value=lambda s: str(BILLING_TYPE_LABELS[s.plan.billing_type]), default=False),
        # 02 A-42: the manager and the creation date are in the chooser, hidden by default.
        Column("manager", _l("Manager"), sort=StaffMember.name, search=StaffMember.name,
               value=lambda s: s.manager.name if s.manager else "", default=False),
        Column("is_trial", _l("Trial"), sort=Subscription.is_trial),
        Column("status", _l("Status"), sort=Subscription.status,
               value=lambda s: str(s.status_label), render=status_badge),
        Column("payment_model", _l("Payment model"), sort=Subscription.payment_model,
               value=lambda s: str(s.payment_model_label)),
        Column("updated_at", _l("Updated"), sort=Subscription.updated_at),
        Column("start_date", _l("Start date"), sort=Subscription.start_date),
        Column("expiry_date", _l("Expiry date"), sort=Subscription.expiry_date),
        # 02 R-LST-3.
        Column("individual_prices", _l("Individual price"), sort=Subscription.individual_prices),
        Column("created_at", _l("Created"), sort=Subscription.created_at, default=False),
        Column("currency", _l("Currency"), sort=Subscription.currency, default=False),
    ],
    filters=[
        Filter("status", _l("Status"), Subscription.status,
               choices=[(s.value, SUBSCRIPTION_STATUS_LABELS[s]) for s in SubscriptionStatus]),
        PlanFilter("plan", _l("Plan")),
        DayFilter("start_from", _l("Start date from"), Subscription.start_date),
        DayFilter("start_to", _l("Start date to"), Subscription.start_date, lower=False),
    ],
))


@bp.get("/")
@staff_required("subscriptions.view")
def list_subscriptions():
    return list_response(SUBSCRIPTIONS, page_template="subscriptions/list.html",
                         title=SUBSCRIPTIONS.title, order_url=new_order_url(),
                         can_order=current_user.can("orders.manage"))


# --- the subscription page (SCR-3) -------------------------------------------------------------

@dataclass(frozen=True)
class Actions:
    """Which toolbar operations the status allows (02 SCR-3 table; A-24, A-25, A-39)."""

    stop: bool
    activate: bool
    renew: bool
    change_expiry: bool
    close_charges: bool
    delete: bool
    change_resources: bool
    switch_plan: bool

    @classmethod
    def of(cls, subscription: Subscription, today: date) -> Actions:
        billing = subscription.plan.billing_type
        # every operation but stop and delete is off while the subscription is blocked.
        blocked = subscription.status == S.BLOCKED
        return cls(
            # a no-refund subscription is not stopped.
            stop=subscription.status in WORKING and billing != BillingType.NO_REFUND,
            activate=subscription.status == S.STOPPED,
            # R-DET-8: only inside the manual-renewal window; never unlimited or trial; A-25:
            # a no-refund subscription not before its expiry day.
            renew=(not blocked and subscription.status not in FINISHED
                   and subscription.status != S.NEW_ORDER and not subscription.is_trial
                   and subscription.expiry_date is not None
                   and not (billing == BillingType.NO_REFUND and today < subscription.expiry_date)
                   and renewal_window_open(subscription, today)),
            # R-EXD-3: only on the reseller's own plans.
            change_expiry=not subscription.plan.is_delegated and subscription.status != S.DELETED,
            close_charges=not blocked and subscription.status not in (*FINISHED, S.NEW_ORDER),
            # no deletion for G Suite and no-refund subscriptions.
            delete=(subscription.status not in FINISHED
                    and billing not in (BillingType.GSUITE, BillingType.NO_REFUND)),
            change_resources=subscription.status in WORKING and bool(subscription.resources),
            # R-SW-1, R-SW-2, R-SW-10: an active (so not blocked) subscription of a switchable
            # billing type whose plan has switch targets.
            switch_plan=(subscription.status == S.ACTIVE and billing not in NOT_SWITCHED
                         and bool(switch_targets(subscription))))


def _active_staff(subscription: Subscription) -> list[StaffMember]:
    members = db.session.scalars(
        scoped_select(StaffMember, g.acting_reseller)
        .where(or_(StaffMember.status == StaffStatus.ACTIVE,
                   StaffMember.id == (subscription.manager_id or 0)))
        .order_by(StaffMember.name, StaffMember.id)).all()
    return list(members)


def _update_form(subscription: Subscription, *, posted: bool) -> SubscriptionUpdateForm:
    if posted:
        form = SubscriptionUpdateForm()
    else:
        form = SubscriptionUpdateForm(
            formdata=None, name=subscription.name,
            manager_id=str(subscription.manager_id or ""), promo_code=subscription.promo_code,
            auto_renew=subscription.auto_renew, auto_renew_locked=subscription.auto_renew_locked,
            auto_renew_point_days=subscription.auto_renew_point_days,
            manual_renewal_point_days=subscription.manual_renewal_point_days)
    # Only the tenant's staff can be chosen: the choice list is the check.
    form.manager_id.choices = [("", _("Not assigned"))] + [
        (str(m.id), m.name) for m in _active_staff(subscription)]
    return form


def _tenant_rows(model, subscription: Subscription, *conditions, order=None) -> list:
    return list(db.session.scalars(
        select(model).where(model.reseller_id == subscription.reseller_id, *conditions)
        .order_by(order if order is not None else model.id.desc())))


def _charges(subscription: Subscription) -> list[Charge]:
    return _tenant_rows(Charge, subscription, Charge.subscription_id == subscription.id)


def _transactions(subscription: Subscription) -> list[Transaction]:
    """The balance movements of its charges, newest first (04b §4.13)."""
    charge_ids = select(Charge.id).where(Charge.reseller_id == subscription.reseller_id,
                                         Charge.subscription_id == subscription.id)
    return _tenant_rows(Transaction, subscription, Transaction.charge_id.in_(charge_ids))


def _render(subscription: Subscription, tab: str = "general", *, status: int = 200,
            dialog: str = "", **extra):
    """The subscription page on one tab; forms given replace the fresh ones (errors)."""
    tab = tab if tab in dict(TABS) else "general"
    today = clock.today()
    can_manage = current_user.can("subscriptions.manage")
    context = {
        "subscription": subscription, "tab": tab, "tabs": TABS, "can_manage": can_manage,
        "actions": Actions.of(subscription, today) if can_manage else None,
        "dialog": dialog, "S": S,
        "stop_form": extra.pop("stop_form", None) or SubscriptionStopForm(prefix="stop",
                                                                          formdata=None),
        "activate_form": extra.pop("activate_form", None) or SubscriptionActivateForm(
            prefix="activate", formdata=None),
        "expiry_form": extra.pop("expiry_form", None) or ExpiryDateChangeForm(
            prefix="expiry", formdata=None, expiry_date=subscription.expiry_date),
        "status_badge": status_badge, "link_to": link_to, "order_url": order_url,
        "period_label": period_label, "quantity": quantity, "yes_no": _yes_no,
        "as_minutes": as_minutes, "signed_money": signed_money,
    }
    if tab == "general":
        context["form"] = extra.pop("form", None) or _update_form(subscription, posted=False)
        context["show_error"] = subscription.status in ERROR_STATUSES and subscription.last_error
    elif tab == "resources":
        context.setdefault("resource_errors", {})
        context.setdefault("posted", {})
    elif tab == "prices":
        context["prices"] = price_tab(subscription, today)
        context["mode_labels"] = RENEWAL_PRICE_MODE_LABELS
        context["months_text"], context["price_value"] = months_text, price_value
        context.setdefault("price_errors", {})
        context.setdefault("posted", {})
    elif tab == "orders":
        context["orders"] = _tenant_rows(Order, subscription,
                                         Order.subscription_id == subscription.id)
    elif tab == "charges":
        context["charges"] = _charges(subscription)
    elif tab == "transactions":
        context["transactions"] = _transactions(subscription)
    elif tab == "events":
        context["events"] = events_for(subscription)
    context.update(extra)
    return render_template("subscriptions/detail.html", **context), status


def _to_page(subscription: Subscription, tab: str = "general"):
    values = {"subscription_id": subscription.id}
    if tab != "general":
        values["tab"] = tab
    return redirect(url_for("subscriptions.detail", **values))


def _to_order(subscription: Subscription, order: Order):
    """The new order's page; without the orders pages, the Orders tab names its number."""
    flash(_("Order %(number)s is created.", number=order.number), "success")
    return redirect(order_url(order) or url_for("subscriptions.detail",
                                                subscription_id=subscription.id, tab="orders"))


def _run(apply: Callable[[], object], *, form=None) -> tuple[bool, object]:
    """Call one service and commit; a refusal rolls back and says why (next to its field)."""
    try:
        result = apply()
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        attach_error(form, error)
        return False, error.status
    return True, result


@bp.get("/<int:subscription_id>")
@staff_required("subscriptions.view")
def detail(subscription_id):
    subscription = tenant_get_or_404(Subscription, subscription_id)
    return _render(subscription, request.args.get("tab", "general"))


@bp.post("/<int:subscription_id>")
@staff_required("subscriptions.manage")
def update(subscription_id):
    """Save the General tab (02 R-DET-11, R-DET-9)."""
    subscription = tenant_get_or_404(Subscription, subscription_id)
    form = _update_form(subscription, posted=True)
    if not form.validate_on_submit():
        return _render(subscription, "general", status=422, form=form)
    fields = {"name": form.name.data, "manager_id": int(form.manager_id.data)
              if form.manager_id.data else None, "promo_code": form.promo_code.data or "",
              "auto_renew_point_days": form.auto_renew_point_days.data,
              "manual_renewal_point_days": form.manual_renewal_point_days.data}
    # R-DET-6: the auto-renew switches are not on the page of an unlimited subscription.
    if not subscription.is_unlimited:
        fields.update(auto_renew=form.auto_renew.data,
                      auto_renew_locked=form.auto_renew_locked.data)
    done, status = _run(lambda: update_subscription(subscription, actor=current_user, **fields),
                        form=form)
    if not done:
        return _render(subscription, "general", status=status, form=form)
    flash(_("The subscription is saved."), "success")
    return _to_page(subscription)


@bp.post("/<int:subscription_id>/stop")
@staff_required("subscriptions.manage")
def stop(subscription_id):
    """Stop with a reason and a comment (02 SCR-8, R-STP-3)."""
    subscription = tenant_get_or_404(Subscription, subscription_id)
    form = SubscriptionStopForm(prefix="stop")
    if not form.validate_on_submit():
        return _render(subscription, status=422, dialog="stop", stop_form=form)
    done, status = _run(lambda: stop_subscription(
        subscription, reason=form.reason.data, comment=form.comment.data or "",
        actor=current_user, on=clock.today()), form=form)
    if not done:
        return _render(subscription, status=status, dialog="stop", stop_form=form)
    flash(_("The subscription is being stopped."), "success")
    return _to_page(subscription)


@bp.post("/<int:subscription_id>/activate")
@staff_required("subscriptions.manage")
def activate(subscription_id):
    """Activate a stopped subscription with a reason and a comment (02 SCR-14, R-ACT-1..5)."""
    subscription = tenant_get_or_404(Subscription, subscription_id)
    form = SubscriptionActivateForm(prefix="activate")
    if not form.validate_on_submit():
        return _render(subscription, status=422, dialog="activate", activate_form=form)
    done, status = _run(lambda: activate_subscription(
        subscription, reason=form.reason.data, comment=form.comment.data or "",
        actor=current_user, on=clock.today()), form=form)
    if not done:
        return _render(subscription, status=status, dialog="activate", activate_form=form)
    flash(_("The subscription is being activated."), "success")
    return _to_page(subscription)


# --- renew (SCR-12) ----------------------------------------------------------------------------

@dataclass
class Renewal:
    """What the renewal page has been told so far; nothing is stored until «Подтвердить»."""

    subscription: Subscription
    periods: list[PlanPeriod]
    period: PlanPeriod
    period_error: str = ""  # the refusal of the chosen period, beside the select
    message: str = ""  # a refusal that names no field: nothing can be renewed now
    quote: Quote | None = None

    @property
    def selected_id(self) -> int:
        current = self.subscription.plan_period_id
        return self.period.id if self.period in self.periods else current

    @property
    def price_mode(self) -> RenewalPriceMode | None:
        """R-MREN-3: the prices an individually priced subscription renews at (as the service
        picks them: no mode means the plan's)."""
        if not self.subscription.individual_prices:
            return None
        return self.subscription.renewal_price_mode or RenewalPriceMode.PLAN

    def warnings(self, today: date) -> list[str]:
        """02 R-MREN-2 (WARN-ONLY; A-24, A-25 hide the toolbar button)."""
        s, result = self.subscription, []
        if s.status == S.BLOCKED:
            result.append(_("The subscription is blocked: renewing it may make the platform "
                            "behave incorrectly."))
        if (s.plan.billing_type == BillingType.NO_REFUND and s.expiry_date is not None
                and today < s.expiry_date):
            result.append(_("A no-refund subscription renewed before it expires fails to be "
                            "provisioned."))
        return result


# PostgreSQL's integer: a larger id is no row, not a database error.
MAX_ID = 2**31 - 1


def _load_renewal(subscription: Subscription, source) -> Renewal:
    current = subscription.plan_period
    periods = renewal_periods(subscription)
    if current not in periods:
        periods.insert(0, current)  # the service renews for the current period, published or not
    renewal = Renewal(subscription, periods, current)
    raw = (source.get("period_id") or "").strip()
    if raw:
        chosen = next((p for p in periods if str(p.id) == raw), None)
        if chosen is None and raw.isdigit() and int(raw) <= MAX_ID:
            # Another period of the tenant (another plan's, unpublished): the service says why.
            chosen = db.session.scalar(scoped_select(PlanPeriod)
                                       .where(PlanPeriod.id == int(raw)))
        if chosen is None:
            renewal.period_error = _("Choose a published period of the subscription's plan.")
        else:
            renewal.period = chosen
    return renewal


def _render_renewal(renewal: Renewal, step: str, status: int = 200):
    if step == "lines" and renewal.quote is None:
        step = "period"
    context = {"r": renewal, "subscription": renewal.subscription, "step": step,
               "warnings": renewal.warnings(clock.today()), "link_to": link_to,
               "plan_label": plan_label, "period_label": period_label, "quantity": quantity,
               "period_text": period_text, "mode_labels": RENEWAL_PRICE_MODE_LABELS}
    return render_template("subscriptions/renew.html", **context), status


def _renewal_refused(renewal: Renewal, error: DomainError, step: str):
    """The period's refusal beside the select; any other stops the renewal (no «Далее»)."""
    if error.field == "period_id":
        renewal.period_error = str(error)
        return _render_renewal(renewal, "period", error.status)
    renewal.message = str(error)
    return _render_renewal(renewal, step, error.status)


@bp.get("/<int:subscription_id>/renew")
@staff_required("subscriptions.manage")
def renew_page(subscription_id):
    """«Продление подписки» (02 SCR-12, R-MREN-4): the client, product and plan with the period
    to choose (1); «Далее» shows the renewal order's lines, term and total (2). Both are reads:
    only «Подтвердить» (the POST) writes."""
    subscription = tenant_get_or_404(Subscription, subscription_id)
    renewal = _load_renewal(subscription, request.args)
    step = "lines" if request.args.get("step") == "lines" else "period"
    if renewal.period_error:
        return _render_renewal(renewal, "period", 422)
    try:
        renewal.quote = quote_renewal_order(subscription, on=clock.today(),
                                            period=renewal.period)
        check_no_open_order(subscription)  # 03 ORD-2: said now, not after «Подтвердить»
    except DomainError as error:
        return _renewal_refused(renewal, error, step)
    return _render_renewal(renewal, step)


@bp.post("/<int:subscription_id>/renew")
@staff_required("subscriptions.manage")
def renew(subscription_id):
    """«Подтвердить»: place the renewal order for the chosen period (the subscription's own when
    none is posted) and open it (02 R-MREN-4, R-DET-8; 03 ORD-2)."""
    subscription = tenant_get_or_404(Subscription, subscription_id)
    renewal = _load_renewal(subscription, request.form)
    if renewal.period_error:
        return _render_renewal(renewal, "period", 422)
    try:
        order = place_renewal_order(subscription, actor=current_user, on=clock.today(),
                                    ip=request.remote_addr or "", period=renewal.period)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        try:
            # The lines still shown beside the refusal, when they can be.
            renewal.quote = quote_renewal_order(subscription, on=clock.today(),
                                                period=renewal.period)
        except DomainError:
            renewal.quote = None
        return _renewal_refused(renewal, error, "lines")
    return _to_order(subscription, order)


@bp.post("/<int:subscription_id>/expiry-date")
@staff_required("subscriptions.manage")
def change_expiry(subscription_id):
    """The service operation of 02 SCR-9 / R-EXD-1..4: no charges are made."""
    subscription = tenant_get_or_404(Subscription, subscription_id)
    form = ExpiryDateChangeForm(prefix="expiry")
    if not form.validate_on_submit():
        return _render(subscription, status=422, dialog="expiry", expiry_form=form)
    done, status = _run(lambda: change_expiry_date(
        subscription, expiry_date=form.expiry_date.data, comment=form.comment.data or "",
        actor=current_user), form=form)
    if not done:
        return _render(subscription, status=status, dialog="expiry", expiry_form=form)
    flash(_("The expiry date is changed."), "success")
    return _to_page(subscription)


@bp.post("/<int:subscription_id>/close-charges")
@staff_required("subscriptions.manage")
def close_charges(subscription_id):
    """Close every charge by hand, after the confirmation (02 SCR-10, R-CLS-3; 04a CH-49)."""
    subscription = tenant_get_or_404(Subscription, subscription_id)
    done, status = _run(lambda: close_charges_manually(subscription, actor=current_user,
                                                       on=clock.today()))
    if not done:
        return _render(subscription, status=status)
    flash(_("The charges of the subscription are closed."), "success")
    return _to_page(subscription, "charges")


@bp.post("/<int:subscription_id>/delete")
@staff_required("subscriptions.manage")
def delete(subscription_id):
    """Delete, after the confirmation (02 SCR-13, R-DEL-1)."""
    subscription = tenant_get_or_404(Subscription, subscription_id)
    done, status = _run(lambda: delete_subscription(subscription, actor=current_user,
                                                    on=clock.today()))
    if not done:
        return _render(subscription, status=status)
    flash(_("The subscription is being deleted."), "success")
    return _to_page(subscription)


# --- resources (SCR-4) -------------------------------------------------------------------------

def _resource_field(resource) -> str:
    return f"additional-{resource.id}"


@bp.post("/<int:subscription_id>/resources")
@staff_required("subscriptions.manage")
def change_resources(subscription_id):
    """Apply new additional quantities: a change order (02 §4.10, SCR-4; 03 ORD-4)."""
    subscription = tenant_get_or_404(Subscription, subscription_id)
    posted = {r.id: (request.form.get(_resource_field(r)) or "").strip()
              for r in subscription.resources}
    errors: dict[int, str] = {}
    quantities: dict[int, Decimal] = {}
    for resource in subscription.resources:
        raw = posted[resource.id].replace(",", ".")
        try:
            additional = Decimal(raw) if raw else resource.additional
        except InvalidOperation:
            additional = None
        if additional is None or not additional.is_finite() or additional < 0 \
                or additional != additional.to_integral_value():
            errors[resource.id] = _("Enter a whole number, 0 or more.")
            continue
        # The service takes the total per plan resource (02 §2.2: total = included + additional).
        quantities[resource.plan_resource_id] = resource.included + additional
    if errors:
        return _render(subscription, "resources", status=422, resource_errors=errors,
                       posted=posted)
    try:
        order = place_change_order(subscription, quantities=quantities, actor=current_user,
                                   on=clock.today(), ip=request.remote_addr or "")
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        by_plan_resource = {f"resources.{r.plan_resource_id}": r.id
                            for r in subscription.resources}
        row = by_plan_resource.get(error.field or "")
        if row is not None:
            errors[row] = str(error)
        else:
            flash(str(error), "error")
        return _render(subscription, "resources", status=error.status, resource_errors=errors,
                       posted=posted)
    return _to_order(subscription, order)


# --- prices (SCR-5) ------------------------------------------------------------------------------

FEE_LABELS = {"setup": _l("Setup fee (one-off)"), "recurring": _l("Subscription fee (monthly)"),
              "renewal": _l("Renewal fee (one-off)"), "transfer": _l("Transfer fee (one-off)"),
              "overuse": _l("Overuse fee (one-off)")}
# (fee kind, price column) in the manual's order (R-PRC-4, R-PRC-5).
PERIOD_FEES = (("setup", "setup_fee"), ("recurring", "monthly_fee"),
               ("renewal", "renewal_fee"), ("transfer", "transfer_fee"))
RESOURCE_FEES = (("setup", "setup_fee"), ("recurring", "monthly_fee"),
                 ("overuse", "overuse_fee"), ("renewal", "renewal_fee"))
MONTHLY_FEE_FIELD = "monthly_fee"
ZERO = Decimal(0)


@dataclass
class PriceRow:
    """One price type of a period or a resource: cost and plan price in the plan's currency,
    the price in force in its own (the subscription's snapshot or the plan's)."""

    kind: str
    cost: Decimal
    plan_price: Decimal
    sale: Decimal
    sale_currency: str
    months: Decimal | None  # the period in months; None when unlimited
    input_name: str | None = None  # the input of an editable individual price (R-PRC-10)

    @property
    def label(self):
        return FEE_LABELS[self.kind]

    @property
    def recurring(self) -> bool:
        return self.kind == "recurring"

    @property
    def period_sum(self) -> Decimal | None:
        """R-PRC-3: the monthly price × months; a one-off price as it is."""
        if not self.recurring:
            return self.sale
        if self.months is None:
            return None
        return round_money(self.sale * self.months, self.sale_currency)


@dataclass
class PriceGroup:
    key: str
    name: Markup
    rows: list[PriceRow]


@dataclass
class PriceTab:
    plan: Plan
    individual: bool
    periods: list[PriceGroup]
    resources: list[PriceGroup]


def months_text(value: Decimal | None) -> str:
    """A period in months, to three decimals without trailing zeros (R-PRC-3): 12, 1, 0.548."""
    return "-" if value is None else format_decimal(value, format="#,##0.###")


def price_value(value: Decimal) -> str:
    """A price as an input's value: 15.00."""
    return f"{value.quantize(Decimal('0.01')):f}"


def _upstream(model, parent_id: int | None):
    """The provider's period or resource a delegated copy is priced from: its cost (05 R-PL-4)."""
    if parent_id is None:
        return None
    with across_tenants():  # the upstream reseller's own row, read on purpose
        return db.session.get(model, parent_id)


def _price_rows(fees, *, plan_row, snapshot, keep: bool, months: Decimal | None, currency: str,
                plan_currency: str, editable_field: str | None) -> list[PriceRow]:
    upstream = _upstream(type(plan_row), plan_row.parent_id)
    rows = []
    for kind, column in fees:
        plan_price = getattr(plan_row, column)
        cost = getattr(upstream, column) if upstream is not None else ZERO
        # R-PRC-2: the snapshot taken at ordering applies to a fixed-price plan and to
        # individual prices; otherwise today's plan price. Overuse is never snapshotted.
        snapped = keep and hasattr(snapshot, column)
        sale = getattr(snapshot, column) if snapped else plan_price
        input_name = editable_field if kind == "recurring" else None
        # a price type is listed when something about it is not zero.
        if input_name is None and not (cost or plan_price or sale):
            continue
        rows.append(PriceRow(kind, cost, plan_price, sale,
                             currency if snapped else plan_currency,
                             months if kind == "recurring" else None, input_name))
    return rows


def resource_title(plan_resource: PlanResource) -> Markup:
    """R-PRC-5, A-8: "{name} (min.: X, max.: Y)", "{name} (unlimited)"; the name links to the
    plan resource."""
    name = link_to(PLAN_RESOURCE_PAGE, plan_resource.name, plan_id=plan_resource.plan_id,
                   resource_id=plan_resource.id)
    if plan_resource.unlimited:
        suffix = _("(unlimited)")
    else:
        suffix = _("(min.: %(minimum)s, max.: %(maximum)s)",
                   minimum=quantity(plan_resource.minimum),
                   maximum=quantity(plan_resource.limit))
    return Markup("{} {}").format(name, suffix)


def price_tab(subscription: Subscription, today: date) -> PriceTab:
    """The Prices tab (02 SCR-5, R-PRC-1..R-PRC-6): the subscription's period and resources
    with cost, plan price, price in force and the sum for the period."""
    plan, period = subscription.plan, subscription.plan_period
    individual = subscription.individual_prices
    keep = individual or plan.fixed_price
    months = period_months(period, today, plan.provisioning_rule.financial_day) or None
    common = {"keep": keep, "months": months, "currency": subscription.currency,
              "plan_currency": plan.currency}
    period_rows = _price_rows(PERIOD_FEES, plan_row=period, snapshot=subscription,
                              editable_field=MONTHLY_FEE_FIELD if individual else None,
                              **common)
    periods = []
    if period_rows:  # R-PRC-4: hidden without prices
        periods.append(PriceGroup(
            f"price-period-{period.id}",
            link_to(PERIOD_PAGE, period_label(period), plan_id=plan.id, period_id=period.id),
            period_rows))
    resources = []
    for resource in subscription.resources:
        rows = _price_rows(RESOURCE_FEES, plan_row=resource.plan_resource, snapshot=resource,
                           editable_field=_price_field(resource) if individual else None,
                           **common)
        if rows:  # R-PRC-5: a resource without prices is not listed
            resources.append(PriceGroup(f"price-resource-{resource.id}",
                                        resource_title(resource.plan_resource), rows))
    return PriceTab(plan, individual, periods, resources)


def _price_field(resource: SubscriptionResource) -> str:
    return f"resource-{resource.id}"


def _parse_price(raw: str) -> Decimal | None:
    """A typed price; the service checks the sign and the decimals (R-PRC-7)."""
    try:
        value = Decimal(raw.replace(",", ".").replace(" ", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


@bp.post("/<int:subscription_id>/prices")
@staff_required("subscriptions.manage")
def set_prices(subscription_id):
    """«Применить» on the Prices tab: new individual monthly prices and the renewal price mode
    (02 R-PRC-6..R-PRC-10). Only a changed value is sent, so an untouched price stays as it is
    (an individual price is not made up from the plan's)."""
    subscription = tenant_get_or_404(Subscription, subscription_id)
    fields = {MONTHLY_FEE_FIELD: (None, subscription.monthly_fee)}
    fields.update({_price_field(r): (r.id, r.monthly_fee) for r in subscription.resources})
    posted = {name: (request.form.get(name) or "").strip() for name in fields}
    errors: dict[str, str] = {}
    monthly_fee, resources = None, {}
    for name, (resource_id, current) in fields.items():
        raw = posted[name]
        if not raw:
            continue
        value = _parse_price(raw)
        if value is None:
            errors[name] = _("A price is a number, 0 or more, with at most two decimals.")
        elif value != current:
            if resource_id is None:
                monthly_fee = value
            else:
                resources[resource_id] = value
    mode = posted["renewal_price_mode"] = request.form.get("renewal_price_mode") or None
    if mode == subscription.renewal_price_mode:
        mode = None  # unchanged
    if errors:
        return _render(subscription, "prices", status=422, price_errors=errors, posted=posted)
    try:
        set_individual_prices(subscription, monthly_fee=monthly_fee, resources=resources,
                              renewal_price_mode=mode, actor=current_user)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        name = (error.field or "").replace("resources.", "resource-")
        if name in fields or name == "renewal_price_mode":
            errors[name] = str(error)
        else:
            flash(str(error), "error")
        return _render(subscription, "prices", status=error.status, price_errors=errors,
                       posted=posted)
    flash(_("The prices are applied: new charges of the subscription use them."), "success")
    if not subscription.is_unlimited and subscription.renewal_price_mode is not None:
        # R-PRC-9: a renewal picks its prices by the renewal price mode.
        flash(_("The subscription is not unlimited: when it is renewed, the prices are chosen "
                "by its renewal price mode (%(mode)s).",
                mode=RENEWAL_PRICE_MODE_LABELS[subscription.renewal_price_mode]), "warning")
    return _to_page(subscription, "prices")


# --- switch plan (SCR-6) -----------------------------------------------------------------------

@dataclass
class SwitchRow:
    resource: PlanResource
    value: str
    error: str | None


@dataclass
class Switch:
    """What the switch page has been told so far; nothing is stored until «Отправить»."""

    subscription: Subscription
    form: SwitchPlanForm
    plan: Plan | None
    period: PlanPeriod | None
    periods: list[PlanPeriod]
    raw_quantities: dict[int, str]
    errors: dict[int, str] = field(default_factory=dict)
    quote: Quote | None = None
    message: str = ""  # a refusal that names no field, shown on the component itself

    def defaults(self) -> dict[int, Decimal]:
        return default_quantities(self.subscription, self.plan) if self.plan else {}

    def quantities(self) -> dict[int, str]:
        """Only the totals changed from the prefilled ones: a shared resource left as it was
        is the service's to judge against the new limit (A-26)."""
        if self.plan is None:
            return {}
        defaults, result = self.defaults(), {}
        for resource in self.plan.resources:
            raw = self.raw_quantities.get(resource.id)
            if raw is None or raw == "":
                continue
            try:
                if Decimal(raw) == defaults[resource.id]:
                    continue
            except InvalidOperation:
                pass
            result[resource.id] = raw
        return result

    def rows(self) -> list[SwitchRow]:
        """R-SW-5: a shared resource is prefilled with its quantity under the old plan."""
        defaults = self.defaults()
        return [SwitchRow(r, self.raw_quantities.get(r.id) or quantity(defaults[r.id]),
                          self.errors.get(r.id)) for r in (self.plan.resources if self.plan
                                                           else [])]


def plan_label(plan: Plan) -> str:
    """01 R-FORM-1: records are picked as ID<id> - <name>."""
    return f"ID{plan.id} - {plan.name}"


def period_text(value) -> str:
    """An order line's period in months with three decimals (03 ORD-14, D2)."""
    return "" if value is None else format_decimal(value, format="#,##0.000")


def _tenant_plan(raw) -> Plan | None:
    try:
        wanted = int(raw)
    except (TypeError, ValueError):
        return None
    return db.session.scalar(scoped_select(Plan).where(Plan.id == wanted))


def _load_switch(subscription: Subscription) -> Switch:
    posted = request.method == "POST"
    source = request.form if posted else request.args
    if posted:
        form = SwitchPlanForm()
    else:
        form = SwitchPlanForm(formdata=None, plan_id=source.get("plan_id", ""),
                              period_id=source.get("period_id", ""))
    plan = _tenant_plan(form.plan_id.data)
    periods = switch_periods(plan, subscription) if plan is not None else []
    if len(periods) == 1:
        # R-SW-4: the only period is chosen and cannot be changed.
        form.period_id.data = str(periods[0].id)
    period = next((p for p in periods if str(p.id) == str(form.period_id.data or "")), None)
    if period is None:
        form.period_id.data = ""
    raw = {int(key[4:]): value.strip() for key, value in source.items()
           if key.startswith("res-") and key[4:].isdigit()}
    switch = Switch(subscription, form, plan, period, periods, raw)
    targets = switch_targets(subscription)
    if plan is not None and plan not in targets:
        targets.append(plan)  # the service says why this one is refused
    form.plan_id.choices = [("", "—")] + [(str(p.id), plan_label(p)) for p in targets]
    choices = [(str(p.id), period_label(p)) for p in periods]
    form.period_id.choices = choices if len(choices) == 1 else [("", "—")] + choices
    return switch


def _switch_selection_ok(w: Switch) -> bool:
    valid = w.form.validate_on_submit()
    asked = (w.form.plan_id.data or "").strip()
    for name, obj, message in (
            # Another tenant's plan is no switch target either (the service's words).
            ("plan_id", w.plan, _("The plan is not among the plans this subscription can "
                                  "switch to.") if asked else _("Choose a plan.")),
            ("period_id", w.period, _("Choose a period."))):
        field_ = w.form[name]
        if obj is None and not field_.errors:
            field_.errors = [*list(field_.errors or []), message]
            valid = False
    return valid


def _render_switch(w: Switch, step: str, status: int = 200):
    context = {"w": w, "form": w.form, "step": step, "subscription": w.subscription,
               "rows": w.rows() if step == "resources" else [], "plan_label": plan_label,
               "period_label": period_label, "quantity": quantity, "period_text": period_text,
               "link_to": link_to}
    partial = is_htmx() and request.headers.get("HX-Boosted") != "true"
    template = "subscriptions/_switch.html" if partial else "subscriptions/switch.html"
    return render_template(template, **context), status


def _switch_refused(w: Switch, error: DomainError, *, status: int | None = None):
    """Show a refusal next to what it names: a resource row, or the plan or period select."""
    status = status or error.status
    field_ = error.field or ""
    resource_id = field_.partition(".")[2]
    if field_.startswith("resources.") and resource_id.isdigit():
        w.errors[int(resource_id)] = str(error)
        return _render_switch(w, "resources", status)
    if field_ in ("plan_id", "period_id"):
        attach_error(w.form, error)
        return _render_switch(w, "start", status)
    w.message = str(error)
    return _render_switch(w, "resources" if w.quote is not None else "start", status)


def _quote_switch(w: Switch) -> None:
    w.quote = quote_switch_order(w.subscription, w.plan, w.period, quantities=w.quantities(),
                                 on=clock.today())


@bp.route("/<int:subscription_id>/switch", methods=["GET", "POST"])
@staff_required("subscriptions.manage")
def switch_plan(subscription_id):
    """«Сменить план» (02 SCR-6, §4.12): choose the plan and period (1), then the resource
    totals with the switch order's lines, recomputed as they change (2); «Отправить» places
    the switch order (R-SW-6)."""
    subscription = tenant_get_or_404(Subscription, subscription_id)
    w = _load_switch(subscription)
    if request.method == "GET":
        return _render_switch(w, "start")
    if request.form.get("action") == "back":
        return _render_switch(w, "start")
    if not _switch_selection_ok(w):
        return _render_switch(w, "start", 422)
    if request.form.get("action") == "confirm":
        try:
            order = place_switch_order(subscription, w.plan, w.period,
                                       quantities=w.quantities(), actor=current_user,
                                       on=clock.today(), ip=request.remote_addr or "")
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            try:
                _quote_switch(w)  # the lines still shown beside the refusal, when they can be
            except DomainError:
                w.quote = None
            return _switch_refused(w, error)
        return _to_order(subscription, order)
    try:
        _quote_switch(w)
    except DomainError as error:
        # Not submitted yet: a quantity's refusal is shown in its row, the page is fine.
        return _switch_refused(w, error, status=200 if (error.field or "").startswith(
            "resources.") else None)
    return _render_switch(w, "resources")


@bp.get("/<int:subscription_id>/switch/periods")
@staff_required("subscriptions.manage")
def switch_plan_periods(subscription_id):
    """htmx: the period select of the plan just chosen (R-SW-4)."""
    subscription = tenant_get_or_404(Subscription, subscription_id)
    w = _load_switch(subscription)
    return render_template("subscriptions/_switch_periods.html", w=w, form=w.form,
                           subscription=subscription)


# --- the client page's Subscriptions tab --------------------------------------------------------

@bp.get("/client/<int:client_id>")
@staff_required("subscriptions.view")
def client_subscriptions(client_id):
    """The client's subscriptions, newest first, with the way to order one (01 R-CLV-1)."""
    client = tenant_get_or_404(Client, client_id)
    subscriptions = db.session.scalars(
        scoped_select(Subscription).where(Subscription.client_id == client.id)
        .order_by(Subscription.id.desc())).all()
    return render_template("subscriptions/client_tab.html", client=client,
                           subscriptions=subscriptions, status_badge=status_badge,
                           order_url=new_order_url(client.id),
                           can_order=current_user.can("orders.manage"),
                           active_tab="subscriptions",
                           users_tab="clients.client_users" in current_app.view_functions)


# --- home-page search (01 R-HOME-1) ---------------------------------------------------------

def find_subscriptions(reseller, query: str, limit: int) -> list[SearchHit]:
    """Subscriptions by ID (exact) or by name (a part, any case)."""
    wanted = id_in(query)
    condition = func.lower(Subscription.name).contains(query.lower(), autoescape=True)
    if wanted is not None:
        condition = or_(Subscription.id == wanted, condition)
    found = db.session.scalars(
        scoped_select(Subscription, reseller).where(condition)
        .order_by((Subscription.id == (wanted or 0)).desc(), Subscription.id.desc())
        .limit(limit)).all()
    return [SearchHit(f"ID{s.id} - {s.name}",
                      url_for("subscriptions.detail", subscription_id=s.id), str(s.status_label))
            for s in found]


register_search(SearchProvider("subscriptions", _l("Subscriptions"), "subscriptions.view",
                               find_subscriptions, 15))
