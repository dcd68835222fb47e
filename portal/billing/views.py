"""Operator-panel pages for currencies and exchange rates (04b §5.1.11–5.1.13)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.accounts.auth import staff_required
from portal.billing.forms import ExchangeRateRevertForm, ExchangeRateSetForm
from portal.billing.queries import list_exchange_rate_history, list_scheduled_own_quotes
from portal.billing.services import (RateSource, inherit_exchange_rate, list_effective_rates,
                                     set_exchange_rate)
from portal.core.clock import clock
from portal.core.forms import submit
from portal.core.money import CURRENCIES

bp = Blueprint("billing", __name__)

SOURCE_LABELS = {RateSource.OWN: _l("Own rate"), RateSource.ROOT: _l("Provider's rate"),
                 RateSource.DEFAULT: _l("Default (1 to 1)"), RateSource.SAME: ""}


@bp.get("/currencies")
@staff_required("currencies.view")
def currencies():
    """The currencies of the platform: view only (04b CUR-2, CUR-14)."""
    return render_template("billing/currencies.html", currencies=list(CURRENCIES.items()))


def _base_currency(code: str) -> str:
    if code not in CURRENCIES:
        abort(404)
    return code


def _rate_text(value: str) -> str:
    """What people type: "92,5" or "1 000.25" mean 92.5 and 1000.25."""
    return "".join((value or "").split()).replace(",", ".")


def _set_form(quote, rate, today, formdata=None):
    form = ExchangeRateSetForm(prefix=f"set-{quote}", formdata=formdata)
    if formdata is None:
        form.units.data, form.rate.data, form.valid_from.data = str(rate.units), str(rate.rate), today
    return form


def _revert_form(quote, today, formdata=None):
    form = ExchangeRateRevertForm(prefix=f"revert-{quote}", formdata=formdata)
    if formdata is None:
        form.valid_from.data = today
    return form


def _rates_page(base: str, *, submitted: dict | None = None, status: int = 200):
    reseller = g.acting_reseller
    today = clock.today()
    rates = list_effective_rates(reseller, base, today)
    submitted = submitted or {}
    set_forms = {r.quote_currency: submitted.get(("set", r.quote_currency))
                 or _set_form(r.quote_currency, r, today) for r in rates}
    revert_forms = {r.quote_currency: submitted.get(("revert", r.quote_currency))
                    or _revert_form(r.quote_currency, today) for r in rates}
    quote = request.args.get("quote") if request.args.get("quote") in CURRENCIES else None
    history = list_exchange_rate_history(reseller, base_currency=base, quote_currency=quote)
    return render_template(
        "billing/rates.html", base=base, rates=rates, set_forms=set_forms,
        revert_forms=revert_forms, history=history, history_quote=quote,
        source_labels=SOURCE_LABELS, open_forms={key[1] for key in submitted},
        open_reverts={quote for kind, quote in submitted if kind == "revert"},
        scheduled=set() if reseller.is_root else list_scheduled_own_quotes(reseller, base, today),
        can_manage=current_user.can("currencies.manage"), today=today), status


@bp.get("/currencies/<code>/rates")
@staff_required("currencies.view")
def rates(code):
    """The rates page of one currency: every other currency with its rate in force today."""
    return _rates_page(_base_currency(code))


def _quote_from_form(base: str) -> str | None:
    quote = request.form.get("quote_currency", "")
    return quote if quote in CURRENCIES and quote != base else None


@bp.post("/currencies/<code>/rates")
@staff_required("currencies.manage")
def set_rate(code):
    """Set a rate from a date: at the root for every level, below it as the own rate."""
    base = _base_currency(code)
    quote = _quote_from_form(base)
    if quote is None:
        flash(_("Choose one of the other currencies."), "error")
        return _rates_page(base, status=422)
    form = ExchangeRateSetForm(prefix=f"set-{quote}")
    if submit(form, lambda f: set_exchange_rate(
            g.acting_reseller, base, quote, units=(f.units.data or "").strip(),
            rate=_rate_text(f.rate.data), valid_from=f.valid_from.data, actor=current_user),
            success=_("The rate of %(quote)s is saved.", quote=quote)):
        return redirect(url_for("billing.rates", code=base))
    return _rates_page(base, submitted={("set", quote): form}, status=422)


@bp.post("/currencies/<code>/rates/revert")
@staff_required("currencies.manage")
def revert_rate(code):
    """Return to the provider's rate from a date (below the root only)."""
    base = _base_currency(code)
    quote = _quote_from_form(base)
    if quote is None:
        flash(_("Choose one of the other currencies."), "error")
        return _rates_page(base, status=422)
    form = ExchangeRateRevertForm(prefix=f"revert-{quote}")
    if submit(form, lambda f: inherit_exchange_rate(
            g.acting_reseller, base, quote, valid_from=f.valid_from.data, actor=current_user),
            success=_("%(quote)s follows the provider's rate again.", quote=quote)):
        return redirect(url_for("billing.rates", code=base))
    return _rates_page(base, submitted={("revert", quote): form}, status=422)
