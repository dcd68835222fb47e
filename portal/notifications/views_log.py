"""The notification log and the SMS gateways in the operator panel (03 §5.1 S6, §4.5 NL-1..3;
09 §2.8, §5.4 S11–S13, SMS-1..4, A-28). The pages register on the "notifications" blueprint.

The log lists every generated message of the reseller (one per recipient) with its event,
handler, channel, recipient, subject, status and attempts; a message's page shows the rendered
subject and body (the body in a sandboxed frame: its HTML can run and reach nothing) and every
send attempt, and sends it again on request. SMS gateways are the reseller's own rows; the
password is never shown back, and saving it empty keeps the stored one.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import false, func, select

from portal.accounts.auth import staff_required
from portal.accounts.models import StaffMember
from portal.clients.models import Client
from portal.core.audit import events_for
from portal.core.errors import DomainError
from portal.core.htmx import is_htmx
from portal.core.links import link_to
from portal.core.listkit import Column, Filter, ListDefinition, register_list
from portal.core.tenant_guard import across_tenants
from portal.extensions import db
from portal.notifications.delivery_models import (NOTIFICATION_STATUS_LABELS, SMS_MODULE_LABELS,
                                                  Notification, NotificationStatus, SmsGateway,
                                                  SmsModule)
from portal.notifications.event_types import EVENT_TYPES, EVENT_TYPES_BY_KEY
from portal.notifications.models import TEMPLATE_TYPE_LABELS, TemplateType
from portal.notifications.sending import resend_notification
from portal.notifications.services.sms_gateways import (MODULE_SETTINGS, choose_sms_gateway,
                                                        create_sms_gateway, delete_sms_gateway,
                                                        selectable_gateways,
                                                        selected_gateway_id,
                                                        update_sms_gateway)
from portal.notifications.views import bp
from portal.notifications.views.common import as_minutes, run_action, run_service
from portal.operator.lists import list_response
from portal.settings.models import SystemSettings
from portal.tenancy.models import Reseller
from portal.tenancy.scope import scoped_select, tenant_get_or_404

LOG_VIEW, LOG_MANAGE = "notification_log.view", "notification_log.manage"
SMS_VIEW, SMS_MANAGE = "sms_gateways.view", "sms_gateways.manage"
HANDLER_PAGE = "notifications.handler_detail"
TEMPLATE_PAGE = "notifications.template_detail"
CLIENT_PAGE = "clients.client_detail"
N = Notification
STATUS_COLOURS = {NotificationStatus.QUEUED: "#1f5fa8", NotificationStatus.SENDING: "#1f5fa8",
                  NotificationStatus.SENT: "#2e7d32", NotificationStatus.FAILED: "#c62828"}


# --- the log list (03 S6) ----------------------------------------------------------------------

def _event_name(key: str) -> str:
    event = EVENT_TYPES_BY_KEY.get(key)
    return str(event.name) if event is not None else key


def _client_names(notification: Notification) -> str:
    """The client's name, looked up once per request and client (the log has no relationship
    to clients: an entry outlives its client)."""
    if notification.client_id is None:
        return ""
    names = g.setdefault("notification_client_names", {})
    if notification.client_id not in names:
        names[notification.client_id] = db.session.scalar(select(Client.name).where(
            Client.reseller_id == notification.reseller_id,
            Client.id == notification.client_id)) or f"#{notification.client_id}"
    return names[notification.client_id]


def _detail_link(text_of):
    def render(notification: Notification) -> Markup:
        return Markup('<a href="{}">{}</a>').format(
            url_for("notifications.log_detail", notification_id=notification.id),
            text_of(notification))
    return render


def _handler_cell(notification: Notification) -> Markup:
    if notification.handler_id is None:
        return Markup("—")  # 09 §4.6: the log outlives a deleted handler
    return link_to(HANDLER_PAGE, f"#{notification.handler_id}", handler_id=notification.handler_id)


def _client_cell(notification: Notification) -> Markup:
    if notification.client_id is None:
        return Markup("")
    return link_to(CLIENT_PAGE, _client_names(notification), client_id=notification.client_id)


def status_badge(notification: Notification) -> Markup:
    colour = STATUS_COLOURS.get(notification.status, "#1f5fa8")
    return Markup('<span class="badge" data-status="{}"><span class="swatch" aria-hidden="true" '
                  'style="display:inline-block;width:.8em;height:.8em;border-radius:50%;'
                  'background:{}"></span> {}</span>').format(
        notification.status.value, colour, notification.status_label)


@dataclass
class StatusFilter(Filter):
    """Статус: "queued" covers the messages a send job has claimed but not finished."""

    def apply(self, query, raw: str):
        value = (raw or "").strip()
        if not value:
            return query
        if value == NotificationStatus.QUEUED.value:
            return query.where(N.status.in_((NotificationStatus.QUEUED,
                                             NotificationStatus.SENDING)))
        if value not in {c for c, _label in self.choices}:
            return query.where(false())
        return query.where(N.status == value)


class ClientFilter:
    """Клиент: the client's ID, or a part of its name."""

    choices = None

    def __init__(self, key: str, label):
        self.key, self.label = key, label

    def apply(self, query, raw: str):
        value = (raw or "").strip()
        if not value:
            return query
        if value.isdigit():
            return query.where(N.client_id == int(value))
        # Correlated with the log row's reseller: the export job has no acting reseller.
        names = select(Client.id).where(
            Client.reseller_id == N.reseller_id,
            func.lower(Client.name).contains(value.lower(), autoescape=True))
        return query.where(N.client_id.in_(names))


LOG = register_list(ListDefinition(
    key="notification_log", title=_l("Notification log"), model=N, permission=LOG_VIEW,
    query=lambda reseller: scoped_select(N, reseller),
    columns=[
        Column("id", "ID", sort=N.id, render=_detail_link(lambda n: n.id)),
        Column("created_at", _l("Created"), sort=N.created_at,
               render=lambda n: escape(as_minutes(n.created_at))),
        Column("event_type", _l("Event"), sort=N.event_type,
               value=lambda n: _event_name(n.event_type)),
        Column("handler", _l("Notification event"), sort=N.handler_id,
               value=lambda n: n.handler_id, render=_handler_cell),
        Column("channel", _l("Type"), sort=N.channel, value=lambda n: n.channel_label),
        Column("client", _l("Client"), sort=N.client_id, value=_client_names,
               render=_client_cell),
        Column("recipient", _l("Recipient"), sort=N.recipient, search=N.recipient),
        Column("subject", _l("Subject"), sort=N.subject,
               render=_detail_link(lambda n: n.subject or "—")),
        Column("info", _l("Information"), value=lambda n: n.info, default=False),
        Column("send_hour", _l("Send time"), sort=N.send_hour, default=False),
        Column("status", _l("Status"), sort=N.status, value=lambda n: n.status_label,
               render=status_badge),
        Column("attempts", _l("Attempts"), sort=N.attempts),
        Column("sent_at", _l("Sent"), sort=N.sent_at, default=False,
               render=lambda n: escape(as_minutes(n.sent_at))),
        Column("last_error", _l("Error"), value=lambda n: n.last_error, default=False),
    ],
    filters=[
        StatusFilter("status", _l("Status"), N.status, choices=[
            (s.value, NOTIFICATION_STATUS_LABELS[s]) for s in
            (NotificationStatus.QUEUED, NotificationStatus.SENT, NotificationStatus.FAILED)]),
        Filter("channel", _l("Type"), N.channel,
               choices=[(t.value, TEMPLATE_TYPE_LABELS[t]) for t in TemplateType]),
        Filter("event_type", _l("Event"), N.event_type,
               choices=[(event.key, event.name) for event in EVENT_TYPES]),
        ClientFilter("client", _l("Client")),
    ],
))


@bp.get("/log")
@staff_required(LOG_VIEW)
def log_list():
    return list_response(LOG, page_template="notifications/log_list.html", title=LOG.title)


# --- one message (03 §2.5; issue 6 item 5) ------------------------------------------------------

def _actor_names(notification: Notification) -> dict[int, str]:
    """Who asked for each resend; a member of a reseller above may have (impersonation)."""
    ids = {a.actor_id for a in notification.attempt_log if a.actor_id}
    if not ids:
        return {}
    with across_tenants():  # names only, of members the attempts already point at
        return dict(db.session.execute(select(StaffMember.id, StaffMember.name).where(
            StaffMember.id.in_(ids))).all())


def _log_page(notification: Notification, *, status: int = 200):
    handler = notification.handler
    return render_template(
        "notifications/log_detail.html", notification=notification,
        event_name=_event_name(notification.event_type),
        handler_link=(link_to(HANDLER_PAGE, str(handler), handler_id=handler.id)
                      if handler is not None else None),
        template_link=(link_to(TEMPLATE_PAGE, notification.template.name,
                               template_id=notification.template_id)
                       if notification.template is not None else None),
        client_link=_client_cell(notification),
        html_body=notification.channel in (TemplateType.EMAIL, TemplateType.CLIENT_PANEL),
        actors=_actor_names(notification),
        can_resend=current_user.can(LOG_MANAGE) and notification.resendable), status


@bp.get("/log/<int:notification_id>")
@staff_required(LOG_VIEW)
def log_detail(notification_id):
    return _log_page(tenant_get_or_404(Notification, notification_id))


@bp.post("/log/<int:notification_id>/resend", endpoint="resend_notification")
@staff_required(LOG_MANAGE)
def resend_notification_page(notification_id):
    """Send a sent or failed message again: a new attempt cycle, the old attempts kept."""
    notification = tenant_get_or_404(Notification, notification_id)
    run_action(lambda: resend_notification(notification, actor=current_user),
               success=_("The notification is queued to be sent again."))
    return redirect(url_for("notifications.log_detail", notification_id=notification.id))


# --- SMS gateways (09 §5.4) -------------------------------------------------------------------

def _selected_cell(gateway: SmsGateway) -> str:
    chosen = g.setdefault("sms_gateway_selected", {})
    if gateway.reseller_id not in chosen:
        chosen[gateway.reseller_id] = db.session.scalar(
            select(SystemSettings.sms_gateway_id).where(
                SystemSettings.reseller_id == gateway.reseller_id))
    return _("Yes") if chosen[gateway.reseller_id] == gateway.id else _("No")


def _reseller_name(gateway: SmsGateway) -> str:
    return db.session.get(Reseller, gateway.reseller_id).name


def _gateway_link(text_of):
    def render(gateway: SmsGateway) -> Markup:
        return Markup('<a href="{}">{}</a>').format(
            url_for("notifications.sms_gateway_detail", gateway_id=gateway.id),
            text_of(gateway))
    return render


GATEWAYS = register_list(ListDefinition(
    key="sms_gateways", title=_l("SMS gateways"), model=SmsGateway, permission=SMS_VIEW,
    query=lambda reseller: scoped_select(SmsGateway, reseller),
    columns=[
        Column("id", "ID", sort=SmsGateway.id, render=_gateway_link(lambda gw: gw.id)),
        Column("name", _l("Name"), sort=SmsGateway.name, search=SmsGateway.name,
               render=_gateway_link(lambda gw: gw.name)),
        Column("module", _l("Module"), sort=SmsGateway.module,
               value=lambda gw: gw.module_label),
        # 09 S11 Реселлер: the reseller that uses the gateway (always the panel's own).
        Column("reseller", _l("Reseller"), value=_reseller_name),
        Column("selected", _l("Used for SMS"), value=_selected_cell),
    ],
    filters=[Filter("module", _l("Module"), SmsGateway.module,
                    choices=[(m.value, SMS_MODULE_LABELS[m]) for m in SmsModule])],
))


def _selection_context() -> dict:
    reseller = g.acting_reseller
    return {"selectable": selectable_gateways(reseller),
            "selected_id": selected_gateway_id(reseller), "reseller": reseller}


@bp.get("/sms-gateways", endpoint="sms_gateways")
@staff_required(SMS_VIEW)
def sms_gateways_page():
    return list_response(GATEWAYS, page_template="notifications/sms_gateways.html",
                         title=GATEWAYS.title, can_manage=current_user.can(SMS_MANAGE),
                         create_url=url_for("notifications.create_sms_gateway")
                         if current_user.can(SMS_MANAGE) else None,
                         **_selection_context())


@bp.post("/sms-gateways/selection", endpoint="choose_sms_gateway")
@staff_required(SMS_MANAGE)
def choose_sms_gateway_page():
    """The reseller's "SMS-шлюз" setting (09 SMS-3, A-28): its own or an ancestor's gateway;
    empty leaves the choice to the reseller above."""
    raw = (request.form.get("sms_gateway_id") or "").strip()
    gateway_id = int(raw) if raw.isdigit() else None
    if raw and gateway_id is None:
        abort(400)
    run_action(lambda: choose_sms_gateway(g.acting_reseller, gateway_id, actor=current_user),
               success=_("The SMS gateway for sending is saved."))
    return redirect(url_for("notifications.sms_gateways"))


@dataclass
class GatewayForm:
    """The gateway's fields as posted: name, module and the module's settings (09 S12/S13).
    Plain request values: the settings group depends on the module chosen."""

    name: str = ""
    module: str = SmsModule.SMSCRU.value
    settings: dict | None = None
    errors: dict | None = None

    @classmethod
    def of(cls, gateway: SmsGateway) -> GatewayForm:
        settings = {k: v for k, v in (gateway.settings or {}).items()
                    if not any(f.key == k and f.secret for f in MODULE_SETTINGS[gateway.module])}
        return cls(gateway.name, gateway.module.value, settings, {})

    @classmethod
    def posted(cls) -> GatewayForm:
        module = request.form.get("module", "")
        fields = MODULE_SETTINGS.get(SmsModule(module), ()) if module in set(SmsModule) else ()
        return cls(request.form.get("name", ""), module,
                   {f.key: request.form.get(f"settings-{f.key}", "") for f in fields}, {})

    @property
    def fields(self):
        return MODULE_SETTINGS.get(SmsModule(self.module), ()) \
            if self.module in set(SmsModule) else ()

    def refuse(self, error: DomainError) -> None:
        self.errors[error.field or ""] = str(error)


def _module_choices():
    return [(m.value, SMS_MODULE_LABELS[m]) for m in SmsModule]


def _form_page(template: str, form: GatewayForm, *, status: int = 200, **context):
    if "" in form.errors:
        flash(form.errors.pop(""), "error")
    return render_template(template, form=form, modules=_module_choices(),
                           reseller=g.acting_reseller, **context), status


def _submit(form: GatewayForm, apply):
    """Run the service; a refusal lands next to its field (settings.<key>, name, module)."""
    try:
        result = apply()
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        form.refuse(error)
        return None, error.status
    return result, 200


@bp.get("/sms-gateways/module-settings", endpoint="sms_gateway_settings")
@staff_required(SMS_MANAGE)
def sms_gateway_settings_partial():
    """S12: choosing the module shows its Дополнительные настройки (htmx)."""
    form = GatewayForm(module=request.args.get("module", ""), settings={}, errors={})
    gateway = None
    if request.args.get("gateway_id", "").isdigit():
        gateway = tenant_get_or_404(SmsGateway, request.args["gateway_id"])
        if gateway.module.value == form.module:
            form = GatewayForm.of(gateway)
    return render_template("notifications/sms_gateways_settings.html", form=form,
                           gateway=gateway)


@bp.route("/sms-gateways/new", methods=["GET", "POST"], endpoint="create_sms_gateway")
@staff_required(SMS_MANAGE)
def create_sms_gateway_page():
    """S12 "Новый SMS-шлюз" (09 SMS-1, SMS-2)."""
    if request.method == "GET":
        return _form_page("notifications/sms_gateways_form.html",
                          GatewayForm(settings={}, errors={}), gateway=None)
    form = GatewayForm.posted()
    gateway, status = _submit(form, lambda: create_sms_gateway(
        g.acting_reseller, name=form.name, module=form.module, settings=form.settings,
        actor=current_user))
    if gateway is None:
        return _form_page("notifications/sms_gateways_form.html", form, gateway=None,
                          status=status)
    flash(_("The SMS gateway is created."), "success")
    return redirect(url_for("notifications.sms_gateway_detail", gateway_id=gateway.id))


def _gateway_context(gateway: SmsGateway) -> dict:
    return {"gateway": gateway, "events": events_for(gateway),
            "can_manage": current_user.can(SMS_MANAGE),
            "password_stored": bool((gateway.settings or {}).get("password")),
            "selected": selected_gateway_id(g.acting_reseller) == gateway.id}


@bp.get("/sms-gateways/<int:gateway_id>")
@staff_required(SMS_VIEW)
def sms_gateway_detail(gateway_id):
    """S13: the gateway's page; the password is never shown, only whether one is stored."""
    gateway = tenant_get_or_404(SmsGateway, gateway_id)
    return _form_page("notifications/sms_gateways_form.html", GatewayForm.of(gateway),
                      **_gateway_context(gateway))


@bp.post("/sms-gateways/<int:gateway_id>", endpoint="update_sms_gateway")
@staff_required(SMS_MANAGE)
def update_sms_gateway_page(gateway_id):
    gateway = tenant_get_or_404(SmsGateway, gateway_id)
    form = GatewayForm.posted()
    updated, status = _submit(form, lambda: update_sms_gateway(
        gateway, name=form.name, module=form.module, settings=form.settings,
        actor=current_user))
    if updated is None:
        db.session.refresh(gateway)
        return _form_page("notifications/sms_gateways_form.html", form, status=status,
                          **_gateway_context(gateway))
    flash(_("The SMS gateway is saved."), "success")
    return redirect(url_for("notifications.sms_gateway_detail", gateway_id=gateway.id))


@bp.get("/sms-gateways/<int:gateway_id>/delete", endpoint="confirm_delete_sms_gateway")
@staff_required(SMS_MANAGE)
def confirm_delete_sms_gateway_page(gateway_id):
    """09 SMS-4: deleting asks for confirmation (Подтвердить)."""
    gateway = tenant_get_or_404(SmsGateway, gateway_id)
    if is_htmx():
        return render_template("notifications/sms_gateways_delete.html", gateway=gateway)
    return _form_page("notifications/sms_gateways_form.html", GatewayForm.of(gateway),
                      confirm_delete=True, **_gateway_context(gateway))


@bp.post("/sms-gateways/<int:gateway_id>/delete", endpoint="delete_sms_gateway")
@staff_required(SMS_MANAGE)
def delete_sms_gateway_page(gateway_id):
    gateway = tenant_get_or_404(SmsGateway, gateway_id)
    done, status = run_service(lambda: delete_sms_gateway(gateway, actor=current_user),
                               success=_("The SMS gateway is deleted."))
    if done:
        return redirect(url_for("notifications.sms_gateways"))
    # still selected in some reseller's system settings; the page says so.
    db.session.refresh(gateway)
    return _form_page("notifications/sms_gateways_form.html", GatewayForm.of(gateway),
                      status=status, **_gateway_context(gateway))
