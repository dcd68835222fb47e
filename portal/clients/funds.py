"""A client's money as the panels and the API show it (01 R-CLV-2, R-FB-1, DECISIONS D10)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from portal.clients.hooks import blocked_amount
from portal.clients.models import Client


def effective_block_threshold(client: Client) -> Decimal:
    """The client's own threshold, else its service rule's (01 R-FB-1)."""
    if client.block_threshold is not None:
        return client.block_threshold
    return client.service_rule.block_threshold


def threshold_in_force(client: Client) -> Decimal:
    """T of R-FB-1: zero when the rule does not allow paying with a negative balance (A-5)."""
    if not client.service_rule.allow_negative_balance_payment:
        return Decimal("0")
    return effective_block_threshold(client)


def effective_credit_limit(client: Client) -> Decimal:
    """The client's own per-subscription credit limit, else its rule's (08 R-SR-12)."""
    if client.credit_limit is not None:
        return client.credit_limit
    return client.service_rule.credit_limit


@dataclass(frozen=True)
class ClientFunds:
    balance: Decimal
    blocked: Decimal
    available: Decimal
    block_threshold: Decimal
    credit_limit: Decimal
    currency: str


def client_funds(client: Client, *, currency: str) -> ClientFunds:
    """Balance, held money and what the client may spend: balance − blocked + T (D10)."""
    balance = client.balance or Decimal("0")
    blocked = blocked_amount(client)
    return ClientFunds(balance=balance, blocked=blocked,
                       available=balance - blocked + threshold_in_force(client),
                       block_threshold=effective_block_threshold(client),
                       credit_limit=effective_credit_limit(client), currency=currency)
