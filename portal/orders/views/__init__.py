"""Operator-panel pages of the orders area."""
