"""Operator-panel pages of the catalogue: one module per screen group, one blueprint."""

from flask import Blueprint

bp = Blueprint("catalog", __name__)

from portal.catalog.views import plans, price_list, products, rules  # noqa: E402, F401
