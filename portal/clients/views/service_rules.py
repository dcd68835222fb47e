"""Operator-panel pages of service rules (08 S-4..S-6): the list with the colour label,
create, the rule page with its event log, delete (R-SR-16)."""

from __future__ import annotations

from flask import g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from portal.accounts.auth import staff_required
from portal.clients.forms_config import ServiceRuleForm
from portal.clients.models import (PAYMENT_MODEL_LABELS, RULE_COLORS, STOP_METHOD_LABELS,
                                   PaymentModel, ServiceRule, StopMethod)
from portal.clients.services.service_rules import (create_service_rule, delete_service_rule,
                                                   update_service_rule)
from portal.clients.views import bp
from portal.clients.views.client_types import YES_NO, YesNoFilter
from portal.core.audit import events_for
from portal.core.formatting import money
from portal.core.forms import run_action, submit
from portal.core.listkit import Column, Filter, ListDefinition, register_list
from portal.operator.lists import list_response
from portal.tenancy.scope import scoped_select, tenant_get_or_404


SWATCHES = {"grey": "#9e9e9e", "orange": "#f39c12", "blue": "#1f5fa8",
            "light_blue": "#5dade2", "green": "#27ae60", "red": "#e74c3c", "violet": "#8e44ad",
            "yellow": "#f1c40f"}


def color_label(rule: ServiceRule) -> Markup:
    """R-SR-5: the colour's name with a swatch, as the client list shows the label."""
    return Markup('<span class="rule-color" data-color="{0}"><span class="swatch" '
                  'aria-hidden="true" style="display:inline-block;width:.8em;height:.8em;'
                  'border-radius:50%;background:{1}"></span> {2}</span>').format(
        rule.color, SWATCHES.get(rule.color, "#9e9e9e"), RULE_COLORS.get(rule.color, rule.color))


def _link(text_of):
    def render(rule):
        return Markup('<a href="{}">{}</a>').format(
            url_for("clients.service_rule_detail", rule_id=rule.id), text_of(rule))
    return render


def _amount(name):
    return lambda rule: money(getattr(rule, name), g.acting_reseller.currency)


def _days(name):
    def value(rule):
        days = getattr(rule, name)
        return _("Unlimited") if name == "negative_balance_days" and days == -1 else days
    return value


SERVICE_RULES = register_list(ListDefinition(
    key="service_rules", title=_l("Service rules"), model=ServiceRule,
    permission="service_rules.view",
    query=lambda reseller: scoped_select(ServiceRule, reseller),
    columns=[
        Column("id", "ID", sort=ServiceRule.id, render=_link(lambda r: r.id)),
        Column("name", _l("Name"), sort=ServiceRule.name, search=ServiceRule.name,
               render=_link(lambda r: r.name)),
        Column("is_default", _l("Default"), sort=ServiceRule.is_default),
        Column("stop_method", _l("Subscription stop method"), sort=ServiceRule.stop_method,
               value=lambda r: str(STOP_METHOD_LABELS[r.stop_method])),
        Column("color", _l("Colour"), sort=ServiceRule.color,
               value=lambda r: str(RULE_COLORS.get(r.color, r.color)), render=color_label),
        Column("payment_model", _l("Default payment model"), sort=ServiceRule.payment_model,
               value=lambda r: str(PAYMENT_MODEL_LABELS[r.payment_model])),
        Column("block_threshold", _l("Prepay: financial block threshold"),
               sort=ServiceRule.block_threshold, render=_amount("block_threshold")),
        Column("credit_limit", _l("Postpay: credit limit per subscription"),
               sort=ServiceRule.credit_limit, render=_amount("credit_limit")),
        Column("payment_grace_days", _l("Postpay: payment grace period"),
               sort=ServiceRule.payment_grace_days),
        # Hidden until chosen (08 S-4).
        Column("key", _l("Key"), sort=ServiceRule.key, search=ServiceRule.key, default=False),
        Column("delete_method", _l("Subscription deletion method"),
               sort=ServiceRule.delete_method, default=False,
               value=lambda r: str(STOP_METHOD_LABELS[r.delete_method])),
        Column("allow_negative_balance_payment", _l("Prepay: pay with a negative balance"),
               sort=ServiceRule.allow_negative_balance_payment, default=False),
        Column("negative_balance_days", _l("Prepay: negative balance period"),
               sort=ServiceRule.negative_balance_days, default=False,
               value=_days("negative_balance_days")),
        Column("cancel_unpaid_order_after_days", _l("Prepay: cancel an unpaid order after"),
               sort=ServiceRule.cancel_unpaid_order_after_days, default=False),
        Column("promised_payment_limit", _l("Promised payment limit"),
               sort=ServiceRule.promised_payment_limit, default=False,
               render=_amount("promised_payment_limit")),
        Column("promised_payment_days", _l("Promised payment period"),
               sort=ServiceRule.promised_payment_days, default=False),
    ],
    filters=[
        Filter("payment_model", _l("Default payment model"), ServiceRule.payment_model,
               choices=[(m.value, PAYMENT_MODEL_LABELS[m]) for m in PaymentModel]),
        Filter("stop_method", _l("Subscription stop method"), ServiceRule.stop_method,
               choices=[(m.value, STOP_METHOD_LABELS[m]) for m in StopMethod]),
        Filter("color", _l("Colour"), ServiceRule.color, choices=list(RULE_COLORS.items())),
        YesNoFilter("default", _l("Default"), ServiceRule.is_default, YES_NO),
    ],
))


@bp.get("/service-rules")
@staff_required("service_rules.view")
def list_service_rules():
    return list_response(SERVICE_RULES, page_template="clients/service_rules/list.html",
                         title=SERVICE_RULES.title,
                         create_url=url_for("clients.create_service_rule_page")
                         if current_user.can("service_rules.manage") else None)


def _fields(form) -> dict:
    return {name: getattr(form, name).data for name in ServiceRuleForm.FIELDS}


@bp.route("/service-rules/new", methods=["GET", "POST"])
@staff_required("service_rules.manage")
def create_service_rule_page():
    form = ServiceRuleForm()
    created = []
    if submit(form, lambda f: created.append(create_service_rule(
            g.acting_reseller, actor=current_user, **_fields(f))),
            success=_("The service rule is created.")):
        return redirect(url_for("clients.service_rule_detail", rule_id=created[0].id))
    return render_template("clients/service_rules/create.html", form=form), \
        422 if form.is_submitted() else 200


def _context(rule, **extra) -> dict:
    ctx = {"rule": rule, "events": events_for(rule), "color": color_label(rule),
           "form": ServiceRuleForm(obj=rule, formdata=None)}
    ctx.update(extra)
    return ctx


@bp.get("/service-rules/<int:rule_id>")
@staff_required("service_rules.view")
def service_rule_detail(rule_id):
    rule = tenant_get_or_404(ServiceRule, rule_id)
    return render_template("clients/service_rules/detail.html", **_context(rule))


@bp.post("/service-rules/<int:rule_id>")
@staff_required("service_rules.manage")
def update_service_rule_page(rule_id):
    rule = tenant_get_or_404(ServiceRule, rule_id)
    form = ServiceRuleForm()
    if submit(form, lambda f: update_service_rule(rule, actor=current_user, **_fields(f))):
        return redirect(url_for("clients.service_rule_detail", rule_id=rule.id))
    return render_template("clients/service_rules/detail.html", **_context(rule, form=form)), 422


@bp.post("/service-rules/<int:rule_id>/delete")
@staff_required("service_rules.manage")
def delete_service_rule_page(rule_id):
    rule = tenant_get_or_404(ServiceRule, rule_id)
    if run_action(lambda: delete_service_rule(rule, actor=current_user),
                  success=_("The service rule is deleted.")):
        return redirect(url_for("clients.list_service_rules"))
    return render_template("clients/service_rules/detail.html", **_context(rule)), 422
