"""Joined lists (09 LIQ-4: `order.charges` prints joined but loops as a list) and dates in the
placeholder builder's "DD.MM.YYYY HH:MM" form (EX-32)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portal.notifications.liquid_env import (JoinedList, joined, joined_list, plain_data,
                                             render_template)


@pytest.fixture(autouse=True)
def request_context(app):
    with app.test_request_context():
        yield


def render(source, context, *, html=False):
    return render_template(source, context, language="ru", currency="RUB", html=html)


CHARGES = joined_list([joined({"name": "Office <E1>", "amount": Decimal("10.00")}, "Office <E1>"),
                       {"name": "Setup", "amount": Decimal("5.00")}], "Office <E1>. Setup")


@pytest.mark.parametrize(("source", "text"), [
    ("{{ order.charges }}", "Office <E1>. Setup"),
    ("{% for c in order.charges %}[{{ c.name }}={{ c.amount }}]{% endfor %}",
     "[Office <E1>=10.00][Setup=5.00]"),
    ("{{ order.charges.size }}|{{ order.charges[1].name }}|{{ order.charges.first.name }}|"
     "{{ order.charges.last.name }}", "2|Setup|Office <E1>|Setup"),
    ("{{ order.charges | map: 'name' | join: ', ' }}", "Office <E1>, Setup"),
    ("{% for i in (1..order.charges.size) %}{{ order.charges[forloop.index0].amount }};"
     "{% endfor %}", "10.00;5.00;"),  # the installed templates' older form still works
    ("{% if order.charges.size > 0 %}yes{% endif %}", "yes"),
])
def test_a_joined_list_prints_joined_and_walks_as_a_list(source, text):
    assert render(source, {"order": {"charges": CHARGES}}) == text


def test_a_joined_list_is_escaped_in_html_and_survives_the_context_copy():
    copied = plain_data({"order": {"charges": CHARGES}})["order"]["charges"]
    assert isinstance(copied, JoinedList) and not isinstance(copied, list)
    assert str(copied) == "Office <E1>. Setup" and copied[1] == {"name": "Setup",
                                                                 "amount": Decimal("5.00")}
    assert render("{{ order.charges }}", {"order": {"charges": CHARGES}}, html=True) == (
        "Office &lt;E1&gt;. Setup")
    # An object inside it that is no plain data is still dropped by the copy.
    sneaky = joined_list([object()], "x")
    assert list(plain_data(sneaky)) == [None]


def test_an_empty_joined_list_prints_nothing_and_has_size_zero():
    empty = joined_list([], "")
    assert render("[{{ x }}]{{ x.size }}{% for c in x %}!{% endfor %}", {"x": empty}) == "[]0"


@pytest.mark.parametrize(("value", "style", "text"), [
    ("22.11.2026 12:05", None, "22.11.2026"),
    ("22.11.2026 12:05", "long", "22 ноября 2026\u202fг."),
    ("22.11.2026 12:05:30", None, "22.11.2026"),
    ("22.11.2026", None, "22.11.2026"),
])
def test_format_as_date_reads_the_builders_instant_form(value, style, text):
    source = "{{ d | format_as_date: 'long' }}" if style else "{{ d | format_as_date }}"
    assert render(source, {"d": value}) == text
