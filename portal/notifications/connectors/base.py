"""The SMS module interface (09 §2.6, SMS-1/SMS-2)."""

from __future__ import annotations


class SmsError(Exception):
    """A send the SMS service refused or could not take. `permanent`: retrying cannot help
    (wrong credentials, a number the service rejects); otherwise the send is retried."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class SmsConnector:
    """One SMS module configured with a gateway's Дополнительные настройки."""

    # The settings the module's form asks for (09 SMS-2: the group differs by module).
    settings_fields: tuple[str, ...] = ()

    def __init__(self, settings: dict):
        self.settings = dict(settings or {})

    def send(self, phone: str, text: str) -> str:
        """Send one SMS to a phone in international format; return the service's message id
        or raise SmsError."""
        raise NotImplementedError
