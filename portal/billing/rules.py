"""Billing types as rules plugged into one engine (STYLE §2, issue 5 item 5): what paying,
stopping, activating, decreasing and deleting do to a subscription's charges.

Only the pre-order type (Предзаказ, 04b §4.7) is complete; the next billing types register
their own rules here instead of copying the engine."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from portal.billing.engine.splits import ChargeView, SplitResult, split_on_decrease, split_on_delete
from portal.billing.models import Charge, ChargeStatus, ChargeType
from portal.billing.services.charges import (charges_of, close_charge, delete_charge, hold_charge,
                                             new_charge, operator_language, refund_charge)
from portal.billing.services.errors import BillingError
from portal.catalog.models import BillingType

FEE_KINDS = {ChargeType.RECURRING_FEE: "recurring", ChargeType.SETUP_FEE: "setup",
             ChargeType.RENEWAL_FEE: "renewal", ChargeType.TRANSFER_FEE: "transfer"}
ONE_OFF = (ChargeType.SETUP_FEE, ChargeType.RENEWAL_FEE, ChargeType.TRANSFER_FEE)


def view(charge: Charge) -> ChargeView:
    return ChargeView(id=charge.id, line_key=charge.line_key,
                      fee_kind=FEE_KINDS.get(charge.charge_type, "usage"),
                      status=charge.status.value, operate_from=charge.operate_from,
                      operate_to=charge.operate_to, period=charge.period,
                      quantity=charge.quantity, unit_price=charge.unit_price,
                      gross=charge.gross, discount=charge.discount, amount=charge.amount,
                      close_date=charge.close_date)


def apply_split(result: SplitResult, charges: list[Charge], subscription, client, *, on: date,
                order=None) -> list[Charge]:
    """Carry out an engine split: status changes first, then the new charges in their target
    status, each closed one with its transaction, each refund executed (04a A-16, D5).
    The caller holds lock_client(client)."""
    by_id = {charge.id: charge for charge in charges}
    for charge_id, status in result.status_changes.items():
        if status == ChargeStatus.DELETED:
            delete_charge(by_id[charge_id])
    created = []
    resources = {f"resource:{r.plan_resource_id}": r for r in subscription.resources}
    language = operator_language(subscription.reseller_id)
    for planned in result.new_charges:
        source = by_id.get(planned.source_charge_id)
        status = ChargeStatus(planned.status)
        charge = new_charge(
            subscription=subscription, line_key=planned.line_key, fee_kind=planned.fee_kind,
            related_operation=source.related_operation if source else None,
            status=ChargeStatus.NEW if status == ChargeStatus.CLOSED else status,
            operate_from=planned.operate_from, operate_to=planned.operate_to,
            period=planned.period, quantity=planned.quantity, unit_price=planned.unit_price,
            gross=planned.gross, discount=planned.discount, amount=planned.amount,
            close_date=planned.close_date, order=order if order is not None else (
                source.order if source else None), source=source,
            subscription_resource=resources.get(planned.line_key), language=language)
        if status == ChargeStatus.CLOSED:
            close_charge(charge, client, on=on)
        elif status == ChargeStatus.PENDING_REFUND:
            refund_charge(charge, client, source=source)
        created.append(charge)
    return created


class BillingRules:
    """The defaults every billing type starts from."""

    billing_type: BillingType

    def check_period(self, period) -> None:
        """Refuse a plan period this billing type cannot sell."""

    def on_order_paid(self, order, charges: list[Charge], client, *, on: date) -> None:
        raise NotImplementedError

    def on_stop(self, subscription, client, *, on: date) -> None:
        """What a stop does to the charges (04a CH-36): nothing unless the type says."""

    def on_activate(self, subscription, client, *, on: date) -> None:
        """What an activation costs (02 R-ACT-4): free unless the type says."""

    def on_delete(self, subscription, client, *, on: date, by_nightly_run: bool) -> None:
        raise NotImplementedError

    def on_decrease(self, subscription, resource, *, new_quantity: Decimal, on: date,
                    order=None) -> None:
        raise NotImplementedError

    # -- plan switch: the standard split (04a CH-39, CH-40) ----------------------------------

    def _switch_split(self, subscription, *, on: date, order_id=None):
        """The old plan's recurring charges end the day before the switch day, which belongs
        to the new plan; its one-off fees stay as they are."""
        charges = [c for c in charges_of(subscription, [ChargeStatus.OPEN, ChargeStatus.BLOCKED])
                   if c.charge_type == ChargeType.RECURRING_FEE and c.order_id != order_id]
        result = split_on_delete([view(c) for c in charges], on=on,
                                 financial_day=subscription.plan.provisioning_rule.financial_day,
                                 by_nightly_run=True,
                                 currency=subscription.client.reseller.currency)
        return charges, result

    def switch_release(self, subscription, *, on: date) -> Decimal:
        """What a switch on `on` gives back: the held money of the old plan's charges from
        that day on (02 EX-16's refund line; released, not credited: D5)."""
        charges, result = self._switch_split(subscription, on=on)
        held = {c.id: c.amount for c in charges if c.status == ChargeStatus.BLOCKED}
        released = sum((held[charge_id] for charge_id, status in result.status_changes.items()
                        if charge_id in held and status == ChargeStatus.DELETED), Decimal(0))
        return released - sum((c.amount for c in result.new_charges), Decimal(0))

    def on_switch(self, subscription, client, *, on: date, order) -> None:
        """Split the old plan's charges for a switch on `on`; the caller holds the client."""
        charges, result = self._switch_split(subscription, on=on, order_id=order.id)
        apply_split(result, charges, subscription, client, on=on)


class PreorderRules(BillingRules):
    """Предзаказ (04b §4.7 PRE-1..PRE-9): the whole term is held at payment; each charge is
    debited on its close date; decrease and deletion split as standard (04a §4.11)."""

    billing_type = BillingType.PREORDER

    def check_period(self, period) -> None:
        if period.is_unlimited and not period.is_trial:
            raise BillingError(_l("A pre-order plan needs a period of fixed length."),
                               field="period_id")

    def on_order_paid(self, order, charges, client, *, on):
        # PRE-1/PRE-3/PRE-4, CH-25: one-off fees close at payment, every recurring fee of
        # the term (a renewal's too) is held.
        for charge in charges:
            if charge.status != ChargeStatus.NEW:
                continue
            if charge.charge_type in ONE_OFF:
                close_charge(charge, client, on=on)
            else:
                hold_charge(charge)

    def on_delete(self, subscription, client, *, on, by_nightly_run):
        charges = charges_of(subscription, [ChargeStatus.NEW, ChargeStatus.OPEN,
                                            ChargeStatus.BLOCKED])
        result = split_on_delete([view(c) for c in charges], on=on,
                                 financial_day=subscription.plan.provisioning_rule.financial_day,
                                 by_nightly_run=by_nightly_run, currency=client.reseller.currency)
        apply_split(result, charges, subscription, client, on=on)

    def on_decrease(self, subscription, resource, *, new_quantity, on, order=None):
        key = f"resource:{resource.plan_resource_id}"
        charges = [c for c in charges_of(subscription, [ChargeStatus.OPEN, ChargeStatus.BLOCKED])
                   if c.line_key == key and c.charge_type == ChargeType.RECURRING_FEE
                   and c.operate_to >= on]
        if not charges:
            return
        client = subscription.client
        result = split_on_decrease([view(c) for c in charges], on=on,
                                   financial_day=subscription.plan.provisioning_rule.financial_day,
                                   new_quantity=new_quantity, currency=client.reseller.currency)
        apply_split(result, charges, subscription, client, on=on, order=order)


RULES: dict[BillingType, BillingRules] = {BillingType.PREORDER: PreorderRules()}


def rules_for(billing_type) -> BillingRules | None:
    return RULES.get(BillingType(billing_type))
