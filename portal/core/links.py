"""Links to another area's pages that may not be registered (an app built with fewer
blueprints, or a page of a later issue): the bare text instead of a BuildError."""

from __future__ import annotations

from flask import current_app, url_for
from markupsafe import Markup, escape
from werkzeug.routing import BuildError


def endpoint_url(endpoint: str, **values) -> str | None:
    """The URL of `endpoint`, or None when that page does not exist."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def link_to(endpoint: str, text, **values) -> Markup:
    """An <a> to `endpoint`, or the escaped text when that page does not exist."""
    url = endpoint_url(endpoint, **values)
    if url is None:
        return escape(text)
    return Markup('<a href="{}">{}</a>').format(url, text)
