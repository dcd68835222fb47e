"""System settings and security settings of the acting reseller (08 §15.1, §15.2)."""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.auth import staff_required
from portal.core.forms import submit
from portal.settings.forms import MASK_LABELS, SecuritySettingsForm, SystemSettingsForm
from portal.settings.models import DocumentType
from portal.settings.services import (security_settings, system_settings,
                                      update_security_settings, update_system_settings)
from portal.tenancy.forms import BrandingForm, SmtpForm, TestEmailForm
from portal.tenancy.services import send_test_email
from portal.tenancy.views import apply_branding, apply_smtp

bp = Blueprint("settings", __name__, url_prefix="/settings")


def _system_form(settings, formdata=None):
    form = SystemSettingsForm(obj=settings, formdata=formdata)
    if formdata is None:
        for doc in DocumentType:
            getattr(form, f"mask_{doc.value}").data = settings.mask_for(doc)
    return form


def _page(*, form=None, branding_form=None, smtp_form=None, test_form=None, status=200):
    reseller = g.acting_reseller
    settings = system_settings(reseller)
    smtp = smtp_form or SmtpForm(obj=reseller, formdata=None)
    if smtp_form is None:
        smtp.smtp_password.data = ""
    return render_template(
        "settings/system.html", form=form or _system_form(settings), masks=MASK_LABELS,
        branding_form=branding_form or BrandingForm(obj=reseller, formdata=None),
        smtp_form=smtp, test_form=test_form or TestEmailForm(formdata=None),
        can_manage=current_user.can("system_settings.manage")), status


@bp.get("/system")
@staff_required("system_settings.view")
def system():
    return _page()


@bp.post("/system")
@staff_required("system_settings.manage")
def save_system():
    settings = system_settings(g.acting_reseller)
    form = _system_form(settings, formdata=request.form)
    if submit(form, lambda f: update_system_settings(
            g.acting_reseller, actor=current_user,
            time_zone=f.time_zone.data, operator_languages=f.operator_languages.data,
            operator_default_language=f.operator_default_language.data,
            client_languages=f.client_languages.data,
            client_default_language=f.client_default_language.data,
            storefront_url=f.storefront_url.data or "",
            require_privacy_consent=f.require_privacy_consent.data,
            privacy_policy_url=f.privacy_policy_url.data or "",
            require_terms_consent=f.require_terms_consent.data,
            terms_url=f.terms_url.data or "",
            number_masks={d.value: getattr(f, f"mask_{d.value}").data.strip()
                          for d in DocumentType})):
        return redirect(url_for("settings.system"))
    return _page(form=form, status=422)


def _own(form_name, form, apply):
    if submit(form, apply, success=_("Saved.") if form_name != "test_form"
              else _("The test e-mail was sent.")):
        return redirect(url_for("settings.system") + "#" + form_name)
    return _page(**{form_name: form}, status=422)


@bp.post("/branding")
@staff_required("system_settings.manage")
def save_branding():
    return _own("branding_form", BrandingForm(), lambda f: apply_branding(g.acting_reseller, f))


@bp.post("/smtp")
@staff_required("system_settings.manage")
def save_smtp():
    return _own("smtp_form", SmtpForm(), lambda f: apply_smtp(g.acting_reseller, f))


@bp.post("/smtp/test")
@staff_required("system_settings.manage")
def test_smtp():
    return _own("test_form", TestEmailForm(), lambda f: send_test_email(
        g.acting_reseller, to=f.to.data, actor=current_user))


@bp.route("/security", methods=["GET", "POST"])
@staff_required("security_settings.view")
def security():
    settings = security_settings(g.acting_reseller)
    form = SecuritySettingsForm(obj=settings)
    if request.method == "POST":
        if not current_user.can("security_settings.manage"):
            from flask import abort  # noqa: PLC0415

            abort(403)
        if submit(form, lambda f: update_security_settings(g.acting_reseller, actor=current_user, **{
                name: field.data for name, field in f._fields.items() if name != "csrf_token"})):
            return redirect(url_for("settings.security"))
        return render_template("settings/security.html", form=form), 422
    return render_template("settings/security.html", form=form)
