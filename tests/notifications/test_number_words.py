"""Numbers and amounts in words (09 LIQ-2 number_in_words): Russian grammar and English."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portal.notifications.number_words import (
    FEMININE,
    MASCULINE,
    NEUTER,
    amount_in_words,
    integer_in_words,
    plural_ru,
    words_language,
)


@pytest.mark.parametrize(("number", "words"), [
    (0, "ноль"),
    (1, "один"),
    (2, "два"),
    (5, "пять"),
    (10, "десять"),
    (11, "одиннадцать"),
    (12, "двенадцать"),
    (13, "тринадцать"),
    (14, "четырнадцать"),
    (15, "пятнадцать"),
    (16, "шестнадцать"),
    (17, "семнадцать"),
    (18, "восемнадцать"),
    (19, "девятнадцать"),
    (20, "двадцать"),
    (21, "двадцать один"),
    (40, "сорок"),
    (99, "девяносто девять"),
    (100, "сто"),
    (101, "сто один"),
    (111, "сто одиннадцать"),
    (200, "двести"),
    (999, "девятьсот девяносто девять"),
    (1000, "одна тысяча"),
    (1001, "одна тысяча один"),
    (2000, "две тысячи"),
    (4000, "четыре тысячи"),
    (5000, "пять тысяч"),
    (11000, "одиннадцать тысяч"),
    (21000, "двадцать одна тысяча"),
    (22000, "двадцать две тысячи"),
    (1234, "одна тысяча двести тридцать четыре"),
    (100_000, "сто тысяч"),
    (1_000_000, "один миллион"),
    (2_000_000, "два миллиона"),
    (5_000_000, "пять миллионов"),
    (1_001_000, "один миллион одна тысяча"),
    (2_000_000_000, "два миллиарда"),
    (1_000_000_000_000, "один триллион"),
    (-7, "минус семь"),
])
def test_russian_integers(number, words):
    assert integer_in_words(number, language="ru") == words


@pytest.mark.parametrize(("number", "gender", "words"), [
    (1, FEMININE, "одна"),
    (2, FEMININE, "две"),
    (21, FEMININE, "двадцать одна"),
    (1, NEUTER, "одно"),
    (2, NEUTER, "два"),
    (1, MASCULINE, "один"),
    (1001, FEMININE, "одна тысяча одна"),
    (2002, MASCULINE, "две тысячи два"),
])
def test_russian_units_agree_with_the_noun_gender(number, gender, words):
    assert integer_in_words(number, language="ru", gender=gender) == words


@pytest.mark.parametrize(("count", "form"), [
    (0, "рублей"), (1, "рубль"), (2, "рубля"), (4, "рубля"), (5, "рублей"), (11, "рублей"),
    (12, "рублей"), (14, "рублей"), (21, "рубль"), (22, "рубля"), (25, "рублей"),
    (101, "рубль"), (111, "рублей"), (1000, "рублей"),
])
def test_russian_plural_forms(count, form):
    assert plural_ru(count, ("рубль", "рубля", "рублей")) == form


@pytest.mark.parametrize(("amount", "words"), [
    ("1234.56", "одна тысяча двести тридцать четыре рубля 56 копеек"),
    ("0", "ноль рублей 00 копеек"),
    ("0.01", "ноль рублей 01 копейка"),
    ("1.00", "один рубль 00 копеек"),
    ("2.02", "два рубля 02 копейки"),
    ("5.05", "пять рублей 05 копеек"),
    ("11.11", "одиннадцать рублей 11 копеек"),
    ("21.21", "двадцать один рубль 21 копейка"),
    ("101", "сто один рубль 00 копеек"),
    ("1000", "одна тысяча рублей 00 копеек"),
    ("2000", "две тысячи рублей 00 копеек"),
    ("1000000", "один миллион рублей 00 копеек"),
    ("2000000000", "два миллиарда рублей 00 копеек"),
    ("12.345", "двенадцать рублей 35 копеек"),  # half-up to kopecks (04b M-1)
    ("-3.50", "минус три рубля 50 копеек"),
])
def test_russian_rubles_and_kopecks(amount, words):
    assert amount_in_words(Decimal(amount), language="ru", currency="RUB") == words


@pytest.mark.parametrize(("amount", "currency", "words"), [
    ("1.00", "UAH", "одна гривна 00 копеек"),
    ("2.00", "UAH", "две гривны 00 копеек"),
    ("5.00", "UAH", "пять гривен 00 копеек"),
    ("1.01", "USD", "один доллар США 01 цент"),
    ("3.00", "EUR", "три евро 00 центов"),
    ("2.00", "BYN", "два белорусских рубля 00 копеек"),
    ("1234.56", "CHF", "одна тысяча двести тридцать четыре 56/100"),
    ("7", None, "семь 00/100"),
])
def test_russian_other_currencies(amount, currency, words):
    assert amount_in_words(Decimal(amount), language="ru", currency=currency) == words


@pytest.mark.parametrize(("number", "words"), [
    (0, "zero"),
    (1, "one"),
    (13, "thirteen"),
    (21, "twenty-one"),
    (40, "forty"),
    (101, "one hundred one"),
    (1000, "one thousand"),
    (1234, "one thousand two hundred thirty-four"),
    (1_000_000, "one million"),
    (2_000_000_000, "two billion"),
    (1_002_003, "one million two thousand three"),
])
def test_english_integers(number, words):
    assert integer_in_words(number, language="en") == words


@pytest.mark.parametrize(("amount", "currency", "words"), [
    ("1234.56", "USD", "one thousand two hundred thirty-four US dollars and 56 cents"),
    ("1.01", "USD", "one US dollar and 01 cent"),
    ("1234.56", "RUB", "one thousand two hundred thirty-four rubles and 56 kopecks"),
    ("2.00", "GBP", "two pounds sterling and 00 pence"),
    ("1234.56", None, "one thousand two hundred thirty-four and 56/100"),
])
def test_english_amounts(amount, currency, words):
    assert amount_in_words(Decimal(amount), language="en", currency=currency) == words


def test_amount_accepts_strings_ints_and_floats_from_liquid_arithmetic():
    assert amount_in_words("10.5", language="ru", currency="RUB") == "десять рублей 50 копеек"
    assert amount_in_words(3, language="ru", currency="RUB") == "три рубля 00 копеек"
    assert amount_in_words(0.1 + 0.2, language="en", currency="USD") == (
        "zero US dollars and 30 cents")


@pytest.mark.parametrize(("key", "language"), [
    ("ru", "ru"), ("ru_RU", "ru"), ("RU-ru", "ru"), ("en", "en"), ("en_US", "en"), ("de", "en"),
    (None, "en"),
])
def test_localisation_keys(key, language):
    assert words_language(key) == language


def test_numbers_beyond_the_largest_scale_are_refused():
    with pytest.raises(ValueError, match="too large"):
        integer_in_words(10**18, language="ru")
