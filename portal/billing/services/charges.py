"""Charges: created from an engine plan, held, debited, deleted, refunded and split
(04a §3.1 T1–T12, §4.11; DECISIONS D5). Every money move runs under lock_client."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import select

from portal.billing.models import (Charge, ChargeStatus, ChargeType, RelatedOperation,
                                   TransactionKind)
from portal.billing.services.errors import BillingError
from portal.billing.services.ledger import post_transaction
from portal.core import audit
from portal.core.clock import clock
from portal.extensions import db

FEE_KIND_TYPES = {"recurring": ChargeType.RECURRING_FEE, "setup": ChargeType.SETUP_FEE,
                  "renewal": ChargeType.RENEWAL_FEE, "transfer": ChargeType.TRANSFER_FEE}

# 04a §2.2: the label is the related operation plus the fee kind.
CHARGE_LABELS = {
    (RelatedOperation.SERVICE_PURCHASE, ChargeType.SETUP_FEE): _l("Service purchase (setup)"),
    (RelatedOperation.SERVICE_PURCHASE, ChargeType.RECURRING_FEE):
        _l("Service purchase (subscription fee)"),
    (RelatedOperation.RESOURCE_INCREASE, ChargeType.SETUP_FEE): _l("Resource increase (setup)"),
    (RelatedOperation.RESOURCE_INCREASE, ChargeType.RECURRING_FEE):
        _l("Resource increase (subscription fee)"),
    (RelatedOperation.SUBSCRIPTION_RENEWAL, ChargeType.RECURRING_FEE):
        _l("Subscription renewal (subscription fee)"),
    (RelatedOperation.SUBSCRIPTION_RENEWAL, ChargeType.RENEWAL_FEE):
        _l("Subscription renewal (renewal fee)"),
    (RelatedOperation.RESOURCE_RENEWAL, ChargeType.RECURRING_FEE):
        _l("Resource renewal (subscription fee)"),
    (RelatedOperation.RESOURCE_RENEWAL, ChargeType.RENEWAL_FEE):
        _l("Resource renewal (renewal fee)"),
    (RelatedOperation.SERVICE_SWITCH, ChargeType.SETUP_FEE): _l("Service switch (setup)"),
    (RelatedOperation.SERVICE_SWITCH, ChargeType.RECURRING_FEE):
        _l("Service switch (subscription fee)"),
    (RelatedOperation.RESOURCE_SWITCH, ChargeType.SETUP_FEE): _l("Resource switch (setup)"),
    (RelatedOperation.RESOURCE_SWITCH, ChargeType.RECURRING_FEE):
        _l("Resource switch (subscription fee)"),
    (RelatedOperation.DOMAIN_TRANSFER, ChargeType.TRANSFER_FEE):
        lazy_pgettext("charge type", "Transfer fee"),
}


def related_operation_for(order_type: str, line_key: str) -> RelatedOperation:
    """04a §4.13: which operation an order's line belongs to."""
    is_resource = line_key.startswith("resource:")
    return {
        "sales_order": (RelatedOperation.RESOURCE_INCREASE if is_resource
                        else RelatedOperation.SERVICE_PURCHASE),
        "change_order": RelatedOperation.RESOURCE_INCREASE,
        "prolong_order": RelatedOperation.RESOURCE_INCREASE,
        "renewal_order": (RelatedOperation.RESOURCE_RENEWAL if is_resource
                          else RelatedOperation.SUBSCRIPTION_RENEWAL),
        "switch_order": (RelatedOperation.RESOURCE_SWITCH if is_resource
                         else RelatedOperation.SERVICE_SWITCH),
    }[str(order_type)]


def operator_language(reseller_id: int) -> str:
    from portal.settings.services import system_settings  # noqa: PLC0415
    from portal.tenancy.models import Reseller  # noqa: PLC0415

    return system_settings(db.session.get(Reseller, reseller_id)).operator_default_language


def describe_charge(*, related_operation, charge_type, subscription, resource_name: str | None,
                    operate_from: date, operate_to: date, language: str) -> str:
    """04a §2.2: `<label> "<resource>" подписки #<id> "<name>" с DD.MM.YYYY по DD.MM.YYYY`,
    the last day inclusive (D1), in the reseller's operator language."""
    with force_locale(language):
        label = str(CHARGE_LABELS.get((related_operation, charge_type), charge_type.value))
        values = {"label": label, "id": subscription.id, "name": subscription.name,
                  "resource": resource_name or "", "from": operate_from.strftime("%d.%m.%Y"),
                  "to": operate_to.strftime("%d.%m.%Y")}
        if resource_name:
            return _('%(label)s "%(resource)s" of subscription #%(id)s "%(name)s" '
                     'from %(from)s to %(to)s', **values)
        return _('%(label)s #%(id)s "%(name)s" from %(from)s to %(to)s', **values)


def new_charge(*, subscription, line_key: str, fee_kind: str, related_operation, status,
               operate_from: date, operate_to: date, period, quantity, unit_price, gross,
               discount, amount, close_date: date, order=None, source: Charge | None = None,
               subscription_resource=None, language: str | None = None,
               resource_name: str | None = None) -> Charge:
    """Build and add one charge row (flushed). `resource_name` names a resource the
    subscription does not have yet (a switch order's new plan)."""
    charge_type = FEE_KIND_TYPES[fee_kind]
    language = language or operator_language(subscription.reseller_id)
    charge = Charge(
        reseller_id=subscription.reseller_id, client_id=subscription.client_id,
        subscription_id=subscription.id,
        subscription_resource_id=subscription_resource.id if subscription_resource else None,
        order_id=order.id if order is not None else None,
        source_charge_id=source.id if source is not None else None,
        line_key=line_key, charge_type=charge_type, related_operation=related_operation,
        description=describe_charge(
            related_operation=related_operation, charge_type=charge_type,
            subscription=subscription,
            resource_name=subscription_resource.name if subscription_resource else resource_name,
            operate_from=operate_from, operate_to=operate_to, language=language),
        status=status, operate_from=operate_from, operate_to=operate_to, period=period,
        quantity=quantity, unit_price=unit_price, gross=gross, discount=discount, amount=amount,
        currency=subscription.client.reseller.currency, created_at=clock.now(),
        close_date=close_date)
    db.session.add(charge)
    db.session.flush()
    return charge


def hold_charge(charge: Charge) -> None:
    """New/Open → Blocked: the amount is held (04a T4, T8)."""
    if charge.status not in (ChargeStatus.NEW, ChargeStatus.OPEN):
        raise BillingError(_l("Only a new or open charge can be held."))
    charge.status = ChargeStatus.BLOCKED


def close_charge(charge: Charge, client, *, on: date) -> None:
    """Debit the charge (04a T5/T10): Closed, with its one transaction (TRX-5, D5).
    The caller holds lock_client(client)."""
    if charge.status not in (ChargeStatus.NEW, ChargeStatus.OPEN, ChargeStatus.BLOCKED):
        raise BillingError(_l("This charge is already final."))
    charge.status = ChargeStatus.CLOSED
    charge.close_date = on
    charge.billed_at = min(on, charge.operate_to)
    post_transaction(client, -charge.amount, kind=TransactionKind.CHARGE,
                     description=charge.description, currency=charge.currency, charge=charge)


def delete_charge(charge: Charge) -> None:
    """New/Open/Blocked → Deleted; held money is released, the balance unchanged (T7/T9/T11)."""
    if charge.status not in (ChargeStatus.NEW, ChargeStatus.OPEN, ChargeStatus.BLOCKED):
        raise BillingError(_l("This charge is already final."))
    before = charge.status
    charge.status = ChargeStatus.DELETED
    if before == ChargeStatus.BLOCKED:
        audit.log(charge, "billing.charge.released", data={"amount": str(charge.amount)},
                  label=f"#{charge.id}")


def refund_charge(charge: Charge, client, *, source: Charge | None) -> None:
    """Pending refund → Refunded (T12). Money that was only held is released (no transaction,
    D5); money the source had debited comes back as a credit transaction."""
    if charge.status != ChargeStatus.PENDING_REFUND:
        raise BillingError(_l("Only a charge pending refund can be refunded."))
    charge.status = ChargeStatus.REFUNDED
    if source is not None and source.status == ChargeStatus.CLOSED:
        post_transaction(client, charge.amount, kind=TransactionKind.REFUND,
                         description=charge.description, currency=charge.currency,
                         charge=charge)
    else:
        audit.log(charge, "billing.charge.released", data={"amount": str(charge.amount)},
                  label=f"#{charge.id}")


def charges_of(subscription, statuses: Iterable[ChargeStatus] | None = None) -> list[Charge]:
    """A subscription's charges in period order, optionally of some statuses."""
    query = select(Charge).where(Charge.reseller_id == subscription.reseller_id,
                                 Charge.subscription_id == subscription.id)
    if statuses is not None:
        query = query.where(Charge.status.in_(list(statuses)))
    return list(db.session.scalars(query.order_by(Charge.operate_from, Charge.id)))
