"""Placing orders: sales, change (resource quantities) and renewal orders, with their lines,
charges and payment (03 §3.1 O1, ORD-2..ORD-7; 02 §4.1, §4.10, §4.19–4.22; 04a §4.3–4.5).

The money of an order is its engine schedule: the lines' reference sums are the order total and
the charges add up to it to the cent (DECISIONS D3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.billing.engine.periods import term_end, term_start
from portal.billing.engine.schedule import LineInput, LinePlan, order_totals, plan_term
from portal.billing.models import ChargeStatus
from portal.billing.services.charges import (charges_of, delete_charge, new_charge,
                                             operator_language, related_operation_for)
from portal.billing.services.exchange_rates import convert_amount
from portal.billing.rules import rules_for
from portal.catalog.models import DurationUnit, Plan, PlanPeriod, PlanStatus, ResourceUnit
from portal.clients.models import Client, ClientStatus
from portal.core import audit
from portal.core.clock import clock
from portal.core.errors import ConflictError
from portal.core.money import to_decimal
from portal.extensions import db
from portal.notifications.events import emit
from portal.orders.models import (OPEN_ORDER_STATUSES, Order, OrderLine, OrderStatus, OrderType,
                                  Payment, PaymentKind, PaymentStatus)
from portal.orders.services.errors import OrderError
from portal.settings.models import DocumentType
from portal.settings.services import next_document_number
from portal.subscriptions.models import (PaymentModel, RenewalPriceMode, Subscription,
                                         SubscriptionResource, SubscriptionStatus)

ZERO = Decimal("0")
S = SubscriptionStatus


# -- terms ------------------------------------------------------------------------------------

def term_shape(period: PlanPeriod) -> tuple[int, int, Decimal | None]:
    """(months, days, months for the order total) of a plan period (D1, D3)."""
    if period.is_unlimited or not period.duration:
        return 0, 0, None
    if period.duration_unit == DurationUnit.YEAR:
        return period.duration * 12, 0, Decimal(period.duration * 12)
    if period.duration_unit == DurationUnit.MONTH:
        return period.duration, 0, Decimal(period.duration)
    return 0, period.duration, None


def term_bounds(start: date, period: PlanPeriod, k: int = 0) -> tuple[date, date]:
    months, days, _m = term_shape(period)
    return (term_start(start, months=months, days=days, k=k),
            term_end(start, months=months, days=days, k=k))


# -- pricing ----------------------------------------------------------------------------------

@dataclass
class QuoteLine:
    key: str
    fee_kind: str
    description: str
    plan: LinePlan
    resource_id: int | None = None  # plan resource id
    resource_name: str | None = None


@dataclass
class Quote:
    """What an order would cost, before anything is stored (the wizard's totals)."""

    currency: str
    term_first: date
    term_last: date
    lines: list[QuoteLine] = field(default_factory=list)
    # A switch gives back the unused rest of the old plan (02 R-SW-6, EX-16): a negative line.
    refund: Decimal = ZERO
    refund_months: Decimal = ZERO
    refund_text: str = ""
    totals: dict[int, Decimal] = field(default_factory=dict)  # resource totals ordered

    @property
    def gross(self) -> Decimal:
        return order_totals([line.plan for line in self.lines])[0] - self.refund

    @property
    def discount(self) -> Decimal:
        return order_totals([line.plan for line in self.lines])[1]

    @property
    def total(self) -> Decimal:
        return order_totals([line.plan for line in self.lines])[2] - self.refund


class _Prices:
    """Plan prices in the reseller's currency at the rate of the order day (04b FX-2)."""

    def __init__(self, client: Client, plan: Plan, on: date):
        self.reseller = client.reseller
        self.source, self.target, self.on = plan.currency, client.reseller.currency, on

    def __call__(self, amount) -> Decimal:
        amount = to_decimal(amount)
        if self.source == self.target or amount == 0:
            return amount
        return convert_amount(amount, from_currency=self.source, to_currency=self.target,
                              reseller=self.reseller, on=self.on)


def _line_text(order_type: OrderType, key: str, fee_kind: str, plan_name: str,
               resource_name: str | None) -> str:
    fee = {"recurring": _("subscription fee"), "setup": _("setup"),
           "renewal": _("renewal fee"), "transfer": _("transfer fee")}[fee_kind]
    if resource_name is None:
        what = (_('Subscription renewal "%(plan)s"', plan=plan_name)
                if order_type == OrderType.RENEWAL_ORDER
                else _('Subscription purchase "%(plan)s"', plan=plan_name))
    elif order_type == OrderType.RENEWAL_ORDER:
        what = _('Resource renewal "%(resource)s"', resource=resource_name)
    else:
        what = _('Resource increase "%(resource)s" for subscription "%(plan)s"',
                 resource=resource_name, plan=plan_name)
    return f"{what} ({fee})"


def _quote(order_type: OrderType, client: Client, plan: Plan, *, term_first: date,
           term_last: date, term_months: Decimal | None, on: date,
           inputs: list[tuple[LineInput, str | None, int | None]]) -> Quote:
    currency = client.reseller.currency
    plans = plan_term([item for item, _n, _r in inputs], term_first=term_first,
                      term_last=term_last, term_months=term_months,
                      financial_day=plan.provisioning_rule.financial_day, order_day=on,
                      currency=currency)
    quote = Quote(currency=currency, term_first=term_first, term_last=term_last)
    with force_locale(operator_language(client.reseller_id)):
        for (item, resource_name, resource_id), line_plan in zip(inputs, plans, strict=True):
            if line_plan.amount == 0 and line_plan.gross == 0:
                continue
            quote.lines.append(QuoteLine(
                key=item.key, fee_kind=item.fee_kind, plan=line_plan, resource_id=resource_id,
                resource_name=resource_name,
                description=_line_text(order_type, item.key, item.fee_kind, plan.name,
                                       resource_name)))
    return quote


def clean_quantities(plan: Plan, quantities: dict | None) -> dict[int, Decimal]:
    """Total quantity per plan resource, defaulting to what the plan includes; refuse a total
    outside [minimum, limit] naming the rule (02 R-ORD-15, R-ORD-16)."""
    cleaned = {}
    for key, value in (quantities or {}).items():
        try:
            cleaned[int(key)] = value
        except (TypeError, ValueError):
            raise OrderError(_l("The plan has no resource %(id)s.", id=key),
                             field=f"resources.{key}") from None
    quantities = cleaned
    known = {resource.id: resource for resource in plan.resources}
    unknown = set(quantities) - set(known)
    if unknown:
        raise OrderError(_l("The plan has no resource %(id)s.", id=min(unknown)),
                         field=f"resources.{min(unknown)}")
    result = {}
    for resource in plan.resources:
        raw = quantities.get(resource.id)
        total = max(resource.included, resource.minimum) if raw is None else raw
        try:
            total = to_decimal(total)
        except (TypeError, ArithmeticError, ValueError):
            raise OrderError(_l("The quantity must be a number."),
                             field=f"resources.{resource.id}") from None
        if not total.is_finite() or total != total.to_integral_value() or total < 0:
            raise OrderError(_l("The quantity must be a whole number, 0 or more."),
                             field=f"resources.{resource.id}")
        if resource.unit_type == ResourceUnit.BOOLEAN and total > 1:
            raise OrderError(_l("A yes/no resource takes 0 or 1."),
                             field=f"resources.{resource.id}")
        if total < resource.minimum:
            raise OrderError(_l('The quantity of "%(name)s" must be at least %(minimum)s '
                                '(the resource minimum).', name=resource.name,
                                minimum=_num(resource.minimum)),
                             field=f"resources.{resource.id}")
        if not resource.unlimited and total > resource.limit:
            raise OrderError(_l('The quantity of "%(name)s" must be at most %(limit)s '
                                '(the resource limit).', name=resource.name,
                                limit=_num(resource.limit)),
                             field=f"resources.{resource.id}")
        result[resource.id] = total
    return result


@dataclass(frozen=True)
class IndividualPrices:
    """Prices typed in the order instead of the plan's (02 R-IP-1..R-IP-5), in the plan's
    currency: {line key: {"recurring": monthly price, "setup": setup price}}."""

    mode: RenewalPriceMode
    prices: dict[str, dict[str, Decimal]]

    def price(self, key: str, fee_kind: str, plan_price: Decimal) -> Decimal:
        return self.prices.get(key, {}).get(fee_kind, plan_price)

    def as_request(self) -> dict:
        return {"mode": self.mode.value,
                "prices": {key: {kind: str(value) for kind, value in fees.items()}
                           for key, fees in self.prices.items()}}


# 02 R-IP-4: renewal, transfer and overage prices are never individual.
INDIVIDUAL_FEE_KINDS = ("recurring", "setup")


def _price_value(value, field: str) -> Decimal:
    if isinstance(value, (float, bool)):
        raise OrderError(_l('Send the price as a string, e.g. "100.00".'), field=field)
    try:
        price = to_decimal(str(value).strip().replace(",", "."))
    except (TypeError, ArithmeticError, ValueError):
        raise OrderError(_l("Enter a price, e.g. 100.00."), field=field) from None
    if not price.is_finite() or price < 0:
        raise OrderError(_l("A price is a number, 0 or more."), field=field)
    if price >= Decimal("1000000000000"):
        raise OrderError(_l("The price is too large."), field=field)
    if price != price.quantize(Decimal("0.01")):
        raise OrderError(_l("Enter a price with at most two decimals."), field=field)
    return price


def clean_individual_prices(plan: Plan, raw: dict | None,
                            mode=None) -> IndividualPrices | None:
    """Individual prices as the API and the wizard send them: {"service": {"recurring": ..,
    "setup": ..}, "resources": {plan resource id: {...}}}; what is not sent keeps the plan
    price (R-IP-2). None when no individual prices are asked for."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise OrderError(_l("Individual prices are an object of prices."),
                         field="individual_prices")
    try:
        mode = RenewalPriceMode(mode or RenewalPriceMode.INDIVIDUAL)
    except ValueError:
        raise OrderError(_l("Choose how a renewal is priced: individual, plan or highest."),
                         field="renewal_price_mode") from None
    unknown = set(raw) - {"service", "resources"}
    if unknown:
        raise OrderError(_l("Individual prices take only \"service\" and \"resources\"."),
                         field="individual_prices")
    prices: dict[str, dict[str, Decimal]] = {}

    def fees(key: str, values, field: str) -> None:
        if not isinstance(values, dict):
            raise OrderError(_l("Individual prices are an object of prices."), field=field)
        for kind, value in values.items():
            if kind not in INDIVIDUAL_FEE_KINDS:
                raise OrderError(_l("Only the subscription fee and the setup fee can have an "
                                    "individual price."), field=f"{field}.{kind}")
            if value is not None and value != "":
                prices.setdefault(key, {})[kind] = _price_value(value, f"{field}.{kind}")

    fees("service", raw.get("service") or {}, "individual_prices.service")
    known = {resource.id for resource in plan.resources}
    for resource_id, values in (raw.get("resources") or {}).items():
        if not str(resource_id).isdigit() or int(resource_id) not in known:
            raise OrderError(_l("The plan has no resource %(id)s.", id=resource_id),
                             field=f"individual_prices.resources.{resource_id}")
        fees(f"resource:{int(resource_id)}", values,
             f"individual_prices.resources.{int(resource_id)}")
    return IndividualPrices(mode=mode, prices=prices)


def individual_price_warning(client: Client, plan: Plan) -> bool:
    """02 R-IP-10: the client already has individually priced subscriptions on this plan."""
    return db.session.scalar(select(Subscription.id).where(
        Subscription.reseller_id == client.reseller_id, Subscription.client_id == client.id,
        Subscription.plan_id == plan.id, Subscription.individual_prices.is_(True),
        Subscription.status != S.DELETED).limit(1)) is not None


def _num(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral_value() else str(value)


def check_can_order(client: Client, plan: Plan, period: PlanPeriod) -> None:
    """Refuse what the manual does not allow, naming the rule."""
    if client.status in (ClientStatus.ADMIN_BLOCKED, ClientStatus.DELETED):
        raise OrderError(_l("The client is blocked or deleted and cannot order."),
                         field="client_id")
    if plan.reseller_id != client.reseller_id:
        raise OrderError(_l("Choose a plan of this reseller."), field="plan_id")
    if plan.status != PlanStatus.ACTIVE:
        raise OrderError(_l("The plan is not active."), field="plan_id")
    if period.plan_id != plan.id or period.deleted_at is not None:
        raise OrderError(_l("The period does not belong to the plan."), field="period_id")
    if not period.published:
        raise OrderError(_l("The period is not published and cannot be ordered."),
                         field="period_id")
    allowed = plan.provisioning_rule.effective_client_types
    if allowed and client.client_type.key not in allowed:
        raise OrderError(_l("The plan's provisioning rule does not allow this client type."),
                         field="plan_id")
    if client.service_rule.payment_model != PaymentModel.PREPAY:
        raise OrderError(_l("Postpaid ordering is not available yet; the client's service "
                            "rule must be prepaid."), field="client_id")
    rules = rules_for(plan.billing_type)
    if rules is None:
        raise OrderError(_l("Ordering plans of billing type %(type)s is not available yet.",
                            type=plan.billing_type_label), field="plan_id")
    rules.check_period(period)


def _sales_inputs(plan: Plan, period: PlanPeriod, totals: dict[int, Decimal], price: _Prices,
                  *, trial: bool, individual: IndividualPrices | None = None,
                  ) -> list[tuple[LineInput, str | None, int | None]]:
    if trial:
        return []

    def fee(key: str, kind: str, plan_price) -> Decimal:
        # R-IP-3: the individual price replaces the plan price, converted the same way.
        return price(individual.price(key, kind, plan_price) if individual else plan_price)

    inputs = [(LineInput("service", "recurring", Decimal(1),
                         fee("service", "recurring", period.monthly_fee)), None, None),
              (LineInput("service", "setup", Decimal(1), fee("service", "setup",
                                                             period.setup_fee)), None, None)]
    for resource in plan.resources:
        additional = max(totals[resource.id] - resource.included, ZERO)
        key = f"resource:{resource.id}"
        inputs.append((LineInput(key, "recurring", additional,
                                 fee(key, "recurring", resource.monthly_fee)),
                       resource.name, resource.id))
        inputs.append((LineInput(key, "setup", additional, fee(key, "setup", resource.setup_fee)),
                       resource.name, resource.id))
    return inputs


def quote_sales_order(client: Client, plan: Plan, period: PlanPeriod, *, quantities: dict,
                      on: date, individual: IndividualPrices | None = None) -> Quote:
    """The lines and totals a sales order would have (the wizard's confirmation step)."""
    check_can_order(client, plan, period)
    _check_individual(period, individual)
    totals = clean_quantities(plan, quantities)
    first, last = term_bounds(on, period)
    return _quote(OrderType.SALES_ORDER, client, plan, term_first=first, term_last=last,
                  term_months=term_shape(period)[2], on=on,
                  inputs=_sales_inputs(plan, period, totals, _Prices(client, plan, on),
                                       trial=period.is_trial, individual=individual))


def _check_individual(period: PlanPeriod, individual: IndividualPrices | None) -> None:
    if individual is not None and period.is_trial:
        raise OrderError(_l("A trial period has no prices to set individually."),
                         field="individual_prices")


# -- storing ------------------------------------------------------------------------------------

def _open_order(subscription: Subscription) -> Order | None:
    return db.session.scalar(select(Order).where(
        Order.reseller_id == subscription.reseller_id, Order.subscription_id == subscription.id,
        Order.status.in_(OPEN_ORDER_STATUSES)).limit(1))


def check_no_open_order(subscription: Subscription) -> None:
    """03 ORD-2: one open order per subscription (409)."""
    existing = _open_order(subscription)
    if existing is not None:
        raise ConflictError(_l("The subscription already has an open order %(number)s; complete "
                               "or cancel it first.", number=existing.number))


def _store_order(order_type: OrderType, subscription: Subscription, quote: Quote, *, plan: Plan,
                 period: PlanPeriod, actor, on: date, ip: str, request: dict | None,
                 covers: tuple[date, date] | None = None,
                 individual_prices: bool = False) -> Order:
    client = subscription.client
    number = next_document_number(client.reseller, DocumentType(order_type.value))
    rule = client.service_rule
    # A renewal can be paid until its expiry day and the rule's days after it (02 JOB-5).
    base = on
    if order_type == OrderType.RENEWAL_ORDER and subscription.expiry_date is not None:
        base = max(on, subscription.expiry_date)
    order = Order(
        reseller_id=client.reseller_id, client_id=client.id, subscription_id=subscription.id,
        number=number, order_type=order_type, status=OrderStatus.WAITING_FOR_PAYMENT,
        currency=quote.currency, gross_total=quote.gross, discount_total=quote.discount,
        total=quote.total, plan_id=plan.id, plan_period_id=period.id,
        covers_from=covers[0] if covers else None, covers_to=covers[1] if covers else None,
        request=request, provision_date=on, created_on=on, individual_prices=individual_prices,
        expires_on=base + timedelta(days=max(rule.cancel_unpaid_order_after_days, 0)),
        created_by_staff_id=_staff_id(actor), created_by_user_id=_user_id(actor),
        customer_ip=ip or "", created_at=clock.now(), updated_at=clock.now())
    try:
        with db.session.begin_nested():
            db.session.add(order)
            db.session.flush()
    except IntegrityError:
        # The partial unique index: another request opened an order on it meanwhile (ORD-2).
        raise ConflictError(_l("The subscription already has an open order.")) from None
    language = operator_language(client.reseller_id)
    # A switch order's resources are the new plan's: the subscription gets them when the
    # order is paid.
    resources = ({} if order_type == OrderType.SWITCH_ORDER
                 else {r.plan_resource_id: r for r in subscription.resources})
    position = 0
    if quote.refund:
        db.session.add(OrderLine(
            reseller_id=order.reseller_id, order_id=order.id, position=position,
            line_key="refund", fee_kind="refund", description=quote.refund_text,
            quantity=Decimal(1), period=quote.refund_months, unit_price=-quote.refund,
            gross=-quote.refund, discount=ZERO, amount=-quote.refund))
        position += 1
    for position, line in enumerate(quote.lines, start=position):
        resource = resources.get(line.resource_id) if line.resource_id else None
        db.session.add(OrderLine(
            reseller_id=order.reseller_id, order_id=order.id, position=position,
            subscription_resource_id=resource.id if resource else None, line_key=line.key,
            fee_kind=line.fee_kind, description=line.description,
            quantity=line.plan.quantity, period=line.plan.months, unit_price=line.plan.unit_price,
            gross=line.plan.gross, discount=line.plan.discount, amount=line.plan.amount))
        for planned in line.plan.charges:
            new_charge(subscription=subscription, line_key=line.key, fee_kind=planned.fee_kind,
                       related_operation=related_operation_for(order_type, line.key),
                       status=ChargeStatus.NEW, operate_from=planned.operate_from,
                       operate_to=planned.operate_to, period=planned.period,
                       quantity=planned.quantity, unit_price=planned.unit_price,
                       gross=planned.gross, discount=planned.discount, amount=planned.amount,
                       close_date=planned.close_date, order=order,
                       subscription_resource=resource, language=language,
                       resource_name=line.resource_name)
    if order.total > 0:
        payment = Payment(
            reseller_id=order.reseller_id, client_id=client.id,
            number=next_document_number(client.reseller, DocumentType.PAYMENT),
            kind=PaymentKind.ORDER_PAYMENT, status=PaymentStatus.WAITING_FOR_PAYMENT,
            currency=order.currency, discount=order.discount_total, total=order.total,
            comment=_payment_comment(order, language), payer_ip=ip or "",
            manager_id=_staff_id(actor), created_at=clock.now(), updated_at=clock.now())
        db.session.add(payment)
        db.session.flush()
        order.payment_id = payment.id
    audit.log(order, "orders.order.created", actor=actor, label=order.number,
              data={"type": order_type.value, "total": str(order.total)})
    db.session.flush()
    emit("order_created", order=order)  # 09 TRG-21: every order, renewals too
    return order


def _payment_comment(order: Order, language: str) -> str:
    with force_locale(language):
        return _("Payment for order %(number)s", number=order.number)


def _staff_id(actor):
    member = getattr(actor, "member", actor)
    from portal.accounts.models import StaffMember  # noqa: PLC0415

    return member.id if isinstance(member, StaffMember) else None


def _user_id(actor):
    from portal.clients.models import User  # noqa: PLC0415

    return actor.id if isinstance(actor, User) else None


def place_sales_order(client: Client, plan: Plan, period: PlanPeriod, *, quantities: dict,
                      actor, on: date, ip: str = "", name: str | None = None,
                      manager_id: int | None = None,
                      individual: IndividualPrices | None = None) -> Order:
    """Create the subscription, its sales order, charges (New) and payment (02 S1, 03 O1).

    An order that costs nothing (a trial) goes straight to provisioning. Individual prices
    replace the plan's in the order and the subscription (02 §4.5); whether renewals keep
    them is decided when the order completes (R-IP-7)."""
    check_can_order(client, plan, period)
    _check_individual(period, individual)
    totals = clean_quantities(plan, quantities)
    first, last = term_bounds(on, period)
    months, days, term_months = term_shape(period)
    price = _Prices(client, plan, on)

    def fee(key: str, kind: str, plan_price) -> Decimal:
        return price(individual.price(key, kind, plan_price) if individual else plan_price)

    subscription = Subscription(
        reseller_id=client.reseller_id, client_id=client.id, plan_id=plan.id,
        plan_period_id=period.id, manager_id=manager_id,
        name=name or _subscription_name(plan), status=S.NEW_ORDER, is_trial=period.is_trial,
        payment_model=PaymentModel.PREPAY, currency=client.reseller.currency, start_date=first,
        expiry_date=None if period.is_unlimited else last, prolonged_until=None,
        auto_renew=bool(plan.autorenew) and not period.is_trial,
        auto_renew_locked=bool(plan.lock_autorenew),
        auto_renew_point_days=plan.provisioning_rule.auto_renewal_point_days,
        manual_renewal_point_days=plan.provisioning_rule.manual_renewal_point_days,
        monthly_fee=fee("service", "recurring", period.monthly_fee),
        setup_fee=fee("service", "setup", period.setup_fee),
        renewal_fee=price(period.renewal_fee), transfer_fee=price(period.transfer_fee),
        individual_monthly_fee=fee("service", "recurring", period.monthly_fee)
        if individual else None,
        created_at=clock.now(), updated_at=clock.now())
    subscription.prolonged_until = subscription.expiry_date
    db.session.add(subscription)
    db.session.flush()
    for resource in plan.resources:
        key = f"resource:{resource.id}"
        db.session.add(SubscriptionResource(
            reseller_id=client.reseller_id, subscription_id=subscription.id,
            plan_resource_id=resource.id, name=resource.name, included=resource.included,
            additional=max(totals[resource.id] - resource.included, ZERO),
            minimum=resource.minimum, unlimited=resource.unlimited, limit=resource.limit,
            monthly_fee=fee(key, "recurring", resource.monthly_fee),
            setup_fee=fee(key, "setup", resource.setup_fee),
            renewal_fee=price(resource.renewal_fee),
            individual_monthly_fee=fee(key, "recurring", resource.monthly_fee)
            if individual else None))
    db.session.flush()
    db.session.refresh(subscription, attribute_names=["resources"])
    quote = _quote(OrderType.SALES_ORDER, client, plan, term_first=first, term_last=last,
                   term_months=term_months, on=on,
                   inputs=_sales_inputs(plan, period, totals, price, trial=period.is_trial,
                                        individual=individual))
    request = {"resources": {str(k): str(v) for k, v in totals.items()}}
    if individual is not None:
        request["individual_prices"] = individual.as_request()
    order = _store_order(OrderType.SALES_ORDER, subscription, quote, plan=plan, period=period,
                         actor=actor, on=on, ip=ip, request=request, covers=(first, last),
                         individual_prices=individual is not None)
    audit.log(subscription, "subscriptions.subscription.ordered", actor=actor,
              label=subscription.name, data={"order": order.number})
    if order.total == 0:
        from portal.billing.services.ledger import lock_client  # noqa: PLC0415
        from portal.orders.services.processing import process_paid_order  # noqa: PLC0415

        lock_client(client)
        process_paid_order(order, on=on, actor=actor)
    return order


def _subscription_name(plan: Plan) -> str:
    """The product's name template (default "{{plan.name}}", 02 A-33), rendered sandboxed."""
    from jinja2.sandbox import SandboxedEnvironment  # noqa: PLC0415

    template = plan.product.subscription_name_template or "{{plan.name}}"
    try:
        name = SandboxedEnvironment().from_string(template).render(plan=plan,
                                                                   product=plan.product)
    except Exception:  # noqa: BLE001 - a broken template must not stop an order
        name = plan.name
    return (name.strip() or plan.name)[:255]


def place_change_order(subscription: Subscription, *, quantities: dict, actor, on: date,
                       ip: str = "") -> Order:
    """Change resource quantities (02 §4.10, 03 ORD-4). An increase is charged for the rest of
    the term and waits for its payment; a decrease splits the charges when the order is
    created (04a CH-29, CH-46) and needs no payment."""
    check_operable(subscription, allowed=(S.ACTIVE, S.PAYMENT_OVERDUE),
                   operation=_l("change resources"))
    check_no_open_order(subscription)
    plan, period = subscription.plan, subscription.plan_period
    rules = rules_for(plan.billing_type)
    current = {r.plan_resource_id: r for r in subscription.resources}
    # A resource the request does not name keeps its quantity.
    requested = {str(k): v for k, v in (quantities or {}).items()}
    for resource_id, resource in current.items():
        requested.setdefault(str(resource_id), resource.total)
    totals = clean_quantities(plan, requested)
    increases, decreases = {}, {}
    for resource_id, total in totals.items():
        resource = current.get(resource_id)
        if resource is None:
            continue
        if total > resource.total:
            increases[resource_id] = total - resource.total
        elif total < resource.total:
            decreases[resource_id] = total
    if not increases and not decreases:
        raise OrderError(_l("Nothing to change: the quantities are the ones the subscription "
                            "has."), field="resources")
    if decreases and subscription.charges_closed_manually:
        raise OrderError(_l("Resources cannot be decreased after the charges were closed by "
                            "hand, until the subscription is renewed."), field="resources")
    if subscription.expiry_date is None or on > subscription.expiry_date:
        raise OrderError(_l("The subscription's term has ended; renew it first."))
    price = _Prices(subscription.client, plan, on)
    inputs = []
    for resource_id, delta in increases.items():
        resource = current[resource_id]
        key = f"resource:{resource_id}"
        # 02 R-RES-4: a plan without fixed price sells at today's plan price; R-IP-9: an
        # individually priced subscription at the price in force for it.
        keep = plan.fixed_price or resource.individual_monthly_fee is not None
        monthly = resource.monthly_fee if keep else price(resource.plan_resource.monthly_fee)
        setup = resource.setup_fee if keep else price(resource.plan_resource.setup_fee)
        billed = max(resource.total + delta - resource.included, ZERO) - resource.additional
        inputs.append((LineInput(key, "recurring", billed, monthly), resource.name, resource_id))
        inputs.append((LineInput(key, "setup", billed, setup), resource.name, resource_id))
    quote = _quote(OrderType.CHANGE_ORDER, subscription.client, plan, term_first=on,
                   term_last=subscription.expiry_date, term_months=None, on=on, inputs=inputs)
    order = _store_order(OrderType.CHANGE_ORDER, subscription, quote, plan=plan, period=period,
                         actor=actor, on=on, ip=ip,
                         request={"resources": {str(k): str(v) for k, v in totals.items()},
                                  "increases": {str(k): str(v) for k, v in increases.items()},
                                  "decreases": {str(k): str(v) for k, v in decreases.items()}})
    if decreases:
        from portal.billing.services.ledger import lock_client  # noqa: PLC0415

        lock_client(subscription.client)
        for resource_id, total in decreases.items():
            resource = current[resource_id]
            new_additional = max(total - resource.included, ZERO)
            rules.on_decrease(subscription, resource, new_quantity=new_additional, on=on,
                              order=order)
            resource.additional = new_additional
    if order.total == 0:
        from portal.orders.services.processing import process_paid_order  # noqa: PLC0415

        process_paid_order(order, on=on, actor=actor)
    return order


def renewal_window_open(subscription: Subscription, on: date) -> bool:
    """02 R-DET-8: −1 any time, 0 never, N from N days before expiry."""
    if subscription.expiry_date is None:
        return False
    point = subscription.manual_renewal_point_days
    if point == 0:
        return False
    if point < 0:
        return True
    return on >= subscription.expiry_date - timedelta(days=point)


def renewal_periods(subscription: Subscription) -> list[PlanPeriod]:
    """The periods a manual renewal offers: the plan's published paid periods (02 SCR-12)."""
    return [p for p in subscription.plan.periods
            if p.deleted_at is None and p.published and not p.is_trial and not p.is_unlimited]


def _renewal(subscription: Subscription, *, on: date, automatic: bool,
             period: PlanPeriod | None) -> tuple[Quote, PlanPeriod, RenewalPriceMode | None]:
    if subscription.status == S.DELETED or subscription.deleted_at is not None:
        raise OrderError(_l("A deleted subscription cannot be renewed."))
    if subscription.expiry_date is None:
        raise OrderError(_l("A subscription with an unlimited period cannot be renewed."))
    if subscription.is_trial:
        raise OrderError(_l("A trial subscription cannot be renewed; order a paid one."))
    if not automatic and not renewal_window_open(subscription, on):
        raise OrderError(_l("Manual renewal is not available yet for this subscription (the "
                            "manual renewal point)."))
    plan = subscription.plan
    rules_for(plan.billing_type)  # supported
    if period is None or period.id == subscription.plan_period_id:
        period = subscription.plan_period
        months, days, term_months = term_shape(period)
        first = subscription.expiry_date + timedelta(days=1)
        last = term_end(subscription.term_anchor or subscription.start_date, months=months,
                        days=days, k=subscription.term_index + 1)
    else:
        # Another period of the plan: its terms are anchored on the renewed term's first day.
        if period.id not in {p.id for p in renewal_periods(subscription)}:
            raise OrderError(_l("Choose a published period of the subscription's plan."),
                             field="period_id")
        months, days, term_months = term_shape(period)
        first = subscription.expiry_date + timedelta(days=1)
        last = term_end(first, months=months, days=days, k=0)
    price = _Prices(subscription.client, plan, on)
    mode = subscription.renewal_price_mode if subscription.individual_prices else None
    inputs = [(LineInput("service", "recurring", Decimal(1),
                         renewal_monthly_price(price(period.monthly_fee),
                                               subscription.individual_monthly_fee, mode)),
               None, None),
              (LineInput("service", "renewal", Decimal(1), price(period.renewal_fee)), None,
               None)]
    for resource in subscription.resources:
        key = f"resource:{resource.plan_resource_id}"
        plan_resource = resource.plan_resource
        inputs.append((LineInput(key, "recurring", resource.additional,
                                 renewal_monthly_price(price(plan_resource.monthly_fee),
                                                       resource.individual_monthly_fee, mode)),
                       resource.name, resource.plan_resource_id))
        inputs.append((LineInput(key, "renewal", resource.additional,
                                 price(plan_resource.renewal_fee)), resource.name,
                       resource.plan_resource_id))
    quote = _quote(OrderType.RENEWAL_ORDER, subscription.client, plan, term_first=first,
                   term_last=last, term_months=term_months, on=on, inputs=inputs)
    return quote, period, mode


def quote_renewal_order(subscription: Subscription, *, on: date,
                        period: PlanPeriod | None = None) -> Quote:
    """The lines a manual renewal would have (02 SCR-12, EX-17), nothing stored."""
    return _renewal(subscription, on=on, automatic=False, period=period)[0]


def place_renewal_order(subscription: Subscription, *, actor, on: date, ip: str = "",
                        automatic: bool = False, period: PlanPeriod | None = None) -> Order:
    """A renewal order for the next term (02 §4.18–4.20, 04a CH-23/CH-24, 04b PRE-8): renewal
    fees plus the recurring fees of the renewed term, which starts the day after expiry. A
    manual renewal may choose another published period of the plan (SCR-12)."""
    quote, period, mode = _renewal(subscription, on=on, automatic=automatic, period=period)
    check_no_open_order(subscription)
    return _store_order(OrderType.RENEWAL_ORDER, subscription, quote, plan=subscription.plan,
                        period=period, actor=actor, on=on, ip=ip,
                        request={"automatic": automatic},
                        covers=(quote.term_first, quote.term_last), individual_prices=mode in (
                            RenewalPriceMode.INDIVIDUAL, RenewalPriceMode.HIGHEST))


def renewal_monthly_price(plan_price: Decimal, individual: Decimal | None,
                          mode: RenewalPriceMode | None) -> Decimal:
    """02 R-REN-3/R-REN-4, R-IP-5: the plan's current price, unless the subscription keeps
    its individual price, or takes the higher of the two for each fee (EX-5)."""
    if individual is None or mode in (None, RenewalPriceMode.PLAN):
        return plan_price
    if mode == RenewalPriceMode.INDIVIDUAL:
        return individual
    return max(plan_price, individual)


def check_operable(subscription: Subscription, *, allowed, operation) -> None:
    if subscription.status not in allowed:
        raise OrderError(_l("You cannot %(operation)s a subscription in status "
                            "\"%(status)s\".", operation=operation,
                            status=subscription.status_label), code="status_conflict",
                         status=409)


def cancel_order(order: Order, *, actor, on: date, payment_status=PaymentStatus.CANCELLED,
                 reason: str = "cancelled") -> Order:
    """03 ORD-16 / O8 / O13: cancel a prepaid order waiting for payment or provisioning; its
    New charges are deleted, its unpaid payment cancelled. A cancelled sales order leaves no
    subscription behind."""
    if order.status not in (OrderStatus.WAITING_FOR_PAYMENT, OrderStatus.WAITING_FOR_PROVISIONING):
        raise OrderError(_l("Only an order waiting for payment or provisioning can be "
                            "cancelled."), code="status_conflict", status=409)
    _cancel(order, actor=actor, reason=reason)
    payment = order.payment
    if payment is not None and payment.status in (PaymentStatus.WAITING_FOR_PAYMENT,
                                                  PaymentStatus.OVERDUE,
                                                  PaymentStatus.INVOICE_PREPARING,
                                                  PaymentStatus.INVOICE_SENT):
        if payment_status == PaymentStatus.CANCELLED:  # 09 §3.5: any → cancelled
            emit("payment_received", payment=payment,
                 was={"payment.status": payment.status.value})
        payment.status = payment_status
        payment.closed_at = clock.now()
        payment.updated_at = clock.now()
        audit.log(payment, "orders.payment.cancelled", actor=actor, label=payment.number)
    return order


def _cancel(order: Order, *, actor, reason: str) -> None:
    emit("order_changed", order=order, was={"order.status": order.status.value})
    order.status = OrderStatus.CANCELLED
    order.closed_at = clock.now()
    order.updated_at = clock.now()
    subscription = order.subscription
    for charge in charges_of(subscription, [ChargeStatus.NEW]):
        if charge.order_id == order.id:
            delete_charge(charge)
    if order.order_type == OrderType.SALES_ORDER and subscription.status == S.NEW_ORDER:
        subscription.status = S.DELETED
        subscription.deleted_at = clock.now()
    audit.log(order, "orders.order.cancelled", actor=actor, label=order.number,
              data={"reason": reason})


def cancel_order_for_payment(order: Order, *, actor) -> None:
    """03 O9: the order's payment was cancelled."""
    if order.status == OrderStatus.WAITING_FOR_PAYMENT:
        _cancel(order, actor=actor, reason="payment_cancelled")


def set_order_expiry(order: Order, *, expires_on: date, comment: str = "", actor,
                     on: date) -> Order:
    """03 ORD-8: only while waiting for payment or in activation error; not in the past."""
    if order.status not in (OrderStatus.WAITING_FOR_PAYMENT, OrderStatus.ACTIVATION_ERROR):
        raise OrderError(_l("The expiry date can be set only while the order waits for payment "
                            "or has an activation error."), code="status_conflict", status=409)
    if expires_on < on:
        raise OrderError(_l("The expiry date cannot be in the past."), field="expires_on")
    before = order.expires_on
    order.expires_on = expires_on
    order.updated_at = clock.now()
    audit.log(order, "orders.order.expiry_set", actor=actor, label=order.number,
              changes={"expires_on": [before.isoformat() if before else None,
                                      expires_on.isoformat()]},
              data={"comment": comment} if comment else None)
    return order
