"""The handler rule language (Правило обработки события): parse, validate, evaluate (09 §4.7).

A hand-written tokenizer and recursive-descent parser build a small tree; nothing in a rule is
ever run as Python (RULE-10). Grammar, loosest binding first (RULE-9, A-08):

    rule       := [or_expr [","]]            one trailing comma is ignored (A-08)
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := comparison ("and" comparison)*
    comparison := sum [operator sum]         > < >= <= = == != include? exclude?
    sum        := percent (("+" | "-") percent)*
    percent    := unary ("%" unary)*         X % N is N percent of X (RULE-2, A-09)
    unary      := "-" unary | primary
    primary    := number | "string" | true | false | placeholder | "(" or_expr ")"

Keywords are case-insensitive (RULE-5); placeholders are dotted names ("account.balance.was").
At run time a missing value or a type mismatch makes its comparison false (RULE-10).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l

from portal.core.errors import DomainError

MAX_RULE_LENGTH = 2000
MAX_NESTING = 50

COMPARISON_OPERATORS = (">=", "<=", "!=", "==", "=", ">", "<")
MEMBERSHIP_OPERATORS = ("include?", "exclude?")
_KEYWORDS = {"and", "or", "true", "false"}

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_NUMERIC_TEXT = re.compile(r"\s*-?[0-9]+(?:\.[0-9]+)?\s*")
_DATE_FORMATS = ("%d.%m.%Y", "%d.%m.%y", "%Y-%m-%d")  # A-08 "DD.MM.YYYY"; ДД.ММ.ГГ; ISO
_HUNDRED = Decimal(100)


class RuleSyntaxError(DomainError):
    """A rule that cannot be saved; `position` is the 0-based offending character."""

    code = "rule_syntax"

    def __init__(self, message, position: int):
        super().__init__(message, field="rule")
        self.position = position

    @property
    def column(self) -> int:
        return self.position + 1


# ---------------------------------------------------------------------------------------------
# Tokens


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # number, string, name, keyword, operator, comma, end
    text: str
    position: int
    value: Any = None


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, length = 0, len(text)
    while i < length:
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if char == '"':
            i = _read_string(text, i, tokens)
            continue
        if char in "0123456789":
            match = _NUMBER.match(text, i)
            end = match.end()
            if end < length and (text[end].isalnum() or text[end] in "_."):
                raise RuleSyntaxError(_l("Malformed number at column %(column)s.",
                                         column=i + 1), i)
            tokens.append(_Token("number", match.group(), i, Decimal(match.group())))
            i = end
            continue
        match = _NAME.match(text, i)
        if match:
            i = _read_word(text, match, tokens)
            continue
        two = text[i:i + 2]
        if two in (">=", "<=", "!=", "=="):
            tokens.append(_Token("operator", two, i))
            i += 2
            continue
        if char in "=<>+-%()":
            tokens.append(_Token("operator", char, i))
            i += 1
            continue
        if char == ",":
            tokens.append(_Token("comma", char, i))
            i += 1
            continue
        raise RuleSyntaxError(_l("Unexpected character “%(char)s” at column %(column)s.",
                                 char=char, column=i + 1), i)
    tokens.append(_Token("end", "", length))
    return tokens


def _read_string(text: str, start: int, tokens: list[_Token]) -> int:
    chars: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in '"\\':
            chars.append(text[i + 1])
            i += 2
            continue
        if char == '"':
            tokens.append(_Token("string", text[start:i + 1], start, "".join(chars)))
            return i + 1
        chars.append(char)
        i += 1
    raise RuleSyntaxError(_l("The string starting at column %(column)s has no closing quote.",
                             column=start + 1), start)


def _read_word(text: str, match: re.Match, tokens: list[_Token]) -> int:
    word, start, end = match.group(), match.start(), match.end()
    lowered = word.lower()
    if end < len(text) and text[end] == "?":
        if lowered not in ("include", "exclude"):
            raise RuleSyntaxError(_l("Unknown operator “%(word)s” at column %(column)s.",
                                     word=word + "?", column=start + 1), start)
        tokens.append(_Token("keyword", lowered + "?", start))
        return end + 1
    if lowered in _KEYWORDS:
        tokens.append(_Token("keyword", lowered, start))
    else:
        tokens.append(_Token("name", word, start))
    return end


# ---------------------------------------------------------------------------------------------
# Tree



class _Missing:
    """An absent or unusable value: any comparison that meets it is false (RULE-10)."""

    def __repr__(self) -> str:
        return "MISSING"


_MISSING = _Missing()

# What a node can stand for: a value (number, string, arithmetic), a condition (comparison,
# and/or), or either (a placeholder or true/false, which may be a boolean test).
_VALUE, _CONDITION, _EITHER = "value", "condition", "either"


class _Node:
    kind = _VALUE
    position = 0

    def value(self, values: Mapping[str, Any]) -> Any:
        return self.test(values)

    def test(self, values: Mapping[str, Any]) -> bool:
        return _is_true(self.value(values))


@dataclass(frozen=True, slots=True)
class _Literal(_Node):
    constant: Any
    position: int

    @property
    def kind(self) -> str:
        return _EITHER if isinstance(self.constant, bool) else _VALUE

    def value(self, values):
        return self.constant


@dataclass(frozen=True, slots=True)
class _Placeholder(_Node):
    name: str
    position: int
    kind = _EITHER

    def value(self, values):
        found = values.get(self.name)
        return _MISSING if found is None else found


@dataclass(frozen=True, slots=True)
class _Negate(_Node):
    operand: _Node
    position: int

    def value(self, values):
        number = _as_number(self.operand.value(values))
        return _MISSING if number is None else -number


@dataclass(frozen=True, slots=True)
class _Arithmetic(_Node):
    first: _Node
    steps: tuple[tuple[str, _Node], ...]  # ("+" | "-" | "%", operand), applied left to right
    position: int

    def value(self, values):
        result = self.first.value(values)
        for operator, operand in self.steps:
            result = _calculate(operator, result, operand.value(values))
            if result is _MISSING:
                break
        return result


@dataclass(frozen=True, slots=True)
class _Comparison(_Node):
    operator: str
    left: _Node
    right: _Node
    position: int
    kind = _CONDITION

    def value(self, values):
        return self.test(values)

    def test(self, values):
        left, right = self.left.value(values), self.right.value(values)
        if left is _MISSING or right is _MISSING:
            return False  # RULE-10, for != too
        try:
            return _compare(self.operator, left, right)
        except (TypeError, ValueError, ArithmeticError):
            return False


@dataclass(frozen=True, slots=True)
class _AllOf(_Node):
    operands: tuple[_Node, ...]
    position: int
    kind = _CONDITION

    def value(self, values):
        return self.test(values)

    def test(self, values):
        return all(operand.test(values) for operand in self.operands)


@dataclass(frozen=True, slots=True)
class _AnyOf(_Node):
    operands: tuple[_Node, ...]
    position: int
    kind = _CONDITION

    def value(self, values):
        return self.test(values)

    def test(self, values):
        return any(operand.test(values) for operand in self.operands)


# ---------------------------------------------------------------------------------------------
# Run-time values


def _plain(value: Any) -> Any:
    """Bring a context value to one of bool, Decimal, str, date, tuple; else leave it."""
    if isinstance(value, bool | str | Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):  # tolerated from callers; str() avoids binary noise
        return Decimal(str(value))
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(value)
    return value


def _as_number(value: Any) -> Decimal | None:
    value = _plain(value)
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str) and _NUMERIC_TEXT.fullmatch(value):
        return Decimal(value.strip())
    return None


def _as_date(text: str) -> date | None:
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), pattern).date()  # noqa: DTZ007 - a date only
        except ValueError:
            continue
    return None


def _as_bool(text: str) -> bool | None:
    lowered = text.strip().lower()
    return {"true": True, "false": False}.get(lowered)


def _is_true(value: Any) -> bool:
    """A placeholder or literal standing alone as a condition: true only for true / "true"."""
    if isinstance(value, str):
        return _as_bool(value) is True
    return value is True


def _calculate(operator: str, left: Any, right: Any) -> Any:
    if left is _MISSING or right is _MISSING:
        return _MISSING
    left, right = _plain(left), _plain(right)
    try:
        if isinstance(left, date) and operator in "+-":
            return _date_arithmetic(operator, left, right)
        if isinstance(right, date) and operator == "+":
            return _date_arithmetic(operator, right, left)
        a, b = _as_number(left), _as_number(right)
        if a is None or b is None:
            return _MISSING
        if operator == "+":
            return a + b
        if operator == "-":
            return a - b
        return a * b / _HUNDRED  # RULE-2: percent of, never modulo
    except (ArithmeticError, OverflowError, ValueError):
        return _MISSING


def _date_arithmetic(operator: str, day: date, other: Any) -> Any:
    """date ± days → date; date − date → days between them."""
    if isinstance(other, date):
        return Decimal((day - other).days) if operator == "-" else _MISSING
    days = _as_number(other)
    if days is None or days != days.to_integral_value():
        return _MISSING
    delta = timedelta(days=int(days))
    return day + delta if operator == "+" else day - delta


def _coerce_pair(left: Any, right: Any) -> tuple[Any, Any] | None:
    """Bring two scalars to one comparable type, or None when they cannot be compared."""
    left, right = _plain(left), _plain(right)
    for a, b, swap in ((left, right, False), (right, left, True)):
        pair = None
        if type(a) is type(b) and isinstance(a, bool | Decimal | str):
            pair = (a, b)
        elif isinstance(a, date) and isinstance(b, date):
            pair = (a, b)
        elif isinstance(a, Decimal) and isinstance(b, str):
            number = _as_number(b)
            pair = None if number is None else (a, number)
        elif isinstance(a, bool) and isinstance(b, str):
            flag = _as_bool(b)  # RULE-6, A-08: booleans equal "true"/"false"
            pair = None if flag is None else (a, flag)
        elif isinstance(a, date) and isinstance(b, str):
            day = _as_date(b)
            pair = None if day is None else (a, day)
        if pair is not None:
            return (pair[1], pair[0]) if swap else pair
    return None


def _equal(left: Any, right: Any) -> bool | None:
    pair = _coerce_pair(left, right)
    return None if pair is None else pair[0] == pair[1]


_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    ">": lambda a, b: a > b, "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b,
}


def _compare(operator: str, left: Any, right: Any) -> bool:
    if operator in MEMBERSHIP_OPERATORS:
        items = _plain(left)
        if not isinstance(items, tuple):
            return False
        contains = any(item is not None and _equal(item, right) for item in items)
        return contains if operator == "include?" else not contains
    pair = _coerce_pair(left, right)
    if pair is None:
        return False
    a, b = pair
    if operator in ("=", "=="):
        return a == b
    if operator == "!=":
        return a != b
    if isinstance(a, bool):
        return False  # booleans have no order
    return _ORDERINGS[operator](a, b)


# ---------------------------------------------------------------------------------------------
# Parser


class _Parser:
    def __init__(self, text: str, placeholders: Collection[str] | None):
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0
        self.placeholders = placeholders
        self.read: set[str] = set()

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def unexpected(self, token: _Token) -> RuleSyntaxError:
        if token.kind == "end":
            return RuleSyntaxError(_l("The rule ends too early at column %(column)s.",
                                      column=token.position + 1), token.position)
        shown = token.text if len(token.text) <= 30 else token.text[:29] + "…"
        return RuleSyntaxError(_l("Unexpected “%(token)s” at column %(column)s.",
                                  token=shown, column=token.position + 1), token.position)

    def parse(self) -> _Node:
        node = self.condition(self.or_expr())
        if self.token.kind == "comma" and self.tokens[self.index + 1].kind == "end":
            self.advance()  # `payment.days_left = 5,` as printed in the manual
        if self.token.kind != "end":
            raise self.unexpected(self.token)
        return node

    def or_expr(self) -> _Node:
        first = self.and_expr()
        operands = [first]
        while self.token.kind == "keyword" and self.token.text == "or":
            self.advance()
            operands.append(self.condition(self.and_expr()))
        if len(operands) == 1:
            return first
        self.condition(first)
        return _AnyOf(tuple(operands), first.position)

    def and_expr(self) -> _Node:
        first = self.comparison()
        operands = [first]
        while self.token.kind == "keyword" and self.token.text == "and":
            self.advance()
            operands.append(self.condition(self.comparison()))
        if len(operands) == 1:
            return first
        self.condition(first)
        return _AllOf(tuple(operands), first.position)

    def comparison(self) -> _Node:
        left = self.sum()
        token = self.token
        if not self.is_comparison(token):
            return left
        self.advance()
        right = self.sum()
        self.operand(left)
        self.operand(right)
        if self.is_comparison(self.token):
            raise RuleSyntaxError(
                _l("Comparisons cannot be chained (column %(column)s); join them with “and”.",
                   column=self.token.position + 1), self.token.position)
        return _Comparison(token.text, left, right, left.position)

    @staticmethod
    def is_comparison(token: _Token) -> bool:
        return ((token.kind == "operator" and token.text in COMPARISON_OPERATORS)
                or (token.kind == "keyword" and token.text in MEMBERSHIP_OPERATORS))

    def sum(self) -> _Node:
        return self.chain(self.percent, ("+", "-"))

    def percent(self) -> _Node:
        return self.chain(self.unary, ("%",))

    def chain(self, operand: Callable[[], _Node], operators: tuple[str, ...]) -> _Node:
        first = operand()
        steps = []
        while self.token.kind == "operator" and self.token.text in operators:
            operator = self.advance().text
            steps.append((operator, self.operand(operand())))
        if not steps:
            return first
        return _Arithmetic(self.operand(first), tuple(steps), first.position)

    def unary(self) -> _Node:
        token = self.token
        if token.kind == "operator" and token.text == "-":
            self.advance()
            self.enter(token)
            node = _Negate(self.operand(self.unary()), token.position)
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> _Node:
        token = self.advance()
        if token.kind in ("number", "string"):
            return _Literal(token.value, token.position)
        if token.kind == "keyword" and token.text in ("true", "false"):
            return _Literal(token.text == "true", token.position)
        if token.kind == "name":
            if self.placeholders is not None and token.text not in self.placeholders:
                raise RuleSyntaxError(
                    _l("Unknown placeholder “%(name)s” at column %(column)s.",
                       name=token.text, column=token.position + 1), token.position)
            self.read.add(token.text)
            return _Placeholder(token.text, token.position)
        if token.kind == "operator" and token.text == "(":
            self.enter(token)
            node = self.or_expr()
            if self.token.kind != "operator" or self.token.text != ")":
                if self.token.kind == "end":
                    raise RuleSyntaxError(
                        _l("The parenthesis opened at column %(column)s is not closed.",
                           column=token.position + 1), token.position)
                raise self.unexpected(self.token)
            self.advance()
            self.depth -= 1
            return node
        raise self.unexpected(token)

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise RuleSyntaxError(
                _l("The rule is nested deeper than %(limit)s levels (column %(column)s).",
                   limit=MAX_NESTING, column=token.position + 1), token.position)

    def condition(self, node: _Node) -> _Node:
        """Refuse a bare number or sum where a yes/no test belongs."""
        if node.kind == _VALUE:
            raise RuleSyntaxError(
                _l("A condition is expected at column %(column)s, e.g. “billing_day = 1”.",
                   column=node.position + 1), node.position)
        return node

    def operand(self, node: _Node) -> _Node:
        """Refuse a comparison or and/or where a value belongs."""
        if node.kind == _CONDITION:
            raise RuleSyntaxError(
                _l("A value is expected at column %(column)s, not a condition.",
                   column=node.position + 1), node.position)
        return node


# ---------------------------------------------------------------------------------------------
# Public API


@dataclass(frozen=True, slots=True)
class Rule:
    """A parsed handler rule; an empty rule always holds."""

    text: str
    placeholders: frozenset[str]
    _root: _Node | None

    @property
    def is_empty(self) -> bool:
        return self._root is None

    def evaluate(self, values: Mapping[str, Any]) -> bool:
        """Test the rule against placeholder values keyed by dotted name; never raises."""
        if self._root is None:
            return True
        return bool(self._root.test(values))


def parse_rule(text: str | None, *, placeholders: Collection[str] | None = None) -> Rule:
    """Parse a handler's rule (09 §4.7) or raise RuleSyntaxError with the offending position.

    With `placeholders` (e.g. `rule_placeholders_for(event_type)`), a name outside it is refused.
    """
    text = text or ""
    if len(text) > MAX_RULE_LENGTH:
        raise RuleSyntaxError(_l("The rule is longer than %(limit)s characters.",
                                 limit=MAX_RULE_LENGTH), MAX_RULE_LENGTH)
    if not text.strip():
        return Rule(text, frozenset(), None)
    parser = _Parser(text, placeholders)
    root = parser.parse()
    return Rule(text, frozenset(parser.read), root)
