"""System and security settings of a reseller, and document numbering (08 §15.1, §15.2)."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.core import audit
from portal.core.clock import clock
from portal.core.errors import DomainError
from portal.extensions import db
from portal.settings.models import (
    DEFAULT_MASKS, LANGUAGES, DocumentCounter, DocumentType, PasswordComplexity,
    SecuritySettings, SystemSettings)


class SettingsError(DomainError):
    code = "settings_error"


SYSTEM_FIELDS = ("time_zone", "operator_languages", "operator_default_language",
                 "client_languages", "client_default_language", "number_masks", "storefront_url",
                 "require_privacy_consent", "privacy_policy_url", "require_terms_consent",
                 "terms_url")
SECURITY_FIELDS = tuple(c.name for c in SecuritySettings.__table__.columns
                        if c.name not in ("id", "reseller_id"))
MASK_RE = re.compile(r"^([A-Za-z0-9_-]*)%(\d+)([A-Za-z0-9_-]*)$")
URL_RE = re.compile(r"^https?://[^\s]+$")


def system_settings(reseller) -> SystemSettings:
    found = db.session.scalar(select(SystemSettings).where(
        SystemSettings.reseller_id == reseller.id))
    if found is None:
        found = SystemSettings(reseller_id=reseller.id)
        db.session.add(found)
        db.session.flush()
    return found


def security_settings(reseller) -> SecuritySettings:
    found = db.session.scalar(select(SecuritySettings).where(
        SecuritySettings.reseller_id == reseller.id))
    if found is None:
        found = SecuritySettings(reseller_id=reseller.id)
        db.session.add(found)
        db.session.flush()
    return found


def copy_settings_to_child(parent, child, mode) -> None:
    """A new reseller gets its own settings rows; languages copy in copy_provider mode (07 BR-14)."""
    parent_system = system_settings(parent)
    child_system = SystemSettings(reseller_id=child.id, time_zone=parent_system.time_zone)
    if mode == "copy_provider":
        child_system.operator_languages = list(parent_system.operator_languages)
        child_system.operator_default_language = parent_system.operator_default_language
        child_system.client_languages = list(parent_system.client_languages)
        child_system.client_default_language = parent_system.client_default_language
    db.session.add(child_system)
    parent_security = security_settings(parent)
    db.session.add(SecuritySettings(reseller_id=child.id, **{
        name: getattr(parent_security, name) for name in SECURITY_FIELDS}))
    db.session.flush()


def parse_mask(mask: str) -> tuple[str, int, str]:
    match = MASK_RE.match(mask or "")
    if not match:
        raise SettingsError(_l("The mask must contain the numeric part %N, e.g. SO%6."))
    prefix, digits, suffix = match.group(1), int(match.group(2)), match.group(3)
    if digits < 6:
        raise SettingsError(_l("The numeric part must have at least 6 digits."))
    return prefix, digits, suffix


def _check_languages(languages, default, field):
    if not languages or any(code not in LANGUAGES for code in languages):
        raise SettingsError(_l("Choose at least one language."), field=field)
    if default not in languages:
        raise SettingsError(_l("The default language must be one of the chosen languages."),
                            field=f"{field.rsplit('_', 1)[0]}_default_language")


def update_system_settings(reseller, *, actor=None, **fields) -> SystemSettings:
    """Validate and save system settings; bad input changes nothing."""
    settings = system_settings(reseller)
    fields = {k: v for k, v in fields.items() if k in SYSTEM_FIELDS}
    merged = {name: fields.get(name, getattr(settings, name)) for name in SYSTEM_FIELDS}
    try:
        ZoneInfo(merged["time_zone"])
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise SettingsError(_l("Unknown time zone."), field="time_zone") from error
    _check_languages(merged["operator_languages"], merged["operator_default_language"],
                     "operator_languages")
    _check_languages(merged["client_languages"], merged["client_default_language"],
                     "client_languages")
    masks = dict(merged["number_masks"] or {})
    for doc_type in DocumentType:
        mask = masks.get(doc_type.value) or DEFAULT_MASKS[doc_type]
        try:
            parse_mask(mask)
        except SettingsError as error:
            error.field = f"mask_{doc_type.value}"
            raise
        masks[doc_type.value] = mask
    merged["number_masks"] = masks
    for flag, url_field in (("require_privacy_consent", "privacy_policy_url"),
                            ("require_terms_consent", "terms_url")):
        url = (merged[url_field] or "").strip()
        merged[url_field] = url
        if url and not URL_RE.match(url):
            raise SettingsError(_l("Enter a link starting with http:// or https://."),
                                field=url_field)
        if merged[flag] and not url:
            raise SettingsError(_l("Enter the link the client must accept."), field=url_field)
    if merged["storefront_url"] and not URL_RE.match(merged["storefront_url"].strip()):
        raise SettingsError(_l("Enter a link starting with http:// or https://."),
                            field="storefront_url")
    before = audit.snapshot(settings, SYSTEM_FIELDS)
    for name, value in merged.items():
        setattr(settings, name, value)
    changes = audit.diff(before, audit.snapshot(settings, SYSTEM_FIELDS))
    if changes:
        audit.log(settings, "settings.system.updated", actor=actor, changes=changes,
                  label=str(_l("System settings")))
    if "time_zone" in changes:
        clock.forget_zone()
    db.session.flush()
    return settings


def update_security_settings(reseller, *, actor=None, **fields) -> SecuritySettings:
    settings = security_settings(reseller)
    fields = {k: v for k, v in fields.items() if k in SECURITY_FIELDS}
    if "password_complexity" in fields:
        try:
            fields["password_complexity"] = PasswordComplexity(fields["password_complexity"])
        except ValueError as error:
            raise SettingsError(_l("Unknown complexity."), field="password_complexity") from error
    for name, value in fields.items():
        if name.endswith(("_attempts", "_minutes", "_days")) and (
                not isinstance(value, int) or value < (0 if name.endswith("reminder_days") else 1)):
            raise SettingsError(_l("Enter a positive whole number."), field=name)
    before = audit.snapshot(settings, SECURITY_FIELDS)
    for name, value in fields.items():
        setattr(settings, name, value)
    if settings.staff_password_reminder_days >= settings.staff_password_valid_days:
        raise SettingsError(_l("The reminder must come before the password expires."),
                            field="staff_password_reminder_days")
    changes = audit.diff(before, audit.snapshot(settings, SECURITY_FIELDS))
    if changes:
        audit.log(settings, "settings.security.updated", actor=actor, changes=changes,
                  label=str(_l("Security settings")))
    db.session.flush()
    return settings


def format_number(mask: str, value: int) -> str:
    prefix, digits, suffix = parse_mask(mask)
    return f"{prefix}{value:0{digits}d}{suffix}"


def next_document_number(reseller, document_type: DocumentType) -> str:
    """The next number of a document under the reseller's mask; the counter row is locked."""
    counter = db.session.scalar(select(DocumentCounter).where(
        DocumentCounter.reseller_id == reseller.id,
        DocumentCounter.document_type == document_type).with_for_update())
    if counter is None:
        # Two first documents at once: one inserts the row, the other waits for it.
        try:
            with db.session.begin_nested():
                db.session.add(DocumentCounter(reseller_id=reseller.id,
                                               document_type=document_type, last_value=0))
        except IntegrityError:
            pass
        counter = db.session.scalar(select(DocumentCounter).where(
            DocumentCounter.reseller_id == reseller.id,
            DocumentCounter.document_type == document_type).with_for_update())
    counter.last_value += 1
    db.session.flush()
    return format_number(system_settings(reseller).mask_for(document_type), counter.last_value)
