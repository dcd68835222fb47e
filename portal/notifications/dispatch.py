"""Turning an event into notifications (09 §4.1 N-2..N-9, §6 J1, J5; 03 NL-1..NL-3).

`dispatch_event` is the job `events.emit` queues after the source's commit. It loads the
event's objects, finds the reseller that owns them (N-7: the client's reseller; the staff
member's for staff events; the reseller itself for reseller events), and runs that reseller's
active handlers of the event type — never another reseller's. For each handler whose rule
holds, the template's recipients are rendered and resolved, the client users' channel
preferences honoured (PREF-2, A-01, A-02), a language picked per recipient, and one
`Notification` written per recipient. E-mail and SMS are queued (at once or at the handler's
hour); client-panel messages are stored as delivered. A template that cannot be rendered or
a recipient that cannot be used fails that one message, visibly, and nothing else.

Interpretations (issue 6, 09 §8 A-07): one message per recipient address, so each has its own
status and language; Cc and Bcc ride on the first message that goes out. The SMS switch of a
client event is the event's user's, else the client owner's (users have no phone of their
own).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from portal.accounts.models import StaffMember
from portal.billing.models import Charge
from portal.clients.models import Client, ClientUser, User
from portal.core.clock import clock
from portal.extensions import db
from portal.notifications.delivery_models import (Notification, NotificationPreference,
                                                  NotificationStatus)
from portal.notifications.event_types import Audience, EventType
from portal.notifications.event_types import event_type as get_event_type
from portal.notifications.liquid_env import (JoinedDict, JoinedList, TemplateRenderError,
                                             render_template)
from portal.notifications.models import (HandlerStatus, NotificationEvent,
                                         NotificationTemplate, TemplateType)
from portal.notifications.placeholders import ContextError, build_context, manual_order_type
from portal.notifications.rule_language import RuleSyntaxError, parse_rule
from portal.notifications.sending import (due_at, email_problem, normalise_phone,
                                          phone_problem, queue_sending, split_addresses)
from portal.orders.models import ManualOperation, Order, Payment
from portal.settings.services import system_settings
from portal.subscriptions.models import Subscription
from portal.tenancy.models import Reseller

log = logging.getLogger(__name__)

# events.OBJECT_KINDS -> model
MODELS = {"reseller": Reseller, "client": Client, "user": User, "order": Order,
          "subscription": Subscription, "payment": Payment, "charge": Charge,
          "manual_operation": ManualOperation, "staff_member": StaffMember}
_HOLDERS = ("order", "subscription", "payment", "charge", "manual_operation")
# Extra values the emitter passes as ISO dates (build_context wants dates).
_DATE_EXTRAS = ("billing_day_date", "changed_on")


def dispatch_event(event_type: str, refs: dict, extra: dict | None = None,
                   was: dict | None = None) -> list[int]:
    """Job: run the owning reseller's active handlers of one event; return the new log ids."""
    notifications = dispatch(event_type, refs, extra=extra, was=was)
    db.session.commit()
    return [notification.id for notification in notifications]


def dispatch(event_type: str, refs: Mapping, *, extra: Mapping | None = None,
             was: Mapping | None = None) -> list[Notification]:
    """Write the notifications of one event and queue their sending (09 N-2..N-9).

    `refs` maps object kinds (events.OBJECT_KINDS) to ids; `extra` holds the emitter's string
    values (dotted keys nest: "account.owner_reset_password_url"); `was` the previous values
    by dotted name (RULE-7). Flushes; the caller commits.
    """
    try:
        event = get_event_type(event_type)
    except KeyError:
        log.error("notification event %r is not in the catalogue", event_type)
        return []
    objects = _load(refs)
    reseller = _owner(event, objects)
    if reseller is None:
        return []
    handlers = db.session.scalars(
        select(NotificationEvent)
        .options(joinedload(NotificationEvent.template).joinedload(NotificationTemplate.category),
                 joinedload(NotificationEvent.template)
                 .selectinload(NotificationTemplate.contents))
        .where(NotificationEvent.reseller_id == reseller.id,
               NotificationEvent.event_type == event.key,
               NotificationEvent.status == HandlerStatus.ACTIVE)
        .order_by(NotificationEvent.id)).unique().all()
    if not handlers:
        return []
    run = _EventRun(event, reseller, objects, extra or {}, was or {})
    created: list[Notification] = []
    for handler in handlers:
        try:
            with db.session.begin_nested():
                created += run.handle(handler)
        except Exception:  # noqa: BLE001 - one broken handler must not silence the others
            log.exception("notification handler %s failed for %s", handler.id, event.key)
    due = sum(1 for n in created if n.status == NotificationStatus.QUEUED
              and n.next_attempt_at is not None and n.next_attempt_at <= run.now)
    if due:
        queue_sending(reseller.id, due)
    return created


# -- the event's objects and owner --------------------------------------------------------------


def _load(refs: Mapping) -> dict:
    objects = {}
    for kind, object_id in (refs or {}).items():
        model = MODELS.get(kind)
        if model is None or object_id is None:
            continue
        # The job has no tenant yet: the objects name it (checked in _owner).
        objects[kind] = db.session.get(model, int(object_id))
    return {kind: obj for kind, obj in objects.items() if obj is not None}


def _owner(event: EventType, objects: dict) -> Reseller | None:
    """09 N-7: whose handlers run. Every object must belong to that reseller (A-07)."""
    client = objects.get("client")
    if client is None:
        for kind in _HOLDERS:
            holder = objects.get(kind)
            if holder is not None and getattr(holder, "client_id", None) is not None:
                client = db.session.get(Client, holder.client_id)
                objects["client"] = client
                break
    if event.audience == Audience.CLIENT and client is not None:
        owner_id = client.reseller_id
    elif event.audience == Audience.STAFF and "staff_member" in objects:
        owner_id = objects["staff_member"].reseller_id
    elif "reseller" in objects:
        owner_id = objects["reseller"].id
    else:
        owner_id = next((obj.reseller_id for obj in objects.values()), None)
    if owner_id is None:
        log.warning("notification event %s names no object; nobody to notify", event.key)
        return None
    for kind, obj in objects.items():
        obj_reseller = obj.id if kind == "reseller" else obj.reseller_id
        if obj_reseller != owner_id:
            log.error("notification event %s mixes resellers (%s #%s belongs to %s, not %s); "
                      "not sent", event.key, kind, obj.id, obj_reseller, owner_id)
            return None
    return db.session.get(Reseller, owner_id)


# -- one event, its handlers --------------------------------------------------------------------


@dataclass
class _Recipient:
    address: str
    user: User | None = None
    staff: StaffMember | None = None
    problem: str | None = None


def _nest(values: Mapping) -> dict:
    """{"account.owner_reset_password_url": x} -> {"account": {"owner_reset_password_url": x}};
    ISO dates of the keys build_context reads as dates become dates."""
    nested: dict = {}
    for key, value in values.items():
        if key in _DATE_EXTRAS and isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                pass
        parts = str(key).split(".")
        node = nested
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    return nested


class _EventRun:
    """What one event's handlers share: objects, contexts per language, recipients' data."""

    def __init__(self, event: EventType, reseller: Reseller, objects: dict, extra: Mapping,
                 was: Mapping):
        self.event = event
        self.reseller = reseller
        self.objects = objects
        self.extra = dict(extra)
        self.was = dict(was)
        self.now = clock.now()
        settings = system_settings(reseller)
        self.client_language = settings.client_default_language or reseller.default_language
        self.operator_language = (settings.operator_default_language
                                  or reseller.default_language)
        # The language of recipients who are neither a client user nor a staff member.
        self.default_language = (self.client_language if event.audience == Audience.CLIENT
                                 else self.operator_language)
        self._contexts: dict[str, dict] = {}

    @property
    def client(self) -> Client | None:
        return self.objects.get("client")

    def context(self, language: str) -> dict:
        if language not in self._contexts:
            objects = {kind: obj for kind, obj in self.objects.items() if kind != "reseller"}
            self._contexts[language] = build_context(
                self.event.key, reseller=self.reseller, extra=_nest(self.extra),
                language=language, was=self.was, **objects)
        return self._contexts[language]

    def render(self, source: str, language: str, *, html: bool = False) -> str:
        return render_template(source or "", self.context(language), language=language,
                               currency=self.reseller.currency, html=html, zone=clock.zone())

    # -- a handler --------------------------------------------------------------------------

    def handle(self, handler: NotificationEvent) -> list[Notification]:
        template = handler.template
        if template is None or template.type != handler.template_type:
            log.error("handler %s has no template of its type", handler.id)
            return []
        try:
            rule = parse_rule(handler.rule)
        except RuleSyntaxError:
            log.exception("handler %s has a rule that does not parse", handler.id)
            return []
        try:
            base = self.context(self.default_language)
        except ContextError:
            log.exception("notification context of %s crosses tenants", self.event.key)
            return []
        if not rule.evaluate(rule_values(rule.placeholders, base, objects=self.objects,
                                         extra=self.extra, was=self.was)):
            return []
        return _HandlerRun(self, handler, template).messages()


class _HandlerRun:
    """The messages one handler makes: recipients, preferences, language, rendering."""

    def __init__(self, run: _EventRun, handler: NotificationEvent,
                 template: NotificationTemplate):
        self.run = run
        self.handler = handler
        self.template = template
        self.channel = template.type
        self.category = template.category

    def messages(self) -> list[Notification]:
        try:
            recipients = self.recipients()
        except TemplateRenderError as error:
            field = "user_id" if self.channel == TemplateType.CLIENT_PANEL else "recipient"
            return [self.failed("", _l("The recipient field could not be rendered (%(field)s): "
                                       "%(error)s", field=field, error=str(error)))]
        allowed = self.allowed(recipients)
        created = []
        copies = self.copies() if self.channel == TemplateType.EMAIL else None
        for recipient in allowed:
            if recipient.problem:
                created.append(self.failed(recipient.address, recipient.problem,
                                           recipient=recipient))
                continue
            cc = bcc = ""
            if copies is not None:
                cc, bcc, bad = copies
                copies = None  # the copies go with the first message only
                created += [self.failed(address, problem) for address, problem in bad]
            created.append(self.message(recipient, cc=cc, bcc=bcc))
        db.session.add_all(created)
        db.session.flush()
        return created

    # -- recipients -------------------------------------------------------------------------

    def recipients(self) -> list[_Recipient]:
        run = self.run
        language = run.default_language
        if self.channel == TemplateType.CLIENT_PANEL:
            return self.panel_users(run.render(self.template.user_id, language))
        addresses = split_addresses(run.render(self.template.recipient, language))
        if not addresses:
            return [_Recipient("", problem=str(_l("The recipient is empty.")))]
        if self.channel == TemplateType.SMS:
            holder = self.sms_holder()
            found = []
            for phone in _unique(normalise_phone(a) for a in addresses):
                found.append(_Recipient(phone, user=holder, problem=phone_problem(phone)))
            return found
        return self.email_recipients(_unique(addresses, key=str.lower))

    def email_recipients(self, addresses: list[str]) -> list[_Recipient]:
        reseller_id = self.run.reseller.id
        lowered = [a.lower() for a in addresses]
        users = {u.email.lower(): u for u in db.session.scalars(select(User).where(
            User.reseller_id == reseller_id, func.lower(User.email).in_(lowered)))}
        staff = {m.email.lower(): m for m in db.session.scalars(select(StaffMember).where(
            StaffMember.reseller_id == reseller_id, func.lower(StaffMember.email).in_(lowered)))}
        return [_Recipient(address, user=users.get(address.lower()),
                           staff=staff.get(address.lower()) if address.lower() not in users
                           else None, problem=email_problem(address))
                for address in addresses]

    def panel_users(self, rendered: str) -> list[_Recipient]:
        """09 TPL-4: the user ids of a client-panel message, users of this reseller (and of
        the event's client, when there is one)."""
        run = self.run
        values = _unique(split_addresses(rendered))
        if not values:
            return [_Recipient("", problem=str(_l("The user ID is empty.")))]
        ids = {value: int(value) for value in values if value.isdigit()}
        users = {u.id: u for u in db.session.scalars(select(User).where(
            User.reseller_id == run.reseller.id, User.id.in_(ids.values())))} if ids else {}
        members = set()
        if run.client is not None and users:
            members = set(db.session.scalars(select(ClientUser.user_id).where(
                ClientUser.reseller_id == run.reseller.id, ClientUser.client_id == run.client.id,
                ClientUser.user_id.in_(users))))
        found = []
        for value in values:
            user = users.get(ids.get(value))
            if user is None or (run.client is not None and user.id not in members):
                found.append(_Recipient(value, problem=str(
                    _l("“%(value)s” is not a user of this client.", value=value))))
            else:
                found.append(_Recipient(str(user.id), user=user))
        return found

    def sms_holder(self) -> User | None:
        run = self.run
        user = run.objects.get("user")
        if user is not None:
            return user
        return run.client.owner if run.client is not None else None

    def copies(self) -> tuple[str, str, list[tuple[str, str]]]:
        """Cc and Bcc addresses that can be used, and the problems of those that cannot."""
        language = self.run.default_language
        good: dict[str, list[str]] = {"cc": [], "bcc": []}
        bad = []
        for field in ("cc", "bcc"):
            try:
                addresses = split_addresses(self.run.render(getattr(self.template, field),
                                                            language))
            except TemplateRenderError as error:
                bad.append(("", str(_l("The %(field)s field could not be rendered: %(error)s",
                                       field=field, error=str(error)))))
                continue
            for address in _unique(addresses, key=str.lower):
                problem = email_problem(address)
                if problem:
                    bad.append((address, problem))
                else:
                    good[field].append(address)
        return ", ".join(good["cc"]), ", ".join(good["bcc"]), bad

    # -- preferences and language -----------------------------------------------------------

    def allowed(self, recipients: list[_Recipient]) -> list[_Recipient]:
        """09 PREF-2: a client user gets a published category's message only with the
        category switched on for the channel; unpublished categories cannot be switched off
        (A-01); without a stored choice the category's default applies (A-02)."""
        category = self.category
        if category is None or not category.published:
            return recipients
        user_ids = {r.user.id for r in recipients if r.user is not None and not r.problem}
        if not user_ids:
            return recipients
        stored = {p.user_id: p for p in db.session.scalars(select(NotificationPreference).where(
            NotificationPreference.reseller_id == self.run.reseller.id,
            NotificationPreference.category_id == category.id,
            NotificationPreference.user_id.in_(user_ids)))}
        kept = []
        for recipient in recipients:
            if recipient.user is None or recipient.problem:
                kept.append(recipient)
                continue
            preference = stored.get(recipient.user.id)
            switched_on = (preference.allows(self.channel) if preference is not None
                           else category.enabled_on_client_creation)
            if switched_on:
                kept.append(recipient)
        return kept

    def language_of(self, recipient: _Recipient) -> str:
        run = self.run
        if recipient.user is not None:
            return recipient.user.language or run.client_language
        if recipient.staff is not None:
            return recipient.staff.language or run.operator_language
        return run.default_language

    # -- the rows ---------------------------------------------------------------------------

    def row(self, recipient: str, **values) -> Notification:
        run = self.run
        handler = self.handler
        return Notification(
            reseller_id=run.reseller.id, client_id=run.client.id if run.client else None,
            event_type=run.event.key, handler_id=handler.id, template_id=self.template.id,
            category_id=self.template.category_id, channel=self.channel, recipient=recipient,
            send_hour=None if handler.send_immediately else handler.send_hour,
            created_at=run.now, **values)

    def failed(self, address: str, problem, *, recipient: _Recipient | None = None
               ) -> Notification:
        return self.row(address, status=NotificationStatus.FAILED, last_error=str(problem),
                        user_id=recipient.user.id if recipient and recipient.user else None,
                        staff_member_id=(recipient.staff.id if recipient and recipient.staff
                                         else None))

    def message(self, recipient: _Recipient, *, cc: str, bcc: str) -> Notification:
        run = self.run
        wanted = self.language_of(recipient)
        content = self.template.content_for(wanted, default_language=run.default_language)
        ids = {"user_id": recipient.user.id if recipient.user else None,
               "staff_member_id": recipient.staff.id if recipient.staff else None}
        if content is None:
            return self.failed(recipient.address, _l("The template has no text."),
                               recipient=recipient)
        language = content.language
        try:
            body = run.render(content.body, language, html=self.channel != TemplateType.SMS)
            subject = ("" if self.channel == TemplateType.SMS
                       else _one_line(run.render(content.subject, language)))
            sender = (_one_line(run.render(self.template.sender, language))
                      if self.channel == TemplateType.EMAIL else "")
        except TemplateRenderError as error:
            return self.row(recipient.address, status=NotificationStatus.FAILED,
                            language=language, last_error=str(error), **ids)
        values = {"language": language, "subject": subject, "body": body, "cc": cc,
                  "bcc": bcc, "sender": sender or run.reseller.smtp_sender, **ids}
        if self.channel == TemplateType.CLIENT_PANEL:
            # 09 J5: stored for the client panel's bell at once.
            return self.row(recipient.address, status=NotificationStatus.SENT,
                            sent_at=run.now, **values)
        handler = self.handler
        return self.row(recipient.address, status=NotificationStatus.QUEUED,
                        next_attempt_at=due_at(handler.send_immediately, handler.send_hour,
                                               run.now), **values)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _unique(values, key=lambda value: value) -> list:
    seen, kept = set(), []
    for value in values:
        marker = key(value)
        if value and marker not in seen:
            seen.add(marker)
            kept.append(value)
    return kept


# -- rule values --------------------------------------------------------------------------------


def _lookup(context: Mapping, path: str):
    node = context
    for part in path.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list | JoinedList) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    if isinstance(node, JoinedDict):
        return node.text  # a status prints itself; its fields are reached by name
    if isinstance(node, Mapping):
        return None  # an object is no value a rule can compare
    if isinstance(node, JoinedList):
        return list(node)
    return node


def _derived(objects: Mapping) -> dict:
    """Rule placeholders the template context does not hold (09 §2.10)."""
    values: dict = {}
    order, subscription = objects.get("order"), objects.get("subscription")
    subscription = subscription or (order.subscription if order is not None else None)
    if order is not None:
        values["order.type"] = manual_order_type(order.order_type)
        if subscription is not None:
            values["order.plans_ids"] = [subscription.plan_id]
            values["order.renewal_point"] = subscription.auto_renew_point_days
            values["order.renewal_is_positive"] = subscription.auto_renew_point_days > 0
    if subscription is not None:
        category = subscription.plan.plan_category if subscription.plan else None
        if category is not None:
            values["plan_category.key"] = category.key
    values["current_date"] = clock.today()
    return values


def rule_values(names, context: Mapping, *, objects: Mapping, extra: Mapping,
                was: Mapping) -> dict:
    """The values of a rule's placeholders (09 §2.10): what the emitter passed, the values
    only rules read, the previous values (RULE-7), else the template context by path."""
    derived = _derived(objects)
    values = {}
    for name in names:
        if name in extra:
            values[name] = extra[name]
        elif name in derived:
            values[name] = derived[name]
        elif name.endswith(".was") and name[:-4] in was:
            values[name] = was[name[:-4]]
        elif name == "subscription.trial.status":
            trial = _lookup(context, "subscription.trial")
            values[name] = None if trial is None else ("trial" if trial else "no-trial")
        else:
            values[name] = _lookup(context, name)
    return values
