"""Provisioning rules and their copies at every downstream reseller (05 §4.17, R-PR-1..13)."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from portal.catalog.models import CLIENT_TYPES, Plan, ProvisioningRule
from portal.catalog.services.errors import CatalogError
from portal.core import audit
from portal.core.tenant_guard import across_tenants
from portal.extensions import db
from portal.tenancy.models import Reseller
from portal.tenancy.tree import descendants_cte

KEY_RE = re.compile(r"^[a-z0-9_]+$")
RULE_FIELDS = ("name", "key", "financial_day", "promised_payment_allowed",
               "manual_renewal_point_days", "auto_renewal_point_days", "unpaid_stop_after_days",
               "block_period_days", "client_types")
# Fields a delegated copy takes from upstream (all but its own added client types).
SYNCED_RULE_FIELDS = RULE_FIELDS


def _int(fields: dict, name: str, minimum: int, message) -> None:
    value = fields.get(name)
    if name not in fields:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise CatalogError(message, field=name)


def client_type_keys(reseller_id: int) -> dict[str, str]:
    """key → name of the reseller's client types (08 §2.1), in ID order; an own type's name wins
    over a delegated one with the same key. A reseller with no client types yet (the root before
    its client settings are installed) has the standard keys of CLIENT_TYPES."""
    from portal.clients.models import ClientType  # noqa: PLC0415 - by key only, no relation

    types = db.session.scalars(select(ClientType).where(ClientType.reseller_id == reseller_id)
                               .order_by(ClientType.id)).all()
    if not types:
        return {key: str(label) for key, label in CLIENT_TYPES.items()}
    keys: dict[str, str] = {}
    for client_type in types:
        if client_type.key not in keys or not client_type.is_delegated:
            keys[client_type.key] = client_type.name
    return keys


def validate_rule_fields(fields: dict, current: ProvisioningRule | None = None, *,
                         reseller_id: int | None = None) -> None:
    """The field rules of 05 §2.12: key pattern, financial day 1–28, renewal points, and client
    types that are keys of the reseller's client types."""
    if "name" in fields and not (fields["name"] or "").strip():
        raise CatalogError(_l("Enter the rule's name."), field="name")
    if "key" in fields and not KEY_RE.match(fields["key"] or ""):
        raise CatalogError(_l("The key may contain only lowercase Latin letters, digits and "
                              "underscores."), field="key")
    day = fields.get("financial_day")
    if "financial_day" in fields and (isinstance(day, bool) or not isinstance(day, int)
                                      or not 1 <= day <= 28):
        raise CatalogError(_l("The financial day must be between 1 and 28."),
                           field="financial_day")
    _int(fields, "manual_renewal_point_days", -1,
         _l("The manual renewal point is −1 (always), 0 (never) or a number of days."))
    _int(fields, "auto_renewal_point_days", 0,
         _l("The automatic renewal point is a number of days, 0 or more."))
    _int(fields, "unpaid_stop_after_days", 0,
         _l("The unpaid-subscription stop period is a number of days, 0 or more."))
    _int(fields, "block_period_days", 0, _l("The block period is a number of days, 0 or more."))
    manual = fields.get("manual_renewal_point_days",
                        current.manual_renewal_point_days if current else -1)
    auto = fields.get("auto_renewal_point_days", current.auto_renewal_point_days if current else 0)
    if manual != -1 and manual < auto:
        raise CatalogError(_l("The manual renewal point cannot be less than the automatic "
                              "renewal point (05 R-PR-8)."), field="manual_renewal_point_days")
    if "client_types" in fields:
        types = fields["client_types"]
        if not isinstance(types, list | tuple) or not types:
            raise CatalogError(_l("Choose at least one client type."), field="client_types")
        known = client_type_keys(reseller_id if reseller_id is not None else current.reseller_id)
        unknown = [t for t in types if t not in known]
        if unknown:
            raise CatalogError(_l("Unknown client type: %(types)s.", types=", ".join(
                map(str, unknown))), field="client_types")
        fields["client_types"] = [t for t in known if t in types]


def _descendant_depths(reseller_id: int) -> list[tuple[int, int, int]]:
    """(id, parent_id, depth) of every reseller below, nearest levels first."""
    cte, _ = descendants_cte(reseller_id)
    rows = db.session.execute(
        select(Reseller.id, Reseller.parent_id, cte.c.depth)
        .join(cte, cte.c.id == Reseller.id).where(cte.c.depth > 0)
        .order_by(cte.c.depth, Reseller.id)).all()
    return [(row.id, row.parent_id, row.depth) for row in rows]


def rule_copy_ids(rule: ProvisioningRule) -> list[int]:
    """Ids of every delegated copy of the rule, at any depth."""
    tree = select(ProvisioningRule.id).where(
        ProvisioningRule.parent_id == rule.id).cte("rule_tree", recursive=True)
    tree = tree.union_all(select(ProvisioningRule.id).where(
        ProvisioningRule.parent_id == tree.c.id))
    with across_tenants():
        return list(db.session.scalars(select(tree.c.id)))


def _key_used_below(reseller: Reseller, key: str, *, except_ids=()) -> list[ProvisioningRule]:
    cte, _ = descendants_cte(reseller.id)
    query = (select(ProvisioningRule).join(cte, cte.c.id == ProvisioningRule.reseller_id)
             .where(cte.c.depth > 0, ProvisioningRule.key == key))
    if except_ids:
        query = query.where(ProvisioningRule.id.not_in(list(except_ids)))
    with across_tenants():
        return list(db.session.scalars(query))


def _check_unique(reseller: Reseller, fields: dict, current: ProvisioningRule | None) -> None:
    for column, message in (
            ("key", _l("A provisioning rule with the key “%(value)s” already exists.")),
            ("name", _l("A provisioning rule named “%(value)s” already exists."))):
        if column not in fields:
            continue
        attribute = getattr(ProvisioningRule, column)
        query = select(ProvisioningRule.id).where(
            ProvisioningRule.reseller_id == reseller.id,
            func.lower(attribute) == fields[column].lower())
        if current is not None:
            query = query.where(ProvisioningRule.id != current.id)
        if db.session.scalar(query) is not None:
            raise CatalogError(message % {"value": fields[column]}, field=column)


def _copy_to(rule: ProvisioningRule, reseller_id: int) -> ProvisioningRule:
    copy = ProvisioningRule(reseller_id=reseller_id, parent_id=rule.id, is_delegated=True,
                            added_client_types=[],
                            **{field: getattr(rule, field) for field in SYNCED_RULE_FIELDS})
    db.session.add(copy)
    return copy


def _propagate_new(rule: ProvisioningRule) -> int:
    """R-PR-1: create the rule at every downstream reseller, each copy under its parent's."""
    copies = {rule.reseller_id: rule}
    pending = []
    last_depth = None
    for reseller_id, parent_id, depth in _descendant_depths(rule.reseller_id):
        if depth != last_depth and pending:
            db.session.flush()  # the next level needs this level's ids
            pending = []
        last_depth = depth
        copies[reseller_id] = _copy_to(copies[parent_id], reseller_id)
        pending.append(copies[reseller_id])
    db.session.flush()
    return len(copies) - 1


def create_provisioning_rule(reseller: Reseller, *, actor=None, **fields) -> ProvisioningRule:
    """Create a rule here and, delegated and read-only, at every reseller below (R-PR-1)."""
    fields = {k: v for k, v in fields.items() if k in RULE_FIELDS}
    fields.setdefault("client_types", list(client_type_keys(reseller.id)))
    for required in ("name", "key"):
        fields.setdefault(required, "")
    fields["name"] = fields["name"].strip()
    validate_rule_fields(fields, reseller_id=reseller.id)
    _check_unique(reseller, fields, None)
    clash = _key_used_below(reseller, fields["key"])
    if clash:
        raise CatalogError(_l("The key “%(key)s” is already used by a provisioning rule of a "
                              "downstream reseller (05 R-PR-3).", key=fields["key"]), field="key")
    rule = ProvisioningRule(reseller_id=reseller.id, is_delegated=False, added_client_types=[],
                            **fields)
    db.session.add(rule)
    db.session.flush()
    copies = _propagate_new(rule)
    audit.log(rule, "catalog.provisioning_rule.created", actor=actor,
              changes=audit.diff({}, audit.snapshot(rule, RULE_FIELDS)), data={"copies": copies})
    return rule


def update_provisioning_rule(rule: ProvisioningRule, *, actor=None, **fields) -> ProvisioningRule:
    """Edit an own rule and every copy of it; a delegated copy may only add client types."""
    if rule.is_delegated:
        allowed = {"added_client_types"}
        changed = {k for k, v in fields.items() if k in RULE_FIELDS and v != getattr(rule, k)}
        if changed - allowed:
            raise CatalogError(_l("A delegated provisioning rule is read-only; you may only add "
                                  "client types (05 R-PR-11)."), field=sorted(changed)[0])
        added = [t for t in fields.get("added_client_types") or [] if t not in rule.client_types]
        known = client_type_keys(rule.reseller_id)
        unknown = [t for t in added if t not in known]
        if unknown:
            raise CatalogError(_l("Unknown client type: %(types)s.", types=", ".join(
                map(str, unknown))), field="added_client_types")
        before = audit.snapshot(rule, ("added_client_types",))
        rule.added_client_types = [t for t in known if t in added]
        audit.log(rule, "catalog.provisioning_rule.updated", actor=actor,
                  changes=audit.diff(before, audit.snapshot(rule, ("added_client_types",))))
        return rule
    fields = {k: v for k, v in fields.items() if k in RULE_FIELDS}
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
    validate_rule_fields(fields, rule)
    _check_unique(rule_reseller(rule), fields, rule)
    copy_ids = rule_copy_ids(rule)
    if "key" in fields and fields["key"] != rule.key:
        if _key_used_below(rule_reseller(rule), fields["key"], except_ids=copy_ids):
            raise CatalogError(_l("The key “%(key)s” is already used by a provisioning rule of "
                                  "a downstream reseller (05 R-PR-4).", key=fields["key"]),
                               field="key")
    before = audit.snapshot(rule, RULE_FIELDS)
    for name, value in fields.items():
        setattr(rule, name, value)
    if copy_ids:
        with across_tenants():
            for copy in db.session.scalars(select(ProvisioningRule).where(
                    ProvisioningRule.id.in_(copy_ids))):
                for name, value in fields.items():
                    setattr(copy, name, value)
    db.session.flush()
    changes = audit.diff(before, audit.snapshot(rule, RULE_FIELDS))
    if changes:
        audit.log(rule, "catalog.provisioning_rule.updated", actor=actor, changes=changes)
    return rule


def rule_reseller(rule: ProvisioningRule) -> Reseller:
    return db.session.get(Reseller, rule.reseller_id)


def delete_provisioning_rule(rule: ProvisioningRule, *, actor=None) -> None:
    """R-PR-13: only an own rule no plan uses, here or at a copy; its copies go with it."""
    if rule.is_delegated:
        raise CatalogError(_l("A delegated provisioning rule can only be deleted by its "
                              "provider."))
    ids = [rule.id, *rule_copy_ids(rule)]
    with across_tenants():
        used = db.session.scalar(select(func.count(Plan.id)).where(
            Plan.provisioning_rule_id.in_(ids)))
    if used:
        raise CatalogError(_l("The provisioning rule is used by %(n)d plan(s) and cannot be "
                              "deleted.", n=used))
    audit.log(rule, "catalog.provisioning_rule.deleted", actor=actor, label=rule.name)
    # Deepest copies first: each row's parent_id points at a row still present.
    for rule_id in reversed(ids):
        db.session.execute(delete(ProvisioningRule).where(ProvisioningRule.id == rule_id))
    db.session.expire_all()


def name_conflicts(reseller: Reseller) -> list[ProvisioningRule]:
    """R-PR-12: own rules whose name equals a delegated rule's name at this reseller."""
    rules = db.session.scalars(select(ProvisioningRule).where(
        ProvisioningRule.reseller_id == reseller.id)).all()
    delegated = {r.name.lower() for r in rules if r.is_delegated}
    return [r for r in rules if not r.is_delegated and r.name.lower() in delegated]


def copy_rules_to_new_reseller(parent: Reseller, child: Reseller, _mode) -> None:
    """A new reseller gets a delegated copy of every rule its parent has (R-PR-1)."""
    rules = db.session.scalars(select(ProvisioningRule).where(
        ProvisioningRule.reseller_id == parent.id).order_by(ProvisioningRule.id)).all()
    for rule in rules:
        _copy_to(rule, child.id)
    db.session.flush()
