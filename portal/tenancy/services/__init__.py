"""Reseller use cases."""

from portal.tenancy.services.errors import TenancyError
from portal.tenancy.services.smtp import effective_smtp, send_test_email

__all__ = ["TenancyError", "effective_smtp", "send_test_email"]
