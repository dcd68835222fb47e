"""Client types and their delegated copies down the reseller tree (08 §2.1, §3.1, R-CT-1..13).

A type made at a reseller is copied, delegated and read-only, to every reseller below it (CT1,
and CT2 for a reseller created later); the copy of a copy serves the next level. An edit of the
type reaches every copy (CT3, R-CT-9); deleting it deletes the copies of resellers that have no
clients of the type and leaves the others their copy as their own (CT4/CT5, R-CT-11).
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.clients.models import Client, ClientType, LegalForm
from portal.clients.services.defaults import make_only_default
from portal.clients.services.errors import ClientsError
from portal.clients.services.parameters import (copy_type_parameters, delete_type_parameters,
                                                detach_type_parameters, ensure_default_group)
from portal.core import audit
from portal.core.tenant_guard import across_tenants
from portal.extensions import db
from portal.tenancy.models import Reseller
from portal.tenancy.tree import descendants_cte

KEY_RE = re.compile(r"^[a-z0-9_]+$")
NAME_TOKENS = ("%first_name", "%middle_name", "%last_name", "%primary_name")
# What a delegated copy takes from the type above it (CT3); is_default stays the reseller's.
SYNCED_FIELDS = ("name", "key", "name_template", "primary_name_label", "legal_form")
TYPE_FIELDS = (*SYNCED_FIELDS, "is_default")


def _validate(fields: dict) -> None:
    """The field rules of 08 §2.1: name, key pattern, a template with a name token."""
    for name in ("name", "key", "name_template", "primary_name_label"):
        if name in fields:
            value = fields[name] if fields[name] is not None else ""
            if not isinstance(value, str):
                raise ClientsError(_l("Must be text."), field=name)
            fields[name] = value.strip()
    if "name" in fields:
        if not fields["name"]:
            raise ClientsError(_l("Enter the client type's name."), field="name")
        if len(fields["name"]) > 255:
            raise ClientsError(_l("At most %(n)d characters.", n=255), field="name")
    if "key" in fields:
        if not fields["key"]:
            raise ClientsError(_l("Enter the key."), field="key")
        if len(fields["key"]) > 64 or not KEY_RE.match(fields["key"]):
            raise ClientsError(_l("The key may contain only lowercase Latin letters, digits and "
                                  "underscores (at most 64)."), field="key")
    if "name_template" in fields:
        template = fields["name_template"]
        if not template:
            raise ClientsError(_l("Enter the name template."), field="name_template")
        if len(template) > 255:
            raise ClientsError(_l("At most %(n)d characters.", n=255), field="name_template")
        if not any(token in template.lower() for token in NAME_TOKENS):
            raise ClientsError(_l("The template needs at least one of %(tokens)s.",
                                  tokens=", ".join(NAME_TOKENS)), field="name_template")
    if "primary_name_label" in fields and len(fields["primary_name_label"]) > 255:
        raise ClientsError(_l("At most %(n)d characters.", n=255), field="primary_name_label")
    if "legal_form" in fields:
        try:
            fields["legal_form"] = LegalForm(fields["legal_form"])
        except ValueError:
            raise ClientsError(_l("Choose the legal form."), field="legal_form") from None
    if "is_default" in fields and not isinstance(fields["is_default"], bool):
        raise ClientsError(_l("Must be true or false."), field="is_default")


def _check_key(reseller_id: int, key: str, current: ClientType | None) -> None:
    """R-CT-4: unique among the reseller's own types (delegated copies may collide)."""
    query = select(ClientType.id).where(ClientType.reseller_id == reseller_id,
                                        ClientType.is_delegated.is_(False),
                                        ClientType.key == key)
    if current is not None:
        query = query.where(ClientType.id != current.id)
    if db.session.scalar(query.limit(1)) is not None:
        raise ClientsError(_l("A client type with this key already exists."), field="key")


def _types_of(reseller_id: int) -> list[ClientType]:
    return db.session.scalars(select(ClientType).where(ClientType.reseller_id == reseller_id)
                              .order_by(ClientType.id)).all()


def _make_default(client_type: ClientType) -> None:
    """R-CT-5: exactly one default per reseller; the new one clears the former."""
    if client_type.id is None:
        db.session.flush()
    make_only_default(client_type)


def default_client_type(reseller: Reseller) -> ClientType | None:
    """The type preselected for a new client (R-CT-6): the default, else the lowest ID."""
    types = _types_of(reseller.id)
    return next((t for t in types if t.is_default), types[0] if types else None)


def _descendant_levels(reseller_id: int) -> list[tuple[int, int]]:
    """(id, parent_id) of every reseller below, nearest levels first."""
    cte, _ = descendants_cte(reseller_id)
    rows = db.session.execute(
        select(Reseller.id, Reseller.parent_id).join(cte, cte.c.id == Reseller.id)
        .where(cte.c.depth > 0).order_by(cte.c.depth, Reseller.id)).all()
    return [(row.id, row.parent_id) for row in rows]


def _has_types(reseller_id: int) -> bool:
    return db.session.scalar(select(func.count(ClientType.id)).where(
        ClientType.reseller_id == reseller_id)) > 0


def _copy_to(source: ClientType, reseller_id: int, *, is_default: bool) -> ClientType:
    copy = ClientType(reseller_id=reseller_id, source_id=source.id, is_delegated=True,
                      is_default=is_default,
                      **{name: getattr(source, name) for name in SYNCED_FIELDS})
    db.session.add(copy)
    db.session.flush()
    return copy


def type_copies(client_type: ClientType) -> list[ClientType]:
    """Every delegated copy of the type, at any depth, nearest levels first."""
    found, level = [], [client_type.id]
    with across_tenants():
        while level:
            rows = db.session.scalars(select(ClientType).where(
                ClientType.source_id.in_(level), ClientType.is_delegated.is_(True))
                .order_by(ClientType.id)).all()
            found.extend(rows)
            level = [row.id for row in rows]
    return found


def create_client_type(reseller: Reseller, *, name, key, name_template, primary_name_label="",
                       legal_form=LegalForm.ORGANIZATION, is_default=False,
                       actor=None) -> ClientType:
    """Create a type here and a delegated copy at every reseller below (08 CT1)."""
    fields = {"name": name, "key": key, "name_template": name_template,
              "primary_name_label": primary_name_label, "legal_form": legal_form,
              "is_default": bool(is_default) if is_default is not None else False}
    _validate(fields)
    _check_key(reseller.id, fields["key"], None)
    first = not _has_types(reseller.id)
    client_type = ClientType(reseller_id=reseller.id, is_delegated=False,
                             **{k: v for k, v in fields.items() if k != "is_default"})
    db.session.add(client_type)
    db.session.flush()
    if first or fields["is_default"]:
        _make_default(client_type)  # R-CT-5: the first type is the default
    copies = {reseller.id: client_type}
    for reseller_id, parent_id in _descendant_levels(reseller.id):
        copies[reseller_id] = _copy_to(copies[parent_id], reseller_id,
                                       is_default=not _has_types(reseller_id))
    db.session.flush()
    audit.log(client_type, "clients.client_type.created", actor=actor,
              changes=audit.diff({}, audit.snapshot(client_type, TYPE_FIELDS)),
              data={"copies": len(copies) - 1} if len(copies) > 1 else None)
    return client_type


def update_client_type(client_type: ClientType, *, actor=None, **fields) -> ClientType:
    """Edit a type and every copy of it (CT3); a delegated copy only takes is_default (R-CT-8)."""
    fields = {k: v for k, v in fields.items() if k in TYPE_FIELDS}
    _validate(fields)
    if client_type.is_delegated:
        changed = sorted(k for k in SYNCED_FIELDS
                         if k in fields and fields[k] != getattr(client_type, k))
        if changed:
            raise ClientsError(_l("The client type is delegated by your provider and is "
                                  "read-only: only the default flag can be changed."),
                               field=changed[0])
    if fields.get("is_default") is False and client_type.is_default:
        # R-CT-5: the default moves by ticking another type, never by unticking this one.
        raise ClientsError(_l("To change the default client type, make another type the "
                              "default."), field="is_default")
    if "key" in fields and not client_type.is_delegated:
        _check_key(client_type.reseller_id, fields["key"], client_type)
    before = audit.snapshot(client_type, TYPE_FIELDS)
    synced = {k: v for k, v in fields.items() if k in SYNCED_FIELDS}
    for name, value in synced.items():
        setattr(client_type, name, value)
    if fields.get("is_default"):
        _make_default(client_type)
    if synced and not client_type.is_delegated:
        for copy in type_copies(client_type):
            for name, value in synced.items():
                setattr(copy, name, value)
    db.session.flush()
    changes = audit.diff(before, audit.snapshot(client_type, TYPE_FIELDS))
    if changes:
        audit.log(client_type, "clients.client_type.updated", actor=actor, changes=changes)
    return client_type


def _client_count(client_type: ClientType) -> int:
    # R-CT-10 interp.: deleted clients count too, their acts still name the type.
    return db.session.scalar(select(func.count(Client.id)).where(
        Client.reseller_id == client_type.reseller_id, Client.client_type_id == client_type.id))


def _remove(client_type: ClientType, *, actor=None) -> None:
    """Delete a type and, level by level below, its copies (CT4) or detach them (CT5)."""
    with across_tenants():
        copies = db.session.scalars(select(ClientType).where(
            ClientType.source_id == client_type.id, ClientType.is_delegated.is_(True))
            .order_by(ClientType.id)).all()
    for copy in copies:
        if _client_count(copy):
            copy.is_delegated = False
            copy.source_id = None
            detach_type_parameters(copy)
            audit.log(copy, "clients.client_type.detached", actor=actor,
                      changes={"is_delegated": [True, False]})
        else:
            audit.log(copy, "clients.client_type.deleted", actor=actor, label=copy.name)
            _remove(copy, actor=actor)
    was_default = client_type.is_default
    reseller_id = client_type.reseller_id
    delete_type_parameters(client_type)
    db.session.delete(client_type)
    db.session.flush()
    if was_default:
        # R-CT-5 interp.: the remaining type with the lowest ID becomes the default.
        remaining = _types_of(reseller_id)
        if remaining:
            remaining[0].is_default = True
            db.session.flush()


def delete_client_type(client_type: ClientType, *, actor=None) -> None:
    """CT6: delete an own type no client of this reseller has; copies below follow CT4/CT5."""
    if client_type.is_delegated:
        raise ClientsError(_l("The client type is delegated by your provider; only the "
                              "provider can delete it."), code="delegated")
    if _client_count(client_type):
        raise ClientsError(_l("The client type cannot be deleted: there are clients of this "
                              "type."), code="in_use", status=409)
    audit.log(client_type, "clients.client_type.deleted", actor=actor, label=client_type.name)
    _remove(client_type, actor=actor)
    db.session.expire_all()


def key_conflicts(reseller: Reseller) -> list[ClientType]:
    """R-CT-12: the reseller's own types whose key equals a delegated type's key here."""
    types = _types_of(reseller.id)
    delegated = {t.key for t in types if t.is_delegated}
    return [t for t in types if not t.is_delegated and t.key in delegated]


def copy_client_types_to_new_reseller(parent: Reseller, child: Reseller, _mode) -> None:
    """CT2: a new reseller gets a delegated copy of every type of its parent, whatever the
    settings mode, each with copies of the type's additional parameters."""
    ensure_default_group(child)
    types = _types_of(parent.id)
    default = next((t for t in types if t.is_default), types[0] if types else None)
    for client_type in types:
        copy = _copy_to(client_type, child.id, is_default=client_type is default)
        copy_type_parameters(client_type, copy)
    db.session.flush()


def _register() -> None:
    from portal.tenancy.services.resellers import INHERITANCE_STEPS  # noqa: PLC0415

    if copy_client_types_to_new_reseller not in INHERITANCE_STEPS:
        INHERITANCE_STEPS.append(copy_client_types_to_new_reseller)


_register()
