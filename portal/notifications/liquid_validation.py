"""Check a notification template on save: syntax, placeholders, filters (09 LIQ-1..LIQ-3, A-23).

Rendering is lenient (an unknown name prints nothing); saving is strict, so the author learns
about `{{ subscription.foo }}` in the editor rather than from an empty e-mail.

Schema format (built per event type by the placeholder catalogue, 09 §2.9):

    {"subscription": {"id": None,                      # None: a scalar
                      "plan": {"id": None, "name": None},  # a dict: an object with fields
                      "resources": [{"name": None}],   # [schema]: an array of such items
                      "notification_settings": {"*": {"first_subscription": None}},
                      "custom_attributes": ...},       # Ellipsis: anything below is allowed
     "application": {"subscription_attribute_*": None}}

"*" stands for any key (product names, ids); a key ending in "*" is a prefix. Objects may be
printed too (09 LIQ-4 joined forms), so `{{ subscription.plan }}` is fine. Inside
`{% for r in subscription.resources %}` the name `r` gets the item schema; `forloop`,
`tablerowloop`, `now`, `today` and names made by assign/capture/increment are always known.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from liquid import RenderContext
from liquid.builtin.expressions import FilteredExpression, LoopExpression, Path
from liquid.builtin.expressions.path import RE_PROPERTY
from liquid.builtin.tags.assign_tag import AssignNode
from liquid.builtin.tags.capture_tag import CaptureNode
from liquid.builtin.tags.for_tag import ForNode
from liquid.builtin.tags.tablerow_tag import TablerowNode
from liquid.exceptions import LiquidError
from liquid.span import Span

from portal.core.errors import DomainError
from portal.notifications.liquid_env import ENVIRONMENT

ANY = ...  # schema value: no checks below this point
WILDCARD = "*"

# Names a template may always use: loop helpers and the clock built-ins.
ALWAYS_KNOWN = {"forloop": ANY, "tablerowloop": ANY, "now": None, "today": None}

SYNTAX, UNKNOWN_PLACEHOLDER, UNKNOWN_FILTER = "syntax", "unknown_placeholder", "unknown_filter"


@dataclass(frozen=True)
class TemplateProblem:
    """One thing wrong with a template, with where it is (1-based line and column)."""

    kind: str  # SYNTAX, UNKNOWN_PLACEHOLDER or UNKNOWN_FILTER
    message: object = field(compare=False)  # lazily translated
    subject: str | None = None  # the placeholder path or filter name
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        return str(self.message)


class TemplateInvalid(DomainError):
    """Refusal to save a template; `problems` lists everything found."""

    code = "template_invalid"

    def __init__(self, problems: list[TemplateProblem], *, field: str | None = None):
        super().__init__(problems[0].message, field=field)
        self.problems = problems

    def __str__(self) -> str:
        return "; ".join(str(problem) for problem in self.problems)


def require_valid_template(source: str, schema: Mapping, *, field: str | None = None) -> None:
    """Raise TemplateInvalid unless validate_template finds nothing."""
    problems = validate_template(source, schema)
    if problems:
        raise TemplateInvalid(problems, field=field)


def validate_template(source: str, schema: Mapping) -> list[TemplateProblem]:
    """Return the problems of a template against a placeholder schema (empty list: valid)."""
    try:
        template = ENVIRONMENT.from_string(source or "")
    except LiquidError as error:
        return [_syntax_problem(error)]
    checker = _Checker(source or "", schema, RenderContext(template))
    for node in template.nodes:
        checker.visit(node)
    for name, spans in template.analyze(include_partials=False).filters.items():
        if name not in ENVIRONMENT.filters:
            for span in spans:
                checker.report(UNKNOWN_FILTER, name, span.index)
    return checker.problems


def union_schemas(*schemas: Mapping) -> dict:
    """Merge schemas: a template linked to several handlers may use any of them (09 A-27)."""
    merged: dict = {}
    for schema in schemas:
        merged = _merge(merged, schema)
    return merged


def _merge(left, right):
    if left is ANY or right is ANY:
        return ANY
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        merged = dict(left)
        for key, value in right.items():
            merged[key] = _merge(merged[key], value) if key in merged else value
        return merged
    if isinstance(left, list) and isinstance(right, list):
        return [_merge(_item(left), _item(right))]
    if left is None:
        return right
    if right is None:
        return left
    # An object in one event and an array in another: accept both shapes.
    return ANY


def _item(array: list):
    return array[0] if array else ANY


def _syntax_problem(error: LiquidError) -> TemplateProblem:
    context = error.context()
    detail = str(error.message)
    if context is None:
        return TemplateProblem(SYNTAX, _l("Syntax error: %(error)s", error=detail))
    line, column = context[0], context[1] + 1
    return TemplateProblem(SYNTAX, _l("Line %(line)s: syntax error: %(error)s", line=line,
                                      error=detail), line=line, column=column)


class _Unknown(Exception):
    """A path left the schema at segment `index`."""

    def __init__(self, index: int):
        super().__init__(index)
        self.index = index


class _Checker:
    def __init__(self, source: str, schema: Mapping, static_context: RenderContext):
        self.source = source
        self.schema = schema
        self.static_context = static_context
        self.locals: dict[str, object] = {}  # assign / capture: the whole template sees them
        self.blocks: list[dict[str, object]] = []  # loop variables, innermost last
        self.problems: list[TemplateProblem] = []
        self._seen: set[tuple] = set()

    # -- nodes ----------------------------------------------------------------------------
    def visit(self, node) -> None:
        if isinstance(node, ForNode):
            self.check_expression(node.expression)
            self.within({node.expression.identifier: self.element(node.expression),
                         "forloop": ANY}, node.block)
            if node.default:
                self.visit(node.default)
            return
        if isinstance(node, TablerowNode):
            self.check_expression(node.expression)
            self.within({node.expression.identifier: self.element(node.expression),
                         "tablerowloop": ANY}, node.block)
            return
        for expression in node.expressions():
            self.check_expression(expression)
        if isinstance(node, AssignNode):
            self.locals[str(node.name)] = self.assigned(node.expression)
        elif isinstance(node, CaptureNode):
            self.locals[str(node.name)] = None
        else:
            for name in node.template_scope():  # increment / decrement counters
                self.locals[str(name)] = None
        block_names = {str(name): ANY for name in node.block_scope()}
        children = node.children(self.static_context, include_partials=False)
        if block_names:
            self.blocks.append(block_names)
        try:
            for child in children:
                self.visit(child)
        finally:
            if block_names:
                self.blocks.pop()

    def within(self, names: dict, block) -> None:
        self.blocks.append(names)
        try:
            self.visit(block)
        finally:
            self.blocks.pop()

    # -- expressions ----------------------------------------------------------------------
    def check_expression(self, expression) -> None:
        if isinstance(expression, Path):
            self.check_path(expression)
        names = {str(name): ANY for name in expression.scope()}  # lambda parameters
        if names:
            self.blocks.append(names)
        try:
            for child in expression.children():
                self.check_expression(child)
        finally:
            if names:
                self.blocks.pop()

    def check_path(self, path: Path) -> None:
        try:
            self.resolve(path)
        except _Unknown as unknown:
            self.report(UNKNOWN_PLACEHOLDER, _display(path.path[: unknown.index + 1]),
                        path.token.start_index)

    def resolve(self, path: Path):
        """Return the schema at the end of the path, or raise _Unknown."""
        root = path.path[0]
        if not isinstance(root, str):
            raise _Unknown(0)
        schema = self.lookup(root)
        for index, segment in enumerate(path.path[1:], start=1):
            schema = _step(schema, segment, index)
        return schema

    def lookup(self, name: str):
        for names in reversed(self.blocks):
            if name in names:
                return names[name]
        if name in self.locals:
            return self.locals[name]
        if name in self.schema:
            return self.schema[name]
        if name in ALWAYS_KNOWN:
            return ALWAYS_KNOWN[name]
        raise _Unknown(0)

    def element(self, loop: LoopExpression):
        """The schema of one item of a loop's iterable."""
        iterable = loop.iterable
        if not isinstance(iterable, Path):
            return None  # a range: numbers
        try:
            schema = self.resolve(iterable)
        except _Unknown:
            return ANY  # already reported
        if isinstance(schema, list):
            return _item(schema)
        if schema is None:
            return None  # a string loops once over itself
        return ANY  # a mapping loops over [key, value] pairs

    def assigned(self, expression):
        """`{% assign r = subscription.resources[0] %}` keeps the schema; filters lose it."""
        if isinstance(expression, FilteredExpression) and not expression.filters:
            expression = expression.left
        if isinstance(expression, Path):
            try:
                return self.resolve(expression)
            except _Unknown:
                return ANY
        return ANY

    # -- reporting ------------------------------------------------------------------------
    def report(self, kind: str, subject: str, index: int) -> None:
        line, column = Span("", index).line_col(self.source) if index >= 0 else (None, None)
        key = (kind, subject, line)
        if key in self._seen:
            return
        self._seen.add(key)
        column = column + 1 if column is not None else None
        if kind == UNKNOWN_FILTER:
            message = _l("Line %(line)s: unknown filter %(name)s", line=line, name=subject)
        else:
            message = _l("Line %(line)s: unknown placeholder %(name)s", line=line, name=subject)
        self.problems.append(TemplateProblem(kind, message, subject, line, column))


def _step(schema, segment, index: int):
    """Follow one path segment through the schema."""
    if schema is ANY:
        return ANY
    if isinstance(segment, Path):
        # A key computed at render time: any item of an array or of an open map.
        if isinstance(schema, list):
            return _item(schema)
        if isinstance(schema, Mapping):
            return schema.get(WILDCARD, ANY)
        raise _Unknown(index)
    if segment == "size":
        return None
    if isinstance(schema, list):
        if isinstance(segment, int) or segment in ("first", "last"):
            return _item(schema)
        raise _Unknown(index)
    if isinstance(schema, Mapping):
        if segment in schema:
            return schema[segment]
        if isinstance(segment, int) and str(segment) in schema:
            return schema[str(segment)]
        if isinstance(segment, str):
            for key, value in schema.items():
                if key != WILDCARD and key.endswith(WILDCARD) and segment.startswith(key[:-1]):
                    return value
        if WILDCARD in schema:
            return schema[WILDCARD]
        if segment == "first":
            return ANY
        raise _Unknown(index)
    raise _Unknown(index)  # a scalar has no fields


def _display(segments: Iterable) -> str:
    """Write a path as the author would: subscription['notification_settings'].x[0]."""
    parts: list[str] = []
    for position, segment in enumerate(segments):
        if isinstance(segment, Path):
            parts.append(f"[{segment}]")
        elif isinstance(segment, int):
            parts.append(f"[{segment}]")
        elif position == 0:
            parts.append(str(segment))
        elif RE_PROPERTY.fullmatch(segment):
            parts.append(f".{segment}")
        else:
            parts.append(f"[{segment!r}]")
    return "".join(parts)
