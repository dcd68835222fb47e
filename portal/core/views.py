"""Health check and the language switch."""

from urllib.parse import urlparse

from flask import Blueprint, abort, redirect, request, session, url_for
from flask_login import current_user
from sqlalchemy import text

from portal.extensions import db

bp = Blueprint("core", __name__)


@bp.get("/healthz")
def healthz():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


@bp.post("/language/<code>")
def set_language(code):
    """Switch the panel language (01 R-UI-5); a member's choice is remembered on the account."""
    if code not in ("ru", "en"):
        abort(404)
    session["lang"] = code
    member = getattr(current_user, "member", None)
    if member is not None and not current_user.impersonating:
        member.language = code
        db.session.commit()
    target = request.form.get("next") or request.referrer or url_for("operator.home")
    parsed = urlparse(target)
    if parsed.netloc not in ("", request.host) or target.startswith("//"):
        target = url_for("operator.home")
    return redirect(target)
