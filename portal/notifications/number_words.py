"""Numbers and money amounts in words, Russian and English (09 LIQ-2 `number_in_words`).

Pure: no Flask, no database. Shapes, as a payment invoice writes the total:

- ru: "одна тысяча двести тридцать четыре рубля 56 копеек" — whole units in words, agreeing in
  gender and number with the currency noun; the minor units as two digits with the agreeing noun.
- en: "one thousand two hundred thirty-four rubles and 56 kopecks" — the same layout, American
  number style (no "and" inside the number), "and" before the minor units.
- a currency we have no nouns for: "… 56/100" (ru) / "… and 56/100" (en), the cheque style.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

MASCULINE, FEMININE, NEUTER = "m", "f", "n"

_RU_UNITS = {
    MASCULINE: ["", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"],
    FEMININE: ["", "одна", "две", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"],
    NEUTER: ["", "одно", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"],
}
_RU_TEENS = ["десять", "одиннадцать", "двенадцать", "тринадцать", "четырнадцать",
             "пятнадцать", "шестнадцать", "семнадцать", "восемнадцать", "девятнадцать"]
_RU_TENS = ["", "", "двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят", "семьдесят",
            "восемьдесят", "девяносто"]
_RU_HUNDREDS = ["", "сто", "двести", "триста", "четыреста", "пятьсот", "шестьсот", "семьсот",
                "восемьсот", "девятьсот"]
# (one, few, many) forms and the gender the numeral before them takes, smallest scale first.
_RU_SCALES = [
    (("тысяча", "тысячи", "тысяч"), FEMININE),
    (("миллион", "миллиона", "миллионов"), MASCULINE),
    (("миллиард", "миллиарда", "миллиардов"), MASCULINE),
    (("триллион", "триллиона", "триллионов"), MASCULINE),
    (("квадриллион", "квадриллиона", "квадриллионов"), MASCULINE),
]

_EN_UNITS = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
             "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
             "seventeen", "eighteen", "nineteen"]
_EN_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_EN_SCALES = ["thousand", "million", "billion", "trillion", "quadrillion"]

# Largest whole number we spell: below one quintillion (the scales above).
LIMIT = 10 ** (3 * (len(_RU_SCALES) + 1))


class CurrencyNouns(NamedTuple):
    """How one currency reads in words: major and minor unit nouns per language."""

    ru_major: tuple[str, str, str]  # one, few, many
    ru_major_gender: str
    ru_minor: tuple[str, str, str]
    en_major: tuple[str, str]  # singular, plural
    en_minor: tuple[str, str]


# The currencies of core.money.CURRENCIES.
CURRENCY_NOUNS: dict[str, CurrencyNouns] = {
    "RUB": CurrencyNouns(("рубль", "рубля", "рублей"), MASCULINE,
                         ("копейка", "копейки", "копеек"),
                         ("ruble", "rubles"), ("kopeck", "kopecks")),
    "USD": CurrencyNouns(("доллар США", "доллара США", "долларов США"), MASCULINE,
                         ("цент", "цента", "центов"),
                         ("US dollar", "US dollars"), ("cent", "cents")),
    "EUR": CurrencyNouns(("евро", "евро", "евро"), MASCULINE,
                         ("цент", "цента", "центов"),
                         ("euro", "euros"), ("cent", "cents")),
    "KZT": CurrencyNouns(("тенге", "тенге", "тенге"), MASCULINE,
                         ("тиын", "тиына", "тиынов"),
                         ("tenge", "tenge"), ("tiyn", "tiyn")),
    "BYN": CurrencyNouns(("белорусский рубль", "белорусских рубля", "белорусских рублей"),
                         MASCULINE, ("копейка", "копейки", "копеек"),
                         ("Belarusian ruble", "Belarusian rubles"), ("kopeck", "kopecks")),
    "UAH": CurrencyNouns(("гривна", "гривны", "гривен"), FEMININE,
                         ("копейка", "копейки", "копеек"),
                         ("hryvnia", "hryvnias"), ("kopiyka", "kopiykas")),
    "GBP": CurrencyNouns(("фунт стерлингов", "фунта стерлингов", "фунтов стерлингов"),
                         MASCULINE, ("пенс", "пенса", "пенсов"),
                         ("pound sterling", "pounds sterling"), ("penny", "pence")),
}


def words_language(language: str | None) -> str:
    """Map a locale or localisation key ("ru", "ru_RU", "en-US") to "ru" or "en"."""
    return "ru" if str(language or "").lower().startswith("ru") else "en"


def plural_ru(number: int, forms: tuple[str, str, str]) -> str:
    """Pick the Russian noun form for a count: 1 рубль, 2 рубля, 5 рублей, 11 рублей, 21 рубль."""
    number = abs(number)
    if 11 <= number % 100 <= 14:
        return forms[2]
    last = number % 10
    if last == 1:
        return forms[0]
    if 2 <= last <= 4:
        return forms[1]
    return forms[2]


def integer_in_words(number: int, *, language: str = "ru", gender: str = MASCULINE) -> str:
    """Spell a whole number; in Russian the units agree with the gender of the counted noun."""
    if abs(number) >= LIMIT:
        raise ValueError(f"{number} is too large to spell")
    if words_language(language) == "ru":
        words = _ru_integer(abs(number), gender)
        return f"минус {words}" if number < 0 else words
    words = _en_integer(abs(number))
    return f"minus {words}" if number < 0 else words


def amount_in_words(amount, *, language: str = "ru", currency: str | None = "RUB") -> str:
    """Spell a money amount as an invoice writes it (shapes in the module docstring).

    The amount is rounded half-up to kopecks first (04b M-1); a negative amount reads "минус …".
    """
    value = _to_decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    negative = value < 0
    value = abs(value)
    whole = int(value)
    minor = int((value - whole) * 100)
    language = words_language(language)
    nouns = CURRENCY_NOUNS.get(str(currency or "").upper())

    if language == "ru":
        gender = nouns.ru_major_gender if nouns else MASCULINE
        text = integer_in_words(whole, language="ru", gender=gender)
        if nouns:
            text += (f" {plural_ru(whole, nouns.ru_major)}"
                     f" {minor:02d} {plural_ru(minor, nouns.ru_minor)}")
        else:
            text += f" {minor:02d}/100"
        prefix = "минус "
    else:
        text = integer_in_words(whole, language="en")
        if nouns:
            text += (f" {nouns.en_major[0 if whole == 1 else 1]}"
                     f" and {minor:02d} {nouns.en_minor[0 if minor == 1 else 1]}")
        else:
            text += f" and {minor:02d}/100"
        prefix = "minus "
    return prefix + text if negative and (whole or minor) else text


def _to_decimal(amount) -> Decimal:
    if isinstance(amount, Decimal):
        return amount
    if isinstance(amount, float):
        # Liquid arithmetic (plus:, times:) may hand us a float; its repr is the intended value.
        return Decimal(repr(amount))
    return Decimal(str(amount).strip())


def _triads(number: int) -> list[int]:
    """Split into groups of three digits, least significant first."""
    groups = []
    while number:
        number, group = divmod(number, 1000)
        groups.append(group)
    return groups


def _ru_triad(number: int, gender: str) -> list[str]:
    hundreds, rest = divmod(number, 100)
    words = [_RU_HUNDREDS[hundreds]] if hundreds else []
    if 10 <= rest <= 19:
        words.append(_RU_TEENS[rest - 10])
    else:
        tens, units = divmod(rest, 10)
        if tens:
            words.append(_RU_TENS[tens])
        if units:
            words.append(_RU_UNITS[gender][units])
    return words


def _ru_integer(number: int, gender: str) -> str:
    if number == 0:
        return "ноль"
    words: list[str] = []
    for scale, group in reversed(list(enumerate(_triads(number)))):
        if not group:
            continue
        if scale == 0:
            words += _ru_triad(group, gender)
        else:
            forms, scale_gender = _RU_SCALES[scale - 1]
            words += _ru_triad(group, scale_gender)
            words.append(plural_ru(group, forms))
    return " ".join(words)


def _en_triad(number: int) -> list[str]:
    hundreds, rest = divmod(number, 100)
    words = [_EN_UNITS[hundreds], "hundred"] if hundreds else []
    if rest < 20:
        if rest:
            words.append(_EN_UNITS[rest])
    else:
        tens, units = divmod(rest, 10)
        words.append(f"{_EN_TENS[tens]}-{_EN_UNITS[units]}" if units else _EN_TENS[tens])
    return words


def _en_integer(number: int) -> str:
    if number == 0:
        return "zero"
    words: list[str] = []
    for scale, group in reversed(list(enumerate(_triads(number)))):
        if not group:
            continue
        words += _en_triad(group)
        if scale:
            words.append(_EN_SCALES[scale - 1])
    return " ".join(words)
