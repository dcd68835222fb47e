"""The price list (05 §5.1.1): figures per plan and period, bulk auto markup, XLSX export and
import; and the markup for new plans (05 §5.1.2)."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qsl, urlencode

from flask import Response, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from portal.accounts.auth import staff_required
from portal.catalog.forms_price_list import (DefaultMarkupForm, MarkupApplyForm, MarkupClearForm,
                                             NewCategoriesMarkupForm, PriceImportForm)
from portal.catalog.models import (BILLING_TYPE_LABELS, BillingType, CatalogSettings, Plan,
                                   PlanStatus, Product, ProductCategory)
from portal.catalog.price_list import (CATEGORY_ID_SQL, MARKUP_STATE_SQL, eligible_for_clearing,
                                       eligible_for_markup, period_name, price_list_query,
                                       price_rows)
from portal.catalog.services import (CatalogError, clear_markup, coefficient_value,
                                     set_category_markup, set_markup, set_new_categories_markup)
from portal.catalog.services.markup import MarkupState
from portal.catalog.services.price_import import (COLUMN_LABELS, CONTENT_TYPE,
                                                  export_price_list, import_price_list)
from portal.catalog.views import bp
from portal.core.clock import clock
from portal.core.forms import attach_error
from portal.core.htmx import render_page_or_partial
from portal.core.listkit import (Column, Filter, ListDefinition, ListState, filtered_query,
                                 register_list, run_list, visible_columns)
from portal.core.money import CURRENCIES
from portal.extensions import db
from portal.operator.lists import preference, save_preference
from portal.tenancy.scope import scoped_select, tenant_get_or_404

MARKUP_LABELS = {MarkupState.AUTO: _l("Set"), MarkupState.MANUAL: _l("Not set"),
                 MarkupState.UNAVAILABLE: _l("Cannot be set")}

PRICE_LIST = register_list(ListDefinition(
    key="price_list", title=_l("Price list"), model=Plan, permission="price_list.view",
    query=price_list_query,
    columns=[
        Column("category", _l("Product category | Product"),
               sort=ProductCategory.name + " | " + Product.name + " | " + Plan.name,
               search=Product.name),
        Column("name", _l("Plan"), sort=Plan.name, search=Plan.name),
        Column("sku", _l("SKU (Offer ID)"), sort=Plan.sku, search=Plan.sku),
        Column("billing_type", _l("Billing type"), sort=Plan.billing_type, default=False),
        Column("period", _l("Period")),
        Column("sale", _l("Sale price")),
        Column("cost", _l("Cost")),
        Column("margin", _l("Margin, %")),
        Column("markup", _l("Auto markup"), sort=Plan.markup_coefficient),
        Column("cost_changed_at", _l("Cost changed"), sort=Plan.cost_changed_at),
        Column("resources", _l("Resources")),
    ],
    # The product-category filter gets its choices per request (see _definition).
    filters=[Filter("category", _l("Product category"), ProductCategory.name)],
    default_sort="category",
))


def _definition(reseller) -> ListDefinition:
    """The price list with this reseller's product categories as a filter (05 §5.1.1)."""
    categories = db.session.execute(
        select(ProductCategory.id, ProductCategory.name)
        .where(ProductCategory.reseller_id == reseller.id)
        .order_by(ProductCategory.name, ProductCategory.id)).all()
    return replace(PRICE_LIST, filters=[
        Filter("billing_type", _l("Billing type"), Plan.billing_type,
               choices=[(t.value, BILLING_TYPE_LABELS[t]) for t in BillingType]),
        Filter("currency", _l("Currency"), Plan.currency, choices=[(c, c) for c in CURRENCIES]),
        Filter("markup", _l("Auto markup"), MARKUP_STATE_SQL,
               choices=[(state, label) for state, label in MARKUP_LABELS.items()]),
        Filter("category", _l("Product category"), CATEGORY_ID_SQL,
               choices=[(str(i), name) for i, name in categories]),
    ])


def _state(definition, args, *, remember: bool) -> ListState:
    pref = preference(definition.key)
    state = ListState.from_args(definition, args, per_page=pref.per_page if pref else None)
    if remember and "per_page" in args and (pref is None or pref.per_page != state.per_page):
        save_preference(definition.key, per_page=state.per_page)
    return state


def _list_context(args, *, remember: bool = False, **forms) -> dict:
    reseller = g.acting_reseller
    definition = _definition(reseller)
    state = _state(definition, args, remember=remember)
    pref = preference(definition.key)
    page = run_list(definition, reseller, state, pref.columns if pref else None)
    page.url = lambda **override: url_for("catalog.price_list", **state.args(**override))
    page.base_url = url_for("catalog.price_list")
    rows = price_rows(reseller, list(page.rows), on=clock.today())
    shown = {c.key for c in page.columns}
    list_args = urlencode(state.args())
    context = {
        "list": page, "rows": rows, "shown": shown, "title": PRICE_LIST.title,
        "show_converted": "cost" in shown and any(
            r.plan.currency != reseller.currency for r in rows),
        "reseller_currency": reseller.currency, "markup_labels": MARKUP_LABELS,
        "period_name": period_name, "plan_url": _plan_url, "product_url": _product_url,
        "decimal2": decimal2,
        "can_manage": current_user.can("price_list.manage"), "list_args": list_args,
        "apply_form": MarkupApplyForm(formdata=None, list_args=list_args),
        "clear_form": MarkupClearForm(formdata=None, list_args=list_args),
        "PlanStatus": PlanStatus,
    }
    context.update(forms)
    return context


def decimal2(value) -> str:
    """A margin or a coefficient: two decimals in the reader's language (05 R-PL-7)."""
    return format_decimal(value, format="#,##0.00")


def _optional_url(endpoint: str, **values) -> str | None:
    """Link to a page of another screen group only once it exists."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


def _plan_url(plan, anchor: str | None = None) -> str | None:
    url = _optional_url("catalog.plan_detail", plan_id=plan.id)
    return f"{url}#{anchor}" if url and anchor else url


def _product_url(product) -> str | None:
    return _optional_url("catalog.product_detail", product_id=product.id)


@bp.get("/price-list")
@staff_required("price_list.view")
def price_list():
    context = _list_context(request.args, remember=True)
    return render_page_or_partial("catalog/price_list/page.html", "catalog/price_list/_list.html",
                                  **context)


def _args_of(form) -> MultiDict:
    """The list's search, filters and page the form was sent from (url_for's own `_…`
    arguments are not the list's)."""
    return MultiDict([(k, v) for k, v in parse_qsl(form.list_args.data or "")
                      if not k.startswith("_")])


def _back_to_list(form):
    return redirect(url_for("catalog.price_list", **_args_of(form).to_dict()))


def _refuse(form, message=None):
    """Re-render the price list with the toolbar's error: nothing was changed."""
    db.session.rollback()
    if message is not None:
        form.plan_ids.errors = [*list(form.plan_ids.errors or []), message]
    key = "apply_form" if isinstance(form, MarkupApplyForm) else "clear_form"
    return render_template("catalog/price_list/page.html",
                           **_list_context(_args_of(form), **{key: form})), 422


def _selected_plans(form) -> list[Plan]:
    """The chosen plans of this reseller; ids of anyone else's plans are ignored."""
    ids = [i for i in (form.plan_ids.data or []) if isinstance(i, int)]
    if not ids:
        return []
    return list(db.session.scalars(scoped_select(Plan).where(Plan.id.in_(ids))
                                   .order_by(Plan.name, Plan.id)))


@bp.post("/price-list/markup")
@staff_required("price_list.manage")
def apply_markup():
    """R-MK-5/6: set the coefficient of the selected plans, after a confirmation."""
    form = MarkupApplyForm()
    if not form.validate_on_submit():
        return _refuse(form)
    try:
        coefficient = coefficient_value(form.coefficient.data, field="coefficient")
    except CatalogError as error:
        attach_error(form, error)
        return _refuse(form)
    plans = _selected_plans(form)
    if not plans:
        return _refuse(form, _("Choose at least one plan of the price list."))
    eligible = eligible_for_markup(plans)
    if form.confirm.data != "1":
        return render_template("catalog/price_list/confirm.html", form=form, action="apply",
                               coefficient=coefficient, eligible=eligible,
                               skipped=[p for p in plans if p not in eligible])
    try:
        set_markup(eligible, coefficient, actor=current_user)
        db.session.commit()
    except CatalogError as error:
        attach_error(form, error)
        return _refuse(form)
    flash(_("The markup coefficient %(k)s is set for %(n)d plan(s).", k=coefficient,
            n=len(eligible)), "success")
    return _back_to_list(form)


@bp.post("/price-list/markup/clear")
@staff_required("price_list.manage")
def clear_markup_page():
    """R-MK-9: switch auto markup off for the selected plans, after a confirmation."""
    form = MarkupClearForm()
    if not form.validate_on_submit():
        return _refuse(form)
    plans = _selected_plans(form)
    if not plans:
        return _refuse(form, _("Choose at least one plan of the price list."))
    eligible = eligible_for_clearing(plans)
    if form.confirm.data != "1":
        return render_template("catalog/price_list/confirm.html", form=form, action="clear",
                               eligible=eligible,
                               skipped=[p for p in plans if p not in eligible])
    try:
        clear_markup(eligible, actor=current_user)
        db.session.commit()
    except CatalogError as error:
        attach_error(form, error)
        return _refuse(form)
    flash(_("Auto markup is switched off for %(n)d plan(s).", n=len(eligible)), "success")
    return _back_to_list(form)


@bp.get("/price-list/export")
@staff_required("price_list.view")
def export_price_list_page():
    """R-PX-1: the price list as filtered on the page, all pages, as an XLSX download."""
    reseller = g.acting_reseller
    definition = _definition(reseller)
    state = _state(definition, request.args, remember=False)
    pref = preference(definition.key)
    query = filtered_query(definition, reseller, state,
                           visible_columns(definition, pref.columns if pref else None))
    data = export_price_list(reseller, list(db.session.scalars(query)))
    filename = f"price-list-{clock.today().isoformat()}.xlsx"
    return Response(data, content_type=CONTENT_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/price-list/import")
@staff_required("price_list.manage")
def import_price_list_form():
    return render_template("catalog/price_list/import.html", form=PriceImportForm(formdata=None))


@bp.post("/price-list/import")
@staff_required("price_list.manage")
def import_price_list_page():
    """R-PX-2..4: apply an edited price-list file and show what was applied and refused."""
    form = PriceImportForm()
    if not form.validate_on_submit():
        db.session.rollback()
        return render_template("catalog/price_list/import.html", form=form), 422
    try:
        report = import_price_list(g.acting_reseller, form.file.data.read(), actor=current_user)
        db.session.commit()
    except CatalogError as error:
        db.session.rollback()
        attach_error(form, error)
        return render_template("catalog/price_list/import.html", form=form), 422
    return render_template(
        "catalog/price_list/import_report.html", report=report, labels=COLUMN_LABELS,
        plan_link=lambda plan_id: _optional_url("catalog.plan_detail", plan_id=plan_id))


# --- markup for new plans (05 §5.1.2) ------------------------------------------------------

def _default_markups_context(**extra) -> dict:
    reseller = g.acting_reseller
    query = scoped_select(ProductCategory).order_by(ProductCategory.name, ProductCategory.id)
    search_id = (request.args.get("id") or "").strip()
    needle = (request.args.get("q") or "").strip()
    if search_id:
        query = query.where(ProductCategory.id == (int(search_id) if search_id.isdigit() else 0))
    if needle:
        query = query.where(db.func.lower(ProductCategory.name).contains(needle.lower(),
                                                                          autoescape=True))
    settings = db.session.scalar(select(CatalogSettings).where(
        CatalogSettings.reseller_id == reseller.id))
    current = settings.default_markup_new_categories if settings is not None else None
    context = {
        "categories": db.session.scalars(query).all(), "search_id": search_id, "q": needle,
        "new_categories_markup": current if current is not None else "1.00",
        "new_form": NewCategoriesMarkupForm(formdata=None, coefficient=current or "1.00"),
        "row_errors": {}, "row_values": {}, "decimal2": decimal2,
        "can_manage": current_user.can("price_list.manage"),
    }
    context.update(extra)
    return context


@bp.get("/price-list/default-markups")
@staff_required("price_list.view")
def default_markups():
    return render_template("catalog/price_list/default_markups.html",
                           **_default_markups_context())


@bp.post("/price-list/default-markups/new-categories")
@staff_required("price_list.manage")
def set_new_categories_markup_page():
    """R-MK-12/13: the coefficient for plans delegated later into a new product category."""
    form = NewCategoriesMarkupForm()
    try:
        if not form.validate_on_submit():
            raise _Invalid()
        set_new_categories_markup(g.acting_reseller, form.coefficient.data, actor=current_user)
        db.session.commit()
    except (CatalogError, _Invalid) as error:
        db.session.rollback()
        if isinstance(error, CatalogError):
            attach_error(form, error)
        return render_template("catalog/price_list/default_markups.html",
                               **_default_markups_context(new_form=form)), 422
    flash(_("The markup for new product categories is saved."), "success")
    return redirect(url_for("catalog.default_markups"))


@bp.post("/price-list/default-markups/<int:category_id>")
@staff_required("price_list.manage")
def set_category_markup_page(category_id):
    """R-MK-12/13: the default coefficient of plans delegated into this category from now on."""
    category = tenant_get_or_404(ProductCategory, category_id)
    form = DefaultMarkupForm()
    try:
        if not form.validate_on_submit():
            raise _Invalid(form.coefficient.errors[0] if form.coefficient.errors
                           else _("The request is not valid."))
        set_category_markup(category, form.coefficient.data, actor=current_user)
        db.session.commit()
    except (CatalogError, _Invalid) as error:
        db.session.rollback()
        return render_template("catalog/price_list/default_markups.html",
                               **_default_markups_context(
                                   row_errors={category_id: str(error)},
                                   row_values={category_id: form.coefficient.data or ""})), 422
    flash(_("The markup of the category %(name)s is saved.", name=category.name), "success")
    return redirect(url_for("catalog.default_markups"))


class _Invalid(Exception):
    """The form did not validate; its fields carry the messages."""
