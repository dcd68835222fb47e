"""The JSON API (shared/API.md): the same services as the panels, behind staff tokens."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from portal.api import base, exchange_rates, resellers, staff, system  # noqa: E402, F401
from portal.api import catalog, plans  # noqa: E402, F401
from portal.api import clients  # noqa: E402, F401
from portal.api import client_config  # noqa: E402, F401
from portal.api import billing_ledger, orders, subscriptions  # noqa: E402, F401
from portal.api import notifications  # noqa: E402, F401
