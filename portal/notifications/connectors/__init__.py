"""Connectors that carry notifications out: SMTP for e-mail, SMS modules for SMS (09 §2.6, §6).

An SMS module (09 §2.6 Модуль) is a class with `send(phone, text) -> message id` that raises
`SmsError`; `sms_connector(gateway)` builds one from a gateway's settings.
"""

from __future__ import annotations

from portal.notifications.connectors.base import SmsConnector, SmsError
from portal.notifications.connectors.simulated import SimulatedSmsGateway
from portal.notifications.connectors.smscru import SmscRuGateway
from portal.notifications.connectors.smtp import SmtpBatch, SmtpSendError
from portal.notifications.delivery_models import SmsGateway, SmsModule

SMS_MODULES: dict[SmsModule, type[SmsConnector]] = {
    SmsModule.SIMULATED: SimulatedSmsGateway,
    SmsModule.SMSCRU: SmscRuGateway,
}


def sms_connector(gateway: SmsGateway) -> SmsConnector:
    """The module of a gateway, configured with its settings."""
    return SMS_MODULES[gateway.module](gateway.settings or {})


__all__ = ["SMS_MODULES", "SimulatedSmsGateway", "SmsConnector", "SmsError", "SmscRuGateway",
           "SmtpBatch", "SmtpSendError", "sms_connector"]
