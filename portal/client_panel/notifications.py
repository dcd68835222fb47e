"""The client panel's side of notifications: the bell's in-panel messages (09 §5.5 C2) and the
user's channel switches per published category, "Настройка уведомлений" (C1, §2.7, §3.4,
PREF-1, A-02). Queries take the reseller first; services flush, the views commit."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update

from portal.core.clock import clock
from portal.extensions import db
from portal.notifications.delivery_models import (Notification, NotificationPreference,
                                                  NotificationStatus)
from portal.notifications.models import (NotificationCategory, NotificationTemplate,
                                         TemplateType)

BELL_SIZE = 10  # messages the bell's list shows; the count covers them all
CHANNELS = ("email", "sms", "panel")


def _mine(reseller, user, client) -> tuple:
    """The user's delivered in-panel messages for the client acted for (C2)."""
    return (Notification.reseller_id == reseller.id, Notification.user_id == user.id,
            Notification.client_id == client.id,
            Notification.channel == TemplateType.CLIENT_PANEL,
            Notification.status == NotificationStatus.SENT)


def _panel_messages(reseller, user, client):
    return select(Notification).where(*_mine(reseller, user, client))


def count_unread(reseller, user, client) -> int:
    unread = _panel_messages(reseller, user, client).where(Notification.read_at.is_(None))
    return db.session.scalar(select(func.count()).select_from(unread.subquery())) or 0


def list_unread(reseller, user, client, *, limit: int = BELL_SIZE) -> list[Notification]:
    """Unread messages, newest first."""
    return list(db.session.scalars(
        _panel_messages(reseller, user, client).where(Notification.read_at.is_(None))
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))


def get_panel_message(reseller, user, client, notification_id: int) -> Notification | None:
    """One of the user's messages for this client; None for anyone else's (a 404)."""
    return db.session.scalar(_panel_messages(reseller, user, client)
                             .where(Notification.id == notification_id))


def mark_read(notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = clock.now()
        db.session.flush()
    return notification


def mark_all_read(reseller, user, client) -> int:
    """Mark every unread message of the user for this client; return how many."""
    result = db.session.execute(update(Notification).where(
        *_mine(reseller, user, client), Notification.read_at.is_(None))
        .values(read_at=clock.now()), execution_options={"synchronize_session": False})
    return result.rowcount


# -- preferences ------------------------------------------------------------------------------

@dataclass
class CategorySwitches:
    """One row of the preferences page."""

    category: NotificationCategory
    email: bool
    sms: bool
    panel: bool
    sms_locked: bool  # 09 §3.4: no SMS template in the category; the value is kept


def preference_rows(reseller, user) -> list[CategorySwitches]:
    """The reseller's published categories (PREF-1) with the user's switches; a category the
    user never saved shows its `enabled_on_client_creation` (CAT-4, A-02)."""
    categories = list(db.session.scalars(select(NotificationCategory).where(
        NotificationCategory.reseller_id == reseller.id,
        NotificationCategory.published.is_(True)).order_by(NotificationCategory.name,
                                                           NotificationCategory.id)))
    if not categories:
        return []
    ids = [category.id for category in categories]
    with_sms = set(db.session.scalars(select(NotificationTemplate.category_id).distinct().where(
        NotificationTemplate.reseller_id == reseller.id,
        NotificationTemplate.category_id.in_(ids),
        NotificationTemplate.type == TemplateType.SMS)))
    saved = {row.category_id: row for row in db.session.scalars(
        select(NotificationPreference).where(NotificationPreference.reseller_id == reseller.id,
                                             NotificationPreference.user_id == user.id,
                                             NotificationPreference.category_id.in_(ids)))}
    rows = []
    for category in categories:
        row = saved.get(category.id)
        default = category.enabled_on_client_creation
        rows.append(CategorySwitches(
            category=category, email=row.email_enabled if row else default,
            sms=row.sms_enabled if row else default,
            panel=row.panel_enabled if row else default,
            sms_locked=category.id not in with_sms))
    return rows


def save_preferences(reseller, user,
                     switches: dict[int, dict[str, bool]]) -> list[CategorySwitches]:
    """Store the user's switches for every published category: {category id: {"email": …,
    "sms": …, "panel": …}}; a category left out is switched off, a locked SMS switch keeps its
    value (09 §3.4), ids of other categories are ignored."""
    rows = preference_rows(reseller, user)
    saved = {row.category_id: row for row in db.session.scalars(
        select(NotificationPreference).where(NotificationPreference.reseller_id == reseller.id,
                                             NotificationPreference.user_id == user.id))}
    for row in rows:
        wanted = switches.get(row.category.id, {})
        preference = saved.get(row.category.id)
        if preference is None:
            preference = NotificationPreference(reseller_id=reseller.id, user_id=user.id,
                                                category_id=row.category.id)
            db.session.add(preference)
        preference.email_enabled = row.email = bool(wanted.get("email"))
        preference.panel_enabled = row.panel = bool(wanted.get("panel"))
        if not row.sms_locked:
            row.sms = bool(wanted.get("sms"))
        preference.sms_enabled = row.sms
    db.session.flush()
    return rows
