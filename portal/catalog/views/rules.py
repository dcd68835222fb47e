"""Operator-panel pages of provisioning rules (05 §5.1.10, R-PR-1..13).

A rule made here is copied, delegated and read-only, to every reseller below by the service;
on a delegated copy the reseller may only add client types (R-PR-11).
"""

from __future__ import annotations

from flask import g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from portal.accounts.auth import staff_required
from portal.catalog.forms_rules import DelegatedRuleForm, RuleForm
from portal.catalog.models import ProvisioningRule
from portal.catalog.services import (create_provisioning_rule, delete_provisioning_rule,
                                     name_conflicts, update_provisioning_rule)
from portal.catalog.services.rules import client_type_keys
from portal.catalog.views import bp
from portal.catalog.views.products import YES_NO, YesNoFilter
from portal.core.audit import events_for
from portal.core.forms import run_action, submit
from portal.core.listkit import Column, ListDefinition, register_list
from portal.operator.lists import list_response
from portal.tenancy.scope import scoped_select, tenant_get_or_404

RULE_FIELDS = ("name", "key", "financial_day", "promised_payment_allowed",
               "manual_renewal_point_days", "auto_renewal_point_days", "unpaid_stop_after_days",
               "block_period_days", "client_types")


def _rule_link(text_of):
    def render(rule):
        return Markup('<a href="{}">{}</a>').format(
            url_for("catalog.provisioning_rule_detail", rule_id=rule.id), text_of(rule))
    return render


RULES = register_list(ListDefinition(
    key="provisioning_rules", title=_l("Provisioning rules"), model=ProvisioningRule,
    permission="provisioning_rules.view",
    query=lambda reseller: scoped_select(ProvisioningRule, reseller),
    columns=[
        Column("id", "ID", sort=ProvisioningRule.id, render=_rule_link(lambda r: r.id)),
        Column("name", _l("Name"), sort=ProvisioningRule.name, search=ProvisioningRule.name,
               render=_rule_link(lambda r: r.name)),
        Column("unpaid_stop_after_days", _l("Stop an unpaid subscription after"),
               sort=ProvisioningRule.unpaid_stop_after_days),
        Column("block_period_days", _l("Subscription block period"),
               sort=ProvisioningRule.block_period_days),
        Column("promised_payment_allowed", _l("May be paid with a promised payment"),
               sort=ProvisioningRule.promised_payment_allowed),
        Column("financial_day", _l("Financial day"), sort=ProvisioningRule.financial_day),
        Column("is_delegated", _l("Delegated"), sort=ProvisioningRule.is_delegated),
        Column("key", _l("Key"), sort=ProvisioningRule.key, search=ProvisioningRule.key),
        Column("manual_renewal_point_days", _l("Manual renewal point"),
               sort=ProvisioningRule.manual_renewal_point_days, default=False),
        Column("auto_renewal_point_days", _l("Automatic renewal point"),
               sort=ProvisioningRule.auto_renewal_point_days, default=False),
    ],
    filters=[
        YesNoFilter("delegated", _l("Delegated"), ProvisioningRule.is_delegated, YES_NO),
        YesNoFilter("promised", _l("May be paid with a promised payment"),
                    ProvisioningRule.promised_payment_allowed, YES_NO),
    ],
))


@bp.get("/provisioning-rules")
@staff_required("provisioning_rules.view")
def list_provisioning_rules():
    """The list, with the R-PR-12 warning about own rules named like delegated ones."""
    return list_response(RULES, page_template="catalog/rules/list.html", title=RULES.title,
                         conflicts=name_conflicts(g.acting_reseller),
                         create_url=url_for("catalog.create_provisioning_rule_page")
                         if current_user.can("provisioning_rules.manage") else None)


def _fields(form) -> dict:
    data = {name: getattr(form, name).data for name in RULE_FIELDS}
    data["client_types"] = list(data["client_types"] or [])
    return data


@bp.route("/provisioning-rules/new", methods=["GET", "POST"])
@staff_required("provisioning_rules.manage")
def create_provisioning_rule_page():
    form = RuleForm()
    created = []
    if submit(form, lambda f: created.append(create_provisioning_rule(
            g.acting_reseller, actor=current_user, **_fields(f))),
            success=_("The provisioning rule is created.")):
        return redirect(url_for("catalog.provisioning_rule_detail", rule_id=created[0].id))
    return render_template("catalog/rules/create.html", form=form), \
        422 if form.is_submitted() else 200


def _context(rule, **extra):
    # The reseller's client types by key; a key it no longer has shows as the key itself.
    client_types = client_type_keys(rule.reseller_id)
    for key in rule.effective_client_types:
        client_types.setdefault(key, key)
    ctx = {"rule": rule, "events": events_for(rule), "client_types": client_types}
    if rule.is_delegated:
        ctx["form"] = DelegatedRuleForm(formdata=None,
                                        added_client_types=list(rule.added_client_types or []))
    else:
        ctx["form"] = RuleForm(obj=rule, formdata=None)
    ctx.update(extra)
    return ctx


@bp.get("/provisioning-rules/<int:rule_id>")
@staff_required("provisioning_rules.view")
def provisioning_rule_detail(rule_id):
    rule = tenant_get_or_404(ProvisioningRule, rule_id)
    return render_template("catalog/rules/detail.html", **_context(rule))


@bp.post("/provisioning-rules/<int:rule_id>")
@staff_required("provisioning_rules.manage")
def update_provisioning_rule_page(rule_id):
    rule = tenant_get_or_404(ProvisioningRule, rule_id)
    if rule.is_delegated:
        form = DelegatedRuleForm()
        ok = submit(form, lambda f: update_provisioning_rule(
            rule, actor=current_user, added_client_types=list(f.added_client_types.data or [])))
    else:
        form = RuleForm()
        ok = submit(form, lambda f: update_provisioning_rule(rule, actor=current_user,
                                                             **_fields(f)))
    if ok:
        return redirect(url_for("catalog.provisioning_rule_detail", rule_id=rule.id))
    return render_template("catalog/rules/detail.html", **_context(rule, form=form)), 422


@bp.post("/provisioning-rules/<int:rule_id>/delete")
@staff_required("provisioning_rules.manage")
def delete_provisioning_rule_page(rule_id):
    rule = tenant_get_or_404(ProvisioningRule, rule_id)
    if run_action(lambda: delete_provisioning_rule(rule, actor=current_user),
                  success=_("The provisioning rule is deleted.")):
        return redirect(url_for("catalog.list_provisioning_rules"))
    return render_template("catalog/rules/detail.html", **_context(rule)), 422
