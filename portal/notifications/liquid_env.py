"""The sandboxed Liquid engine for notification templates (09 LIQ-1..LIQ-4).

One shared environment, python-liquid underneath, so the manual's syntax works unchanged. A
template reaches only the plain data it is given: the context is copied into dicts, lists and
scalars before rendering, and paths never read Python attributes or names starting with "_".
Resource limits stop runaway loops and output; any failure surfaces as `TemplateRenderError`.

    render_template(source, context, language="ru", currency="RUB", html=True)

Custom filters (LIQ-2): `format_as_currency`, `format_as_date`, `number_in_words`. The render
language and currency live on the render context (not in the template's namespace) and the
filters read them from there.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from enum import Enum
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from flask_babel import lazy_gettext as _l
from liquid import Environment, Mode, RenderContext, Undefined, is_undefined
from liquid.builtin.filters.misc import date as liquid_date
from liquid.exceptions import (
    ContextDepthError,
    FilterArgumentError,
    LiquidError,
    LiquidSyntaxError,
    LocalNamespaceLimitError,
    LoopIterationLimitError,
    OutputStreamLimitError,
)
from liquid.filter import with_context, with_environment
from liquid.template import BoundTemplate
from liquid.utils import ReadOnlyChainMap

from portal.core.clock import clock
from portal.core.errors import DomainError
from portal.core.money import round_money
from portal.notifications.number_words import amount_in_words

log = logging.getLogger(__name__)

LOOP_ITERATION_LIMIT = 200_000
OUTPUT_LIMIT_BYTES = 1_000_000
LOCAL_NAMESPACE_LIMIT = 200_000  # sys.getsizeof units, summed over assigned values
CONTEXT_DEPTH_LIMIT = 30
_DATA_DEPTH_LIMIT = 32  # deeper context data (or a cycle) is cut off as nil

DATE_STYLES = ("short", "medium", "long", "full")


class TemplateRenderError(DomainError):
    """A notification template could not be rendered (limits, a bad value, a syntax error)."""

    code = "template_render_error"

    def __init__(self, message, *, detail: str | None = None):
        super().__init__(message)
        self.detail = detail


# -- joined objects (LIQ-4) -----------------------------------------------------------------


class JoinedDict(dict):
    """An object printed as its documented joined form while its fields stay reachable.

    `{{ subscription.plan }}` → "7;Office 365;…" but `{{ subscription.plan.name }}` →
    "Office 365". Liquid prints objects with str() and compares them through __liquid__.
    """

    __slots__ = ("text",)

    def __init__(self, mapping: Mapping, text: str):
        super().__init__(mapping)
        self.text = str(text)

    def __str__(self) -> str:
        return self.text

    def __liquid__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"JoinedDict({dict.__repr__(self)}, {self.text!r})"


def joined(mapping: Mapping, text: str) -> JoinedDict:
    """Return a value that prints as text but keeps the mapping's keys (09 LIQ-4)."""
    return JoinedDict(mapping, text)


class JoinedList(tuple):  # noqa: SLOT001 - the instance keeps its text in __dict__
    """A list printed as its documented joined form (09 LIQ-4: `order.charges`).

    `{% for %}` walks the items; `.size`, `[0]`, `first` and the array filters work; and
    `{{ order.charges }}` prints the joined text. Deliberately not a `list`: python-liquid
    prints a list by concatenating its items (liquid/stringify.py) and never calls __str__.
    """

    def __new__(cls, items: Iterable, text: str):
        instance = super().__new__(cls, items)
        instance.text = str(text)
        return instance

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"JoinedList({list(self)!r}, {self.text!r})"


def joined_list(items: Iterable, text: str) -> JoinedList:
    """Return a list that iterates as its items but prints as text (09 LIQ-4)."""
    return JoinedList(items, text)


# -- context data ---------------------------------------------------------------------------


def plain_data(value, *, _depth: int = 0):
    """Copy context data into what a template may see: dicts, lists and scalars only.

    Anything else (a model, a function, a module) becomes nil, so no template can print its
    repr or walk into it; the builder of the context gets a log line to fix it.
    """
    if _depth > _DATA_DEPTH_LIMIT:
        return None
    if value is None or isinstance(value, (str, bool, int, Decimal, float, date, time)):
        # datetime is a date; str subclasses include markupsafe.Markup (pre-escaped HTML).
        return value
    if isinstance(value, Enum):
        return plain_data(value.value, _depth=_depth + 1)
    if isinstance(value, Mapping):
        copied = {_plain_key(key): plain_data(item, _depth=_depth + 1)
                  for key, item in value.items()}
        return JoinedDict(copied, value.text) if isinstance(value, JoinedDict) else copied
    if isinstance(value, JoinedList):
        return JoinedList((plain_data(item, _depth=_depth + 1) for item in value), value.text)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain_data(item, _depth=_depth + 1) for item in value]
    log.warning("notification template context: %s value dropped", type(value).__name__)
    return None


def _plain_key(key):
    return key if isinstance(key, (str, int)) and not isinstance(key, bool) else str(key)


# -- render context ---------------------------------------------------------------------------


class _Clock(Mapping):
    """Liquid's built-in `now` and `today`, read from the platform clock (DECISIONS D6)."""

    def __getitem__(self, key):
        if key == "now":
            return clock.local_now()
        if key == "today":
            return clock.today()
        raise KeyError(key)

    def __iter__(self):
        return iter(("now", "today"))

    def __len__(self) -> int:
        return 2


_CLOCK = _Clock()


class NotificationRenderContext(RenderContext):
    """A render context that carries language and currency and refuses Python internals."""

    __slots__ = ("currency", "language", "zone")

    def __init__(self, template, *, language: str = "ru", currency: str | None = None,
                 zone: ZoneInfo | None = None, **kwargs):
        super().__init__(template, **kwargs)
        parent = kwargs.get("parent_context")
        # Copies (block scopes) keep the parent's settings.
        self.language = getattr(parent, "language", language)
        self.currency = getattr(parent, "currency", currency)
        self.zone = getattr(parent, "zone", zone)
        self.scope = ReadOnlyChainMap(self.locals, self.globals, _CLOCK, self.counters)

    def get_item(self, obj, key):
        # Only mapping keys and sequence indexes: never an attribute, never "_private".
        if isinstance(key, str) and key.startswith("_"):
            raise KeyError(key)
        if not isinstance(obj, (Mapping, Sequence)):
            raise TypeError(f"{type(obj).__name__} has no fields")
        return super().get_item(obj, key)


class NotificationTemplate(BoundTemplate):
    context_class = NotificationRenderContext


# -- filters ----------------------------------------------------------------------------------


def _number(value) -> Decimal | None:
    if isinstance(value, bool) or value is None or is_undefined(value):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, (int, str)):
        try:
            number = Decimal(str(value).strip().replace(",", "."))
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _unchanged(value):
    """What a filter returns for a value it cannot read: nothing for nil, else the value."""
    return "" if value is None or is_undefined(value) else value


def _locale(language: str | None) -> Locale:
    try:
        return Locale.parse(str(language or "ru").replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return Locale.parse("en")


def _argument(value) -> str | None:
    if value is None or is_undefined(value):
        return None
    text = str(value).strip()
    return text or None


@with_context
def format_as_currency(value, currency=None, *, context):
    """Amount with the currency sign in the render language: "1 234,56 ₽", "$1,234.56".

    The currency is the render currency (the reseller's) unless the template names one:
    `{{ x | format_as_currency: 'USD' }}`.
    """
    amount = _number(value)
    if amount is None:
        return _unchanged(value)
    code = (_argument(currency) or context.currency or "").upper()
    locale = _locale(context.language)
    if not code:
        return format_decimal(round_money(amount), format="#,##0.00", locale=locale)
    return format_currency(round_money(amount, code), code, locale=locale)


def _as_date(value, zone: ZoneInfo | None) -> date | None:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(zone or clock.zone())
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        return _as_date(parsed, zone)
    # The manual's own formats: ДД.ММ.ГГГГ, dd/mm/yyyy, and "DD.MM.YYYY HH:MM" in which the
    # placeholder builder prints instants such as order.created_at (09 EX-32).
    for pattern in ("%d.%m.%Y", "%d/%m/%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).date()  # noqa: DTZ007 - a bare date
        except ValueError:
            continue
    return None


@with_context
def format_as_date(value, style=None, *, context):
    """Date in the render language: short "22.11.2026" (ru) / "11/22/26" (en); with 'long'
    "22 ноября 2026 г." / "November 22, 2026". Also 'medium', 'full' or a CLDR pattern."""
    day = _as_date(value, context.zone)
    if day is None:
        return _unchanged(value)
    style = _argument(style) or "short"
    locale = _locale(context.language)
    if style == "short" and locale.language == "ru":
        style = "dd.MM.yyyy"  # the manual's ДД.ММ.ГГГГ, whatever CLDR says
    try:
        return format_date(day, style, locale=locale)
    except (ValueError, TypeError) as error:
        raise FilterArgumentError(f"format_as_date: bad format {style!r}", token=None) from error


@with_context
def number_in_words(value, language=None, *, context):
    """Amount in words with the currency nouns: `{{ invoice.total | number_in_words: 'ru' }}`.

    The argument is the localisation key ("ru", "en"); without it the render language.
    """
    amount = _number(value)
    if amount is None:
        return _unchanged(value)
    try:
        return amount_in_words(amount, language=_argument(language) or context.language,
                               currency=context.currency)
    except ValueError as error:
        raise FilterArgumentError(f"number_in_words: {error}", token=None) from error


@with_environment
def date_filter(value, fmt, *, environment):
    """Liquid's `date`, with "now"/"today" read from the platform clock."""
    if isinstance(value, str) and value in ("now", "today"):
        value = clock.local_now()
    return liquid_date(value, fmt, environment=environment)


def _guard_ranges(func):
    """Refuse huge ranges before a filter walks them: `(1..100000000) | join` takes minutes."""

    @functools.wraps(func)
    def guarded(value, *args, **kwargs):
        for item in (value, *args):
            if isinstance(item, range) and len(item) > LOOP_ITERATION_LIMIT:
                raise LoopIterationLimitError("range too large", token=None)
        return func(value, *args, **kwargs)

    return guarded


# -- environment -----------------------------------------------------------------------------


class NotificationEnvironment(Environment):
    """Liquid for notification templates: strict parsing, lenient undefined, hard limits."""

    loop_iteration_limit = LOOP_ITERATION_LIMIT
    output_stream_limit = OUTPUT_LIMIT_BYTES
    local_namespace_limit = LOCAL_NAMESPACE_LIMIT
    context_depth_limit = CONTEXT_DEPTH_LIMIT
    template_class = NotificationTemplate

    def __init__(self, *, autoescape: bool = False):
        # STRICT: syntax errors and limits raise (LAX would swallow a limit and send half a
        # message); undefined names still print as nothing (09 A-23).
        super().__init__(tolerance=Mode.STRICT, undefined=Undefined, strict_filters=True,
                         autoescape=autoescape)

    def setup_tags_and_filters(self, *, extra: bool = False) -> None:
        super().setup_tags_and_filters(extra=extra)
        # No partials: a template is one self-contained text with no loader behind it.
        for tag in ("include", "render"):
            self.tags.pop(tag, None)
        self.filters["date"] = date_filter
        self.filters.update(format_as_currency=format_as_currency,
                            format_as_date=format_as_date, number_in_words=number_in_words)
        self.filters = {name: _guard_ranges(func) for name, func in self.filters.items()}


ENVIRONMENT = NotificationEnvironment()
HTML_ENVIRONMENT = NotificationEnvironment(autoescape=True)


def environment_for(*, html: bool) -> NotificationEnvironment:
    return HTML_ENVIRONMENT if html else ENVIRONMENT


@functools.lru_cache(maxsize=512)
def parse_template(source: str, *, html: bool = False) -> NotificationTemplate:
    """Parse once per distinct source; raises liquid's LiquidSyntaxError."""
    return environment_for(html=html).from_string(source)


def render_template(source: str, context: Mapping, *, language: str, currency: str | None,
                    html: bool = False, zone: ZoneInfo | None = None) -> str:
    """Render a notification template with the placeholder context (09 LIQ-1..LIQ-4).

    html=True escapes every value (e-mail and client-panel bodies); subjects, addresses and
    SMS are plain text. zone: the time zone aware datetimes are shown in (default: the
    platform's). Raises TemplateRenderError.
    """
    try:
        template = parse_template(source, html=html)
    except LiquidError as error:
        raise TemplateRenderError(_l("The template has a syntax error: %(error)s",
                                     error=_liquid_message(error)),
                                  detail=str(error)) from error
    render_context = NotificationRenderContext(
        template, globals=template.make_globals(plain_data(dict(context or {}))),
        language=language, currency=currency, zone=zone)
    buffer = render_context.get_buffer()
    try:
        template.render_with_context(render_context, buffer)
    except LiquidError as error:
        raise TemplateRenderError(_render_message(error), detail=str(error)) from error
    except (ArithmeticError, ValueError, TypeError, RecursionError) as error:
        # A filter met a value it cannot handle (huge numbers, odd types).
        raise TemplateRenderError(_l("The template could not be rendered: %(error)s",
                                     error=str(error)), detail=repr(error)) from error
    return buffer.getvalue()


def _liquid_message(error: LiquidError) -> str:
    return str(error.message)


def _render_message(error: LiquidError):
    if isinstance(error, LoopIterationLimitError):
        return _l("The template repeats a loop too many times (the limit is %(limit)s "
                  "iterations).", limit=LOOP_ITERATION_LIMIT)
    if isinstance(error, OutputStreamLimitError):
        return _l("The template produces too much text (the limit is %(limit)s bytes).",
                  limit=OUTPUT_LIMIT_BYTES)
    if isinstance(error, LocalNamespaceLimitError):
        return _l("The template stores too much data in its variables.")
    if isinstance(error, ContextDepthError):
        return _l("The template nests too deeply.")
    if isinstance(error, LiquidSyntaxError):
        return _l("The template has a syntax error: %(error)s", error=_liquid_message(error))
    return _l("The template could not be rendered: %(error)s", error=_liquid_message(error))
