"""Create, update, delete and choose SMS gateways (09 §2.6, §4.13 SMS-1..SMS-4, A-28).

A gateway is a reseller's own row (never delegated, 09 §2.6). Its Дополнительные настройки
depend on the module (SMS-2): the simulated module has none, `smscru` has a login, a password,
a sender name and the service endpoint. The password is never shown back: saving it empty
keeps the stored one. A reseller chooses the gateway it sends through in its system settings,
among its own gateways and its ancestors' (A-28).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.core import audit
from portal.core.tenant_guard import across_tenants
from portal.extensions import db
from portal.notifications.connectors.smscru import DEFAULT_URL
from portal.notifications.delivery_models import SmsGateway, SmsModule
from portal.notifications.services.errors import NotificationError
from portal.settings.models import SystemSettings
from portal.settings.services import system_settings
from portal.tenancy.models import Reseller
from portal.tenancy.tree import ancestors

NAME_LIMIT = 255
SETTING_LIMIT = 255


@dataclass(frozen=True)
class SettingField:
    """One field of a module's Дополнительные настройки."""

    key: str
    label: object
    required: bool = True
    secret: bool = False
    url: bool = False
    placeholder: str = ""


# 09 SMS-1, SMS-2: the settings group of each module.
MODULE_SETTINGS: dict[SmsModule, tuple[SettingField, ...]] = {
    SmsModule.SIMULATED: (),
    SmsModule.SMSCRU: (
        SettingField("login", _l("Login")),
        SettingField("password", _l("Password"), secret=True),
        SettingField("sender", _l("Sender name")),
        # The connector falls back to smsc.ru's own endpoint.
        SettingField("url", _l("Service endpoint"), required=False, url=True,
                     placeholder=DEFAULT_URL),
    ),
}
AUDITED = ("name", "module")


def module_value(value) -> SmsModule:
    try:
        return SmsModule(value)
    except ValueError:
        raise NotificationError(_l("Choose an SMS module."), field="module") from None


def _name(value) -> str:
    name = (value or "").strip()
    if not name:
        raise NotificationError(_l("Enter the gateway's name."), field="name")
    if len(name) > NAME_LIMIT:
        raise NotificationError(_l("The name is longer than 255 characters."), field="name")
    return name


def _settings(module: SmsModule, given: dict | None, stored: dict | None) -> dict:
    """The module's settings from `given`; a secret left empty keeps the `stored` one."""
    given = dict(given or {})
    fields = MODULE_SETTINGS[module]
    unknown = sorted(set(given) - {f.key for f in fields})
    if unknown:
        raise NotificationError(_l("The module has no setting “%(key)s”.", key=unknown[0]),
                                field=f"settings.{unknown[0]}")
    settings = {}
    for setting in fields:
        raw = given.get(setting.key)
        value = "" if raw is None else str(raw).strip()
        if setting.secret and not value:
            value = (stored or {}).get(setting.key) or ""
        if len(value) > SETTING_LIMIT:
            raise NotificationError(_l("At most %(n)d characters.", n=SETTING_LIMIT),
                                    field=f"settings.{setting.key}")
        if setting.url and value and not value.startswith(("https://", "http://")):
            raise NotificationError(_l("Enter a link starting with http:// or https://."),
                                    field=f"settings.{setting.key}")
        if setting.required and not value:
            raise NotificationError(_l("%(field)s is required.", field=setting.label),
                                    field=f"settings.{setting.key}")
        if value:
            settings[setting.key] = value
    return settings


def _audit_state(gateway: SmsGateway) -> dict:
    # "password" is one of audit.SECRET_FIELDS: the log shows only that it changed.
    return {**audit.snapshot(gateway, AUDITED), **(gateway.settings or {})}


def create_sms_gateway(reseller: Reseller, *, name: str, module: str,
                       settings: dict | None = None, actor=None) -> SmsGateway:
    """Create a gateway of the reseller with its module's settings (09 SMS-1, SMS-2)."""
    checked_module = module_value(module)
    gateway = SmsGateway(reseller_id=reseller.id, name=_name(name), module=checked_module,
                         settings=_settings(checked_module, settings, None), active=True)
    db.session.add(gateway)
    db.session.flush()
    audit.log(gateway, "notifications.sms_gateway.created", actor=actor,
              changes=audit.diff({}, _audit_state(gateway)))
    return gateway


def update_sms_gateway(gateway: SmsGateway, *, actor=None, **fields) -> SmsGateway:
    """Save the name, module and settings named in `fields`. Settings not given stay; a
    password left empty stays; another module starts from empty settings (09 SMS-2)."""
    before = _audit_state(gateway)
    name = _name(fields["name"]) if "name" in fields else gateway.name
    module = module_value(fields["module"]) if fields.get("module") is not None \
        else gateway.module
    stored = dict(gateway.settings or {}) if module == gateway.module else {}
    known = {f.key for f in MODULE_SETTINGS[module]}
    given = {**{k: v for k, v in stored.items() if k in known},
             **dict(fields.get("settings") or {})}
    settings = _settings(module, given, stored)
    gateway.name, gateway.module, gateway.settings = name, module, settings
    db.session.flush()
    changes = audit.diff(before, _audit_state(gateway))
    if changes:
        audit.log(gateway, "notifications.sms_gateway.updated", actor=actor, changes=changes)
    return gateway


def gateway_in_use(gateway: SmsGateway) -> bool:
    """A reseller's system settings select it (A-28); descendants may select it too."""
    with across_tenants():
        return db.session.scalar(select(func.count(SystemSettings.id)).where(
            SystemSettings.sms_gateway_id == gateway.id)) > 0


def delete_sms_gateway(gateway: SmsGateway, *, actor=None) -> None:
    """Delete a gateway no reseller sends through (09 SMS-4, A-28)."""
    if gateway_in_use(gateway):
        raise NotificationError(_l("The SMS gateway is selected in system settings; choose "
                                   "another gateway there first."), code="conflict", status=409)
    audit.log(gateway, "notifications.sms_gateway.deleted", actor=actor,
              data={"id": gateway.id, "name": gateway.name, "module": gateway.module.value})
    db.session.delete(gateway)
    db.session.flush()


def selectable_gateways(reseller: Reseller) -> list[SmsGateway]:
    """The gateways a reseller may send through: its own and its ancestors' (A-28)."""
    chain_ids = [r.id for r in ancestors(reseller, include_self=True)]
    return list(db.session.scalars(select(SmsGateway).where(
        SmsGateway.reseller_id.in_(chain_ids),
        SmsGateway.active.is_(True)).order_by(SmsGateway.reseller_id != reseller.id,
                                               SmsGateway.name, SmsGateway.id)))


def selected_gateway_id(reseller: Reseller) -> int | None:
    """The gateway chosen in the reseller's own system settings (None: its ancestors' choice
    applies, A-28)."""
    return db.session.scalar(select(SystemSettings.sms_gateway_id).where(
        SystemSettings.reseller_id == reseller.id))


def choose_sms_gateway(reseller: Reseller, gateway_id: int | None, *,
                       actor=None) -> SystemSettings:
    """Set the reseller's "SMS-шлюз" system setting (09 SMS-3, A-28); None clears it."""
    if gateway_id is not None and gateway_id not in {g.id for g in selectable_gateways(reseller)}:
        raise NotificationError(_l("Choose a gateway of this reseller or of a reseller above "
                                   "it."), field="sms_gateway_id")
    settings = system_settings(reseller)
    before = audit.snapshot(settings, ("sms_gateway_id",))
    settings.sms_gateway_id = gateway_id
    db.session.flush()
    changes = audit.diff(before, audit.snapshot(settings, ("sms_gateway_id",)))
    if changes:
        audit.log(settings, "settings.system.updated", actor=actor, changes=changes,
                  label=str(_l("System settings")))
    return settings
