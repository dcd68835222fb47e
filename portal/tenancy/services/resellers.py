"""Create, edit, suspend and delete resellers (07 §10.1)."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.core import audit
from portal.core.clock import clock
from portal.core.deletion import delete_object
from portal.core.money import CURRENCIES
from portal.core.tenant_guard import across_tenants
from portal.extensions import db
from portal.settings.models import LANGUAGES
from portal.tenancy.models import (
    DomainKind, Reseller, ResellerDomain, ResellerStatus, SettingsMode, SmtpSecurity)
from portal.tenancy.services.errors import TenancyError

RESELLER_FIELDS = (
    "name", "currency", "status", "company_name", "country_code", "contact_first_name",
    "contact_last_name", "contact_phone", "contact_email", "default_language", "panel_title",
    "client_panel_title", "store_title", "primary_color", "smtp_host", "smtp_port",
    "smtp_username", "smtp_password", "smtp_sender", "smtp_security",
)

# Steps that copy what a new reseller inherits from its parent (07 §10.1.7). Each area that
# owns inherited settings appends fn(parent, child, mode) here when it is imported.
INHERITANCE_STEPS: list[Callable[[Reseller, Reseller, SettingsMode], None]] = []

_TRANSLIT = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r",
     "s", "t", "u", "f", "h", "ts", "ch", "sh", "sch", "", "y", "", "e", "yu", "ya"], strict=True))
HOST_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


def slugify(name: str) -> str:
    text = "".join(_TRANSLIT.get(ch, ch) for ch in name.lower())
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return text[:40] or "reseller"


def unique_slug(name: str) -> str:
    base = slugify(name)
    slug, n = base, 1
    while db.session.scalar(select(Reseller.id).where(Reseller.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def _validate(fields: dict) -> None:
    if "name" in fields and not (fields["name"] or "").strip():
        raise TenancyError(_l("Enter the reseller's name."), field="name")
    if "currency" in fields and fields["currency"] not in CURRENCIES:
        raise TenancyError(_l("Unknown currency."), field="currency")
    if "default_language" in fields and fields["default_language"] not in LANGUAGES:
        raise TenancyError(_l("Unknown language."), field="default_language")
    if fields.get("primary_color") and not COLOR_RE.match(fields["primary_color"]):
        raise TenancyError(_l("A colour looks like #1f5fa8."), field="primary_color")
    port = fields.get("smtp_port")
    if port not in (None, "") and not (isinstance(port, int) and 0 < port < 65536):
        raise TenancyError(_l("The port is a number from 1 to 65535."), field="smtp_port")
    if "smtp_security" in fields and fields["smtp_security"] not in {s.value for s in SmtpSecurity}:
        raise TenancyError(_l("Unknown SMTP security mode."), field="smtp_security")


def normalise_domain(domain: str) -> str:
    domain = (domain or "").strip().lower().rstrip(".")
    if domain and not HOST_RE.match(domain):
        raise TenancyError(_l("“%(domain)s” is not a valid domain name.", domain=domain),
                           field="domain")
    return domain


DOMAIN_FIELDS = {DomainKind.PANEL: "domain", DomainKind.STORE: "store_domain",
                 DomainKind.CLIENT: "client_domain"}


def set_domain(reseller: Reseller, kind: DomainKind, domain: str, *, actor=None) -> None:
    """Give the reseller a panel, store or client-panel domain (unique across all tenants);
    empty clears it."""
    kind = DomainKind(kind)
    try:
        domain = normalise_domain(domain)
    except TenancyError as error:
        error.field = DOMAIN_FIELDS[kind]
        raise
    current = next((d for d in reseller.domains if d.kind == kind), None)
    if (current.domain if current else "") == domain:
        return
    if domain:
        with across_tenants():  # 07 A1: a domain is unique across all tenants
            taken = db.session.scalar(select(ResellerDomain).where(
                func.lower(ResellerDomain.domain) == domain))
        if taken is not None and taken is not current:
            raise TenancyError(_l("The domain %(domain)s is already in use.", domain=domain),
                               field=DOMAIN_FIELDS[kind],
                               status=409, code="conflict")
    old = current.domain if current else ""
    if current is not None and not domain:
        reseller.domains.remove(current)
    elif current is not None:
        current.domain = domain
    else:
        reseller.domains.append(ResellerDomain(domain=domain, kind=kind, created_at=clock.now()))
    db.session.flush()
    audit.log(reseller, "tenancy.reseller.domain_changed", actor=actor,
              changes={f"{kind.value}_domain": [old, domain]})


def create_reseller(parent: Reseller, *, name: str, currency: str = "USD",
                    settings_mode: SettingsMode | str = SettingsMode.COPY_PROVIDER,
                    domain: str = "", store_domain: str = "", slug: str = "", actor=None,
                    **fields) -> Reseller:
    """Create a child of parent and copy what the manual says a new reseller inherits."""
    fields = {k: v for k, v in fields.items() if k in RESELLER_FIELDS}
    _validate({"name": name, "currency": currency, **fields})
    mode = SettingsMode(settings_mode)
    reseller = Reseller(
        parent_id=parent.id, name=name.strip(), slug=unique_slug(slug or name), currency=currency,
        settings_mode=mode, status=ResellerStatus.ACTIVE,
        default_language=fields.pop("default_language", parent.default_language),
        primary_color=fields.pop("primary_color", parent.primary_color),
        created_at=clock.now(), updated_at=clock.now(), **fields)
    db.session.add(reseller)
    db.session.flush()
    if domain:
        set_domain(reseller, DomainKind.PANEL, domain, actor=actor)
    if store_domain:
        set_domain(reseller, DomainKind.STORE, store_domain, actor=actor)
    from portal.settings.services import copy_settings_to_child  # noqa: PLC0415 - settings sits above

    copy_settings_to_child(parent, reseller, mode)
    for step in INHERITANCE_STEPS:
        step(parent, reseller, mode)
    audit.log(reseller, "tenancy.reseller.created", actor=actor,
              changes=audit.diff({}, audit.snapshot(reseller, ("name", "currency", "status"))))
    audit.log(reseller, "tenancy.reseller.created", actor=actor, reseller_id=parent.id)
    return reseller


def update_reseller(reseller: Reseller, *, actor=None, **fields) -> Reseller:
    """Change the reseller's details, branding or SMTP server (the domain via set_domain)."""
    fields = {k: v for k, v in fields.items() if k in RESELLER_FIELDS}
    if "smtp_port" in fields and fields["smtp_port"] in ("", None):
        fields["smtp_port"] = None
    _validate(fields)
    if "smtp_password" in fields and not fields["smtp_password"]:
        fields.pop("smtp_password")  # an empty password field keeps the stored one
    before = audit.snapshot(reseller, RESELLER_FIELDS)
    for key, value in fields.items():
        if isinstance(value, str) and key != "smtp_password":
            value = value.strip()
        setattr(reseller, key, value)
    reseller.updated_at = clock.now()
    changes = audit.diff(before, audit.snapshot(reseller, RESELLER_FIELDS))
    if changes:
        audit.log(reseller, "tenancy.reseller.updated", actor=actor, changes=changes)
    db.session.flush()
    return reseller


def set_reseller_status(reseller: Reseller, status: ResellerStatus | str, *, actor=None) -> Reseller:
    """Suspend or reactivate a reseller; a suspended reseller's subtree panels are closed."""
    if reseller.is_root:
        raise TenancyError(_l("The root operator cannot be suspended."))
    return update_reseller(reseller, status=ResellerStatus(status), actor=actor)


# What goes with a reseller when it is deleted: its own settings, domains, sessions and log,
# and the provisioning rules every reseller receives from above (05 R-PR-1).
OWNED_TABLES = {"audit_events", "system_settings", "security_settings", "reseller_domains",
                "document_counters", "operations", "list_preferences", "idempotent_requests",
                "provisioning_rules", "catalog_settings", "exchange_rates", "client_types",
                "service_rules", "additional_parameter_groups", "additional_parameters",
                "notification_categories", "notification_templates",
                "notification_template_contents", "notification_events"}


def delete_reseller(reseller: Reseller, *, actor=None) -> None:
    """Delete a reseller that nothing links to any more (07 BR-59, A19)."""
    if reseller.is_root:
        raise TenancyError(_l("The root operator cannot be deleted."))
    delete_object(reseller, actor=actor, owned=OWNED_TABLES,
                  label=_l("Reseller %(name)s", name=reseller.name),
                  audit_reseller_id=reseller.parent_id)
