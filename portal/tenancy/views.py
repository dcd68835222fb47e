"""Operator-panel pages for resellers: the list of descendants, create, edit, branding,
domains, SMTP, suspend, delete, and "log in as reseller"."""

from __future__ import annotations

from flask import (Blueprint, Response, abort, g, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import aliased

from portal.accounts.auth import Principal, staff_required
from portal.core.audit import events_for
from portal.core.errors import DomainError
from portal.core.forms import run_action, submit
from portal.core.listkit import Column, Filter, ListDefinition, register_list
from portal.extensions import db
from portal.operator.lists import list_response
from portal.tenancy.forms import (BrandingForm, DomainForm, ResellerCreateForm, ResellerEditForm,
                                  SmtpForm, TestEmailForm)
from portal.tenancy.models import (RESELLER_STATUS_LABELS, DomainKind, Reseller, ResellerDomain,
                                   ResellerStatus)
from portal.tenancy.scope import scoped_select, tenant_get_or_404
from portal.tenancy.services import send_test_email
from portal.tenancy.services.branding import set_branding_image
from portal.tenancy.services.impersonation import claim_handoff, enter_reseller_panel
from portal.tenancy.services.resellers import (create_reseller, delete_reseller, set_domain,
                                               set_reseller_status, update_reseller)

bp = Blueprint("tenancy", __name__)

Parent = aliased(Reseller)
PanelDomain = aliased(ResellerDomain)


def _reseller_query(reseller):
    return (scoped_select(Reseller, reseller)
            .outerjoin(Parent, Parent.id == Reseller.parent_id)
            .outerjoin(PanelDomain, (PanelDomain.reseller_id == Reseller.id)
                       & (PanelDomain.kind == DomainKind.PANEL)))


def _name_link(reseller: Reseller) -> Markup:
    return Markup('<a href="{}" hx-boost="true">{}</a>').format(
        url_for("tenancy.reseller_detail", reseller_id=reseller.id), reseller.name)


RESELLERS = register_list(ListDefinition(
    key="resellers", title=_l("Resellers"), model=Reseller, permission="resellers.view",
    query=_reseller_query,
    columns=[
        Column("id", "ID", sort=Reseller.id),
        Column("name", _l("Name"), sort=Reseller.name, search=Reseller.name, render=_name_link),
        Column("panel_domain", _l("Domain"), sort=PanelDomain.domain, search=PanelDomain.domain),
        Column("parent", _l("Parent reseller"), sort=Parent.name, search=Parent.name,
               value=lambda r: r.parent.name if r.parent else ""),
        Column("currency", _l("Currency"), sort=Reseller.currency, search=Reseller.currency),
        Column("status", _l("Status"), sort=Reseller.status,
               value=lambda r: str(RESELLER_STATUS_LABELS[r.status])),
        Column("contact_email", _l("Contact's e-mail"), search=Reseller.contact_email,
               default=False),
        Column("created_at", _l("Created"), sort=Reseller.created_at),
    ],
    filters=[
        Filter("status", _l("Status"), Reseller.status,
               choices=[(s.value, RESELLER_STATUS_LABELS[s]) for s in ResellerStatus]),
        Filter("currency", _l("Currency"), Reseller.currency),
        Filter("parent", _l("Parent reseller"), Parent.name),
    ],
))


@bp.get("/resellers")
@staff_required("resellers.view")
def list_resellers():
    return list_response(RESELLERS, title=RESELLERS.title,
                         create_url=url_for("tenancy.create_reseller_page")
                         if current_user.can("resellers.manage") else None)


@bp.route("/resellers/new", methods=["GET", "POST"])
@staff_required("resellers.manage")
def create_reseller_page():
    form = ResellerCreateForm()
    created = []
    if submit(form, lambda f: created.append(create_reseller(
            g.acting_reseller, name=f.name.data, currency=f.currency.data,
            settings_mode=f.settings_mode.data, domain=f.domain.data or "", actor=current_user,
            **_details(f))), success=_("Reseller %(name)s is created.", name=form.name.data)):
        return redirect(url_for("tenancy.reseller_detail", reseller_id=created[0].id))
    status = 422 if form.is_submitted() else 200
    return render_template("tenancy/create.html", form=form), status


def _details(form) -> dict:
    return {name: getattr(form, name).data or "" for name in (
        "company_name", "country_code", "contact_last_name", "contact_first_name",
        "contact_phone", "contact_email")}


def _detail_context(reseller, **forms):
    ctx = {
        "target": reseller,
        "edit_form": ResellerEditForm(obj=reseller, formdata=None),
        "domain_form": DomainForm(formdata=None, panel_domain=reseller.panel_domain,
                                  store_domain=reseller.store_domain,
                                  client_domain=reseller.client_domain),
        "branding_form": BrandingForm(obj=reseller, formdata=None),
        "smtp_form": SmtpForm(obj=reseller, formdata=None),
        "test_form": TestEmailForm(formdata=None),
        "events": events_for(reseller),
        "children": db.session.scalars(select(Reseller).where(
            Reseller.parent_id == reseller.id).order_by(Reseller.id)).all(),
    }
    ctx["smtp_form"].smtp_password.data = ""
    ctx.update(forms)
    return ctx


@bp.get("/resellers/<int:reseller_id>")
@staff_required("resellers.view")
def reseller_detail(reseller_id):
    reseller = tenant_get_or_404(Reseller, reseller_id)
    return render_template("tenancy/detail.html", **_detail_context(reseller))


def _save(reseller, form_name, form, apply, success_message):
    """Validate, call one service, commit; on error re-render the page with 422."""
    if submit(form, apply, success=success_message):
        return redirect(url_for("tenancy.reseller_detail", reseller_id=reseller.id))
    return render_template("tenancy/detail.html",
                           **_detail_context(reseller, **{form_name: form})), 422


@bp.post("/resellers/<int:reseller_id>")
@staff_required("resellers.manage")
def update_reseller_page(reseller_id):
    reseller = tenant_get_or_404(Reseller, reseller_id)
    form = ResellerEditForm()
    return _save(reseller, "edit_form", form, lambda f: update_reseller(
        reseller, actor=current_user, name=f.name.data, currency=f.currency.data, **_details(f)),
        _("Saved."))


@bp.post("/resellers/<int:reseller_id>/domain")
@staff_required("resellers.manage")
def update_domain(reseller_id):
    reseller = tenant_get_or_404(Reseller, reseller_id)

    def apply(form):
        set_domain(reseller, DomainKind.PANEL, form.panel_domain.data or "", actor=current_user)
        set_domain(reseller, DomainKind.STORE, form.store_domain.data or "", actor=current_user)
        set_domain(reseller, DomainKind.CLIENT, form.client_domain.data or "", actor=current_user)

    return _save(reseller, "domain_form", DomainForm(), apply, _("Saved."))


def apply_branding(reseller, form):
    update_reseller(reseller, actor=current_user, panel_title=form.panel_title.data or "",
                    client_panel_title=form.client_panel_title.data or "",
                    store_title=form.store_title.data or "",
                    default_language=form.default_language.data,
                    primary_color=form.primary_color.data or reseller.primary_color)
    for kind in ("logo", "favicon"):
        upload = request.files.get(kind)
        if upload and upload.filename:
            try:
                set_branding_image(reseller, kind, upload.read(), actor=current_user)
            except DomainError as error:
                error.field = kind
                raise
        elif request.form.get(f"remove_{kind}"):
            set_branding_image(reseller, kind, None, actor=current_user)


def apply_smtp(reseller, form):
    update_reseller(reseller, actor=current_user, smtp_host=form.smtp_host.data or "",
                    smtp_port=form.smtp_port.data, smtp_security=form.smtp_security.data,
                    smtp_username=form.smtp_username.data or "",
                    smtp_password=form.smtp_password.data or "",
                    smtp_sender=form.smtp_sender.data or "")


@bp.post("/resellers/<int:reseller_id>/branding")
@staff_required("resellers.manage")
def update_branding(reseller_id):
    reseller = tenant_get_or_404(Reseller, reseller_id)
    return _save(reseller, "branding_form", BrandingForm(),
                 lambda f: apply_branding(reseller, f), _("Saved."))


@bp.post("/resellers/<int:reseller_id>/smtp")
@staff_required("resellers.manage")
def update_smtp(reseller_id):
    reseller = tenant_get_or_404(Reseller, reseller_id)
    return _save(reseller, "smtp_form", SmtpForm(), lambda f: apply_smtp(reseller, f), _("Saved."))


@bp.post("/resellers/<int:reseller_id>/smtp/test")
@staff_required("resellers.manage")
def test_smtp(reseller_id):
    reseller = tenant_get_or_404(Reseller, reseller_id)
    return _save(reseller, "test_form", TestEmailForm(),
                 lambda f: send_test_email(reseller, to=f.to.data, actor=current_user),
                 _("The test e-mail was sent."))


@bp.post("/resellers/<int:reseller_id>/status")
@staff_required("resellers.manage")
def change_status(reseller_id):
    reseller = tenant_get_or_404(Reseller, reseller_id)
    run_action(lambda: set_reseller_status(reseller, request.form.get("status", ""),
                                           actor=current_user))
    return redirect(url_for("tenancy.reseller_detail", reseller_id=reseller.id))


@bp.post("/resellers/<int:reseller_id>/delete")
@staff_required("resellers.manage")
def delete(reseller_id):
    reseller = tenant_get_or_404(Reseller, reseller_id)
    if run_action(lambda: delete_reseller(reseller, actor=current_user),
                  success=_("The reseller is deleted.")):
        return redirect(url_for("tenancy.list_resellers"))
    return redirect(url_for("tenancy.reseller_detail", reseller_id=reseller_id))


def panel_url(reseller: Reseller, path: str) -> str:
    """An absolute URL on the reseller's own host, keeping this request's scheme and port."""
    host = reseller.panel_domain or reseller.local_host
    port = request.host.rsplit(":", 1)[1] if ":" in request.host.split("]")[-1] else ""
    return f"{request.scheme}://{host}{':' + port if port else ''}{path}"


@bp.post("/resellers/<int:reseller_id>/enter")
@staff_required("resellers.manage")
def enter_panel(reseller_id):
    """Log in as reseller: open the child's panel on its own host (audited)."""
    reseller = tenant_get_or_404(Reseller, reseller_id)
    key = enter_reseller_panel(reseller, actor=current_user)
    db.session.commit()
    return redirect(panel_url(reseller, url_for("tenancy.claim_entry", key=key)))


@bp.get("/auth/enter")
def claim_entry():
    claimed = claim_handoff(g.reseller, request.args.get("key", ""))
    if claimed is None:
        db.session.rollback()
        abort(404)
    session, key = claimed
    db.session.commit()
    login_user(Principal(session.staff_member, g.reseller, session=session, session_key=key))
    return redirect(url_for("operator.home"))


@bp.get("/branding/<kind>")
def branding_asset(kind):
    """The current panel's logo or favicon (public: the sign-in page shows it)."""
    if kind not in ("logo", "favicon"):
        abort(404)
    reseller = g.reseller
    data = getattr(reseller, kind)
    if not data:
        abort(404)
    return Response(data, content_type=getattr(reseller, f"{kind}_type"), headers={
        "Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"})

