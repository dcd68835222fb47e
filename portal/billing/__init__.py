"""Billing: charges, proration, rounding, balances, transactions, acts, currencies (STYLE §1)."""
