"""Operator-panel pages of notifications (09 §5.1–§5.3): one module per screen group, one
blueprint. The notification log and SMS gateway pages (portal/notifications/views_log.py)
register on the same blueprint."""

from importlib.util import find_spec

from flask import Blueprint

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

from portal.notifications.views import categories, handlers, templates  # noqa: E402, F401

if find_spec("portal.notifications.views_log") is not None:  # built beside these pages
    from portal.notifications import views_log  # noqa: E402, F401
