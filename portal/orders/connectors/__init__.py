"""Connectors that provision service instances; importing the package registers them."""

from portal.orders.connectors import manual, simulated  # noqa: F401 - registration
from portal.orders.connectors.base import (Connector, ConnectorError, PollResult, Submission,
                                           connector_for)

__all__ = ["Connector", "ConnectorError", "PollResult", "Submission", "connector_for"]
