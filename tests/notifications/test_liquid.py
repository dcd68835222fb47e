"""Notification templates in Liquid: filters, limits, sandbox, joined values, validation."""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale

from portal.notifications.liquid_env import (
    JoinedDict,
    NotificationRenderContext,
    TemplateRenderError,
    joined,
    parse_template,
    plain_data,
    render_template,
)
from portal.notifications.liquid_validation import (
    SYNTAX,
    UNKNOWN_FILTER,
    UNKNOWN_PLACEHOLDER,
    TemplateInvalid,
    require_valid_template,
    union_schemas,
    validate_template,
)

NBSP = "\xa0"


@pytest.fixture(autouse=True)
def english(app):
    """Messages are read in English; rendering languages are passed explicitly."""
    with app.test_request_context(), force_locale("en"):
        yield


def render(source, context=None, *, language="ru", currency="RUB", **options):
    return render_template(source, context or {}, language=language, currency=currency,
                           **options)


class Secretive:
    """A real object someone might pass by mistake."""

    token = "s3cr3t"

    def __init__(self):
        self.password = "hunter2"

    def __str__(self):
        return "password=hunter2"


# -- format_as_currency ----------------------------------------------------------------------


@pytest.mark.parametrize(("language", "currency", "text"), [
    ("ru", "RUB", f"1{NBSP}234,56{NBSP}₽"),
    ("ru", "USD", f"1{NBSP}234,56{NBSP}$"),
    ("en", "USD", "$1,234.56"),
    ("en", "EUR", "€1,234.56"),
    ("ru", None, f"1{NBSP}234,56"),
])
def test_format_as_currency_uses_the_render_language_and_currency(language, currency, text):
    context = {"payment": {"total": Decimal("1234.56")}}
    assert render("{{ payment.total | format_as_currency }}", context, language=language,
                  currency=currency) == text


def test_format_as_currency_argument_overrides_the_render_currency():
    assert render("{{ 10 | format_as_currency: 'USD' }}", language="en",
                  currency="RUB") == "$10.00"


def test_format_as_currency_rounds_half_up_and_leaves_non_numbers_alone():
    context = {"a": Decimal("0.005"), "b": "12.5", "c": "n/a", "d": -3}
    assert render("{{ a | format_as_currency }}|{{ b | format_as_currency }}|"
                  "{{ c | format_as_currency }}|{{ d | format_as_currency }}|"
                  "{{ missing | format_as_currency }}", context) == (
        f"0,01{NBSP}₽|12,50{NBSP}₽|n/a|-3,00{NBSP}₽|")


def test_manual_client_panel_body_ex7():
    body = ('Платёж "{{payment.document_number}}" на сумму '
            "{{payment.total | format_as_currency}} получен.")
    context = {"payment": {"document_number": "AP000000834", "total": Decimal("100")}}
    assert render(body, context) == f'Платёж "AP000000834" на сумму 100,00{NBSP}₽ получен.'


# -- format_as_date ---------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "style", "language", "text"), [
    (date(2026, 11, 22), None, "ru", "22.11.2026"),
    (date(2026, 11, 22), None, "en", "11/22/26"),
    (date(2026, 11, 22), "long", "ru", "22 ноября 2026\u202fг."),
    (date(2026, 11, 22), "long", "en", "November 22, 2026"),
    ("2026-11-22", "long", "en", "November 22, 2026"),
    ("22/11/2026", "long", "ru", "22 ноября 2026\u202fг."),  # billing_day_date's own format
    ("22.11.2026", None, "ru", "22.11.2026"),
    (datetime(2026, 3, 1, 10, 0), "medium", "en", "Mar 1, 2026"),
])
def test_format_as_date(value, style, language, text):
    source = "{{ d | format_as_date: 'long' }}" if style == "long" else (
        "{{ d | format_as_date: 'medium' }}" if style == "medium" else "{{ d | format_as_date }}")
    assert render(source, {"d": value}, language=language) == text


def test_format_as_date_shows_instants_in_the_given_zone():
    late_evening_utc = datetime(2026, 11, 22, 22, 30, tzinfo=UTC)
    context = {"at": late_evening_utc, "iso": late_evening_utc.isoformat()}
    source = "{{ at | format_as_date }} {{ iso | format_as_date }}"
    assert render(source, context, zone=ZoneInfo("Europe/Moscow")) == "23.11.2026 23.11.2026"
    assert render(source, context, zone=ZoneInfo("UTC")) == "22.11.2026 22.11.2026"


def test_format_as_date_leaves_text_that_is_no_date():
    assert render("{{ 'soon' | format_as_date }}|{{ nothing | format_as_date }}") == "soon|"


# -- number_in_words --------------------------------------------------------------------------


def test_number_in_words_with_the_localisation_key_of_the_manual():
    # manual L18329: invoice.total with number_in_words and a localisation key.
    context = {"invoice": {"total": Decimal("1234.56")}}
    assert render("{{ invoice.total | number_in_words: 'ru' }}", context, language="en") == (
        "одна тысяча двести тридцать четыре рубля 56 копеек")
    assert render("{{ invoice.total | number_in_words: 'en' }}", context) == (
        "one thousand two hundred thirty-four rubles and 56 kopecks")


def test_number_in_words_defaults_to_the_render_language_and_currency():
    context = {"invoice": {"total": Decimal("2.00")}}
    assert render("{{ invoice.total | number_in_words }}", context, language="ru",
                  currency="UAH") == "две гривны 00 копеек"
    assert render("{{ invoice.total | number_in_words }}", context, language="en",
                  currency="USD") == "two US dollars and 00 cents"


def test_number_in_words_after_arithmetic():
    assert render("{{ 1 | plus: 0.5 | number_in_words }}") == "один рубль 50 копеек"


# -- standard Liquid --------------------------------------------------------------------------


def test_standard_filters_and_tags_stay_available():
    context = {"name": "office", "items": [3, 1, 2]}
    source = ("{{ name | upcase }} {{ 2 | plus: 3 }} {{ items | sort | join: ',' }} "
              "{% assign n = items | size %}{{ n }} {% case name %}{% when 'office' %}O"
              "{% endcase %}")
    assert render(source, context) == "OFFICE 5 1,2,3 3 O"


def test_now_and_today_come_from_the_platform_clock(frozen_clock):
    # The frozen clock says 22.11.2026 09:00 UTC, 12:00 in Moscow.
    frozen_clock.set(datetime(2027, 1, 5, 9, 0, tzinfo=UTC))
    assert render("{{ 'now' | date: '%d.%m.%Y' }} {{ today | format_as_date }}") == (
        "05.01.2027 05.01.2027")


def test_manual_payment_model_condition_liq3():
    source = ("{% if subscription.payment_model == 'postpay' %}Оплатите счёт"
              "{% else %}Пополните баланс{% endif %}")
    assert render(source, {"subscription": {"payment_model": "postpay"}}) == "Оплатите счёт"
    assert render(source, {"subscription": {"payment_model": "prepay"}}) == "Пополните баланс"


def test_manual_priority_resource_total_ex31():
    source = ("{{ subscription['resources'][0].included | plus: "
              "subscription['resources'][0].additional }}")
    context = {"subscription": {"resources": [{"included": 10, "additional": 5}]}}
    assert render(source, context) == "15"


def test_manual_first_subscription_bracket_access_ex29():
    source = ("{% if subscription['notification_settings']['Office 365 Enterprise E1']"
              "['first_subscription'] %} Some text {% else %} Another text {% endif %}")
    first = {"notification_settings": {"Office 365 Enterprise E1": {"first_subscription": True}}}
    later = {"notification_settings": {"Office 365 Enterprise E1": {"first_subscription": False}}}
    assert render(source, {"subscription": first}).strip() == "Some text"
    assert render(source, {"subscription": later}).strip() == "Another text"


def test_manual_payment_subscriptions_loop_ex11():
    source = ("{% for subscription in payment.subscriptions %}"
              "<tr><td>{{ subscription.id }}</td><td>{{ subscription.name }}</td>"
              "<td>{{ subscription.status }}</td></tr>{% endfor %}")
    context = {"payment": {"subscriptions": [{"id": 12, "name": "Azure", "status": "active"},
                                             {"id": 15, "name": "O365 E3", "status": "blocked"}]}}
    assert render(source, context, html=True) == (
        "<tr><td>12</td><td>Azure</td><td>active</td></tr>"
        "<tr><td>15</td><td>O365 E3</td><td>blocked</td></tr>")


def test_manual_expiry_notice_ex5():
    source = ('подписка "{{subscription.id}} - {{subscription.name}}" истекает через '
              "{{subscription.days_left}} дней")
    context = {"subscription": {"id": 1001, "name": "Office 365 E1", "days_left": 10}}
    assert render(source, context) == 'подписка "1001 - Office 365 E1" истекает через 10 дней'


def test_undefined_placeholders_render_as_nothing():
    # 09 A-23: `{{N}}` in the manual's example is no placeholder; it prints nothing.
    assert render("через {{N}} дней, {{ subscription.nope.deeper }}.",
                  {"subscription": {}}) == "через  дней, ."


def test_html_bodies_escape_values_and_plain_text_does_not():
    context = {"account": {"name": "<b>Acme & Co</b>"}}
    assert render("<p>{{ account.name }}</p>", context, html=True) == (
        "<p>&lt;b&gt;Acme &amp; Co&lt;/b&gt;</p>")
    assert render("{{ account.name }}", context) == "<b>Acme & Co</b>"


# -- joined values (LIQ-4) ------------------------------------------------------------------


def test_joined_value_prints_its_joined_form_and_keeps_its_fields():
    plan = joined({"id": 7, "name": "Office 365", "status": "active"}, "7;Office 365;active")
    context = {"subscription": {"plan": plan}}
    assert render("{{ subscription.plan }}|{{ subscription.plan.name }}|"
                  "{{ subscription.plan.id | plus: 1 }}", context) == (
        "7;Office 365;active|Office 365|8")
    assert render("{% if subscription.plan == '7;Office 365;active' %}same{% endif %}",
                  context) == "same"
    assert render("{{ subscription.plan | upcase }}", context) == "7;OFFICE 365;ACTIVE"


def test_joined_value_is_escaped_in_html_and_survives_the_context_copy():
    value = joined({"name": "A&B"}, "A&B;1")
    copied = plain_data({"x": value})["x"]
    assert isinstance(copied, JoinedDict)
    assert (str(copied), copied["name"]) == ("A&B;1", "A&B")
    assert render("{{ x }}", {"x": value}, html=True) == "A&amp;B;1"


# -- sandbox -----------------------------------------------------------------------------------


@pytest.mark.parametrize("source", [
    "{{ x }}",
    "{{ x.__class__ }}",
    "{{ x.__init__.__globals__ }}",
    "{{ x.__dict__ }}",
    "{{ x.password }}",
    "{{ x.token }}",
    "{{ x.__class__.__mro__ }}",
    "{% for k in x.__dict__ %}{{ k }}{% endfor %}",
    "{{ x | map: '__class__' | join }}",
    "{{ x | map: 'password' | join }}",
])
def test_python_internals_are_unreachable(source, caplog, monkeypatch):
    from portal.notifications import liquid_env

    # Alembic's fileConfig (run by the app fixture) disables loggers that existed before it.
    monkeypatch.setattr(liquid_env.log, "disabled", False)
    with caplog.at_level(logging.WARNING, logger=liquid_env.log.name):
        text = render(source, {"x": Secretive()})
    for secret in ("hunter2", "s3cr3t", "Secretive", "class", "function", "module", "0x"):
        assert secret not in text
    assert "Secretive value dropped" in caplog.text


@pytest.mark.parametrize("source", [
    "{{ x }}", "{{ x.__class__ }}", "{{ x.__init__.__globals__ }}", "{{ x.password }}",
])
def test_objects_render_as_nothing(source):
    assert render(source, {"x": Secretive()}) == ""


@pytest.mark.parametrize("source", [
    "{{ d.__class__ }}", "{{ d.items }}", "{{ d.keys }}", "{{ d.__len__ }}",
    "{{ s.upper }}", "{{ s.__class__.__name__ }}", "{{ n.real }}", "{{ day.year }}",
])
def test_methods_of_plain_values_are_unreachable(source):
    context = {"d": {"a": 1}, "s": "text", "n": 5, "day": date(2026, 1, 1)}
    assert render(source, context) == ""


def test_render_context_refuses_attributes_even_without_the_copy():
    # Defence in depth: an object slipped past plain_data still shows no attributes.
    template = parse_template("[{{ x.password }}{{ x.__class__ }}{{ d._private }}]")
    context = NotificationRenderContext(
        template, globals=template.make_globals({"x": Secretive(), "d": {"_private": 1}}))
    buffer = context.get_buffer()
    template.render_with_context(context, buffer)
    assert buffer.getvalue() == "[]"


def test_partials_are_not_available():
    with pytest.raises(TemplateRenderError):
        render("{% include 'secrets' %}")
    with pytest.raises(TemplateRenderError):
        render("{% render 'secrets' %}")


# -- limits ------------------------------------------------------------------------------------


def test_endless_loop_is_stopped():
    with pytest.raises(TemplateRenderError) as caught:
        render("{% for i in (1..100000000) %}{{ i }}{% endfor %}")
    assert "loop too many times" in str(caught.value)


def test_nested_loops_count_together():
    with pytest.raises(TemplateRenderError, match="loop too many times"):
        render("{% for i in (1..1000) %}{% for j in (1..1000) %}{% endfor %}{% endfor %}")


def test_huge_output_is_stopped():
    with pytest.raises(TemplateRenderError) as caught:
        render("{% for i in (1..100000) %}xxxxxxxxxxxxxxxx{% endfor %}")
    assert "too much text" in str(caught.value)


def test_output_just_under_the_limit_renders():
    assert len(render("{% for i in (1..50000) %}xxxxxxxxxxxxxxxx{% endfor %}")) == 800_000


def test_growing_variables_are_stopped():
    source = ("{% assign s = 'xxxxxxxxxx' %}{% for i in (1..30) %}"
              "{% assign s = s | append: s %}{% endfor %}")
    with pytest.raises(TemplateRenderError, match="too much data"):
        render(source)


def test_huge_range_in_a_filter_is_refused_quickly():
    started = time.monotonic()
    with pytest.raises(TemplateRenderError):
        render("{{ (1..100000000) | join: ',' }}")
    assert time.monotonic() - started < 2


def test_a_broken_template_raises_a_render_error():
    with pytest.raises(TemplateRenderError, match="syntax error"):
        render("{% if %}")
    with pytest.raises(TemplateRenderError, match="unknown filter"):
        render("{{ 1 | no_such_filter }}")


def test_templates_are_parsed_once():
    assert parse_template("{{ a }} cached") is parse_template("{{ a }} cached")
    assert parse_template("{{ a }} cached", html=True) is not parse_template("{{ a }} cached")


# -- validation on save -----------------------------------------------------------------------

SCHEMA = {
    "owner": {"first_name": None, "email": None},
    "payment": {"document_number": None, "total": None,
                "subscriptions": [{"id": None, "name": None, "status": None}]},
    "subscription": {
        "id": None, "name": None, "payment_model": None, "days_left": None,
        "plan": {"id": None, "name": None},
        "resources": [{"name": None, "included": None, "additional": None}],
        "notification_settings": {"*": {"first_subscription": None, "login": None}},
        "responsible_managers_by_product_id": {"*": {"*": {"email": None, "name": None}}},
    },
    "account": {"custom_attributes": ...},
    "application": {"subscription_attribute_*": None},
    "invoice": {"total": None},
}


def problems(source, schema=SCHEMA):
    return [(p.kind, p.subject, p.line) for p in validate_template(source, schema)]


def test_unknown_placeholder_is_named_with_its_line():
    found = validate_template("Hello\n{{ subscription.foo }}", SCHEMA)
    assert [(p.kind, p.subject, p.line, p.column) for p in found] == [
        (UNKNOWN_PLACEHOLDER, "subscription.foo", 2, 4)]
    assert str(found[0]) == "Line 2: unknown placeholder subscription.foo"


def test_unknown_root_and_fields_of_scalars_are_reported():
    assert problems("{{ nobody }} {{ subscription.name.length }} {{ owner.email.x }}") == [
        (UNKNOWN_PLACEHOLDER, "nobody", 1),
        (UNKNOWN_PLACEHOLDER, "subscription.name.length", 1),
        (UNKNOWN_PLACEHOLDER, "owner.email.x", 1),
    ]


def test_manual_templates_are_valid():
    for source in [
        'Платёж "{{payment.document_number}}" на сумму {{payment.total | format_as_currency}}',
        "{% if subscription.payment_model == 'postpay' %}a{% else %}b{% endif %}",
        "{{ subscription['resources'][0].included | plus: "
        "subscription['resources'][0].additional }}",
        "{% if subscription['notification_settings']['Office 365 Enterprise E1']"
        "['first_subscription'] %}x{% endif %}",
        "{% for subscription in payment.subscriptions %}{{ subscription.id }} "
        "{{ subscription.status }}{% endfor %}",
        "{% for resource in subscription.resources %}{{ resource.name }} "
        "{{ forloop.index }}{% endfor %}",
        "{{ subscription.responsible_managers_by_product_id[34650]['sales']['email'] }}",
        "{{ invoice.total | number_in_words: 'ru' }} {{ 'now' | date: '%Y' }} {{ today }}",
        "{{ subscription.plan }} {{ subscription.plan.name }} {{ subscription.resources.size }}",
        "{{ application.subscription_attribute_first_password }}",
        "{{ account.custom_attributes.inn }}",
    ]:
        assert problems(source) == [], source


def test_bracket_access_is_checked_like_dots():
    assert problems("{{ subscription['notification_settings']['x']['password'] }}") == [
        (UNKNOWN_PLACEHOLDER, "subscription.notification_settings.x.password", 1)]
    assert problems("{{ subscription['No such'] }}") == [
        (UNKNOWN_PLACEHOLDER, "subscription['No such']", 1)]


def test_loop_variables_take_the_item_schema():
    source = ("{% for r in subscription.resources %}{{ r.name }} {{ r.colour }}"
              "{% endfor %}\n{{ r.name }}")
    assert problems(source) == [(UNKNOWN_PLACEHOLDER, "r.colour", 1),
                                (UNKNOWN_PLACEHOLDER, "r", 2)]


def test_assigned_and_captured_names_are_known():
    source = ("{% assign first = subscription.resources.first %}{{ first.name }}{{ first.x }}"
              "{% capture greeting %}Hi {{ owner.first_name }}{% endcapture %}{{ greeting }}"
              "{% assign total = invoice.total | plus: 1 %}{{ total }}")
    assert problems(source) == [(UNKNOWN_PLACEHOLDER, "first.x", 1)]


def test_dynamic_keys_check_their_own_path():
    assert problems("{{ subscription.resources[subscription.idx].name }}") == [
        (UNKNOWN_PLACEHOLDER, "subscription.idx", 1)]


def test_unknown_filter_is_reported():
    found = validate_template("{{ payment.total | format_as_money }}", SCHEMA)
    assert [(p.kind, p.subject, p.line) for p in found] == [
        (UNKNOWN_FILTER, "format_as_money", 1)]
    assert str(found[0]) == "Line 1: unknown filter format_as_money"


def test_syntax_error_names_its_line():
    found = validate_template("line one\n{% if subscription.id %}\n{% endfor %}", SCHEMA)
    assert [(p.kind, p.line) for p in found] == [(SYNTAX, 3)]
    assert str(found[0]).startswith("Line 3: syntax error:")


def test_require_valid_template_lists_every_problem():
    with pytest.raises(TemplateInvalid) as caught:
        require_valid_template("{{ a }}{{ b | nope }}", SCHEMA, field="body")
    assert [p.subject for p in caught.value.problems] == ["a", "b", "nope"]
    assert caught.value.field == "body"
    assert "unknown placeholder a" in str(caught.value)
    require_valid_template("{{ owner.email }}", SCHEMA)


def test_union_of_schemas_allows_what_any_linked_event_offers():
    merged = union_schemas({"payment": {"id": None}, "rows": [{"a": None}]},
                           {"payment": {"total": None}, "rows": [{"b": None}]})
    assert merged == {"payment": {"id": None, "total": None}, "rows": [{"a": None, "b": None}]}
    assert problems("{{ payment.id }}{{ payment.total }}", merged) == []
