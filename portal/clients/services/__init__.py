"""Services of clients, users, client types, service rules and additional parameters.

Importing the package registers the steps that copy client types and service rules to a new
reseller (tenancy INHERITANCE_STEPS).
"""

from portal.clients.services import client_types, parameters, service_rules  # noqa: F401
from portal.clients.services.errors import ClientsError

__all__ = ["ClientsError"]
