"""A client's display name from its client type's template (08 R-CT-2)."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"%(first_name|middle_name|last_name|primary_name)", re.IGNORECASE)


def render_client_name(template: str, *, first_name: str = "", middle_name: str = "",
                       last_name: str = "", primary_name: str = "") -> str:
    """Fill %first_name, %middle_name, %last_name, %primary_name (any case); collapse spaces."""
    parts = {"first_name": first_name, "middle_name": middle_name, "last_name": last_name,
             "primary_name": primary_name}
    text = _TOKEN.sub(lambda m: (parts[m.group(1).lower()] or "").strip(), template or "")
    return re.sub(r"\s+", " ", text).strip()
