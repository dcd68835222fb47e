"""Operator-panel pages of clients, users, client types, service rules and additional
parameters: one module per screen group, one blueprint."""

from flask import Blueprint

bp = Blueprint("clients", __name__)

from portal.clients.views import client_types, parameters, service_rules  # noqa: E402, F401
from portal.clients.views import clients, users  # noqa: E402, F401
from portal.client_panel import operator_views  # noqa: E402, F401 - "log in as client"
