"""Render a full page or, for an htmx request, only its partial (STYLE §8)."""

from flask import render_template, request


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def render_partial(template: str, **context) -> str:
    return render_template(template, **context)


def render_page_or_partial(page: str, partial: str, **context) -> str:
    boosted = request.headers.get("HX-Boosted") == "true"
    if is_htmx() and not boosted:
        return render_template(partial, **context)
    return render_template(page, **context)
