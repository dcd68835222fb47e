"""Demo data: a root operator and two levels of resellers with their own branding and staff."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw
from sqlalchemy import select

from portal.accounts.models import Role, StaffMember
from portal.accounts.services import create_staff_member
from portal.cli import ensure_root
from portal.extensions import db
from portal.tenancy.models import Reseller
from portal.tenancy.services.branding import set_branding_image
from portal.tenancy.services.resellers import create_reseller, update_reseller

PASSWORD = "Demo-pass-2026"
ROLES = (Role.SYSTEM_ADMIN, Role.PRODUCT_MANAGER, Role.SALES_MANAGER, Role.MARKETING_SPECIALIST)


def _logo(letter: str, color: str) -> bytes:
    image = Image.new("RGB", (96, 96), color)
    draw = ImageDraw.Draw(image)
    draw.rectangle((8, 8, 87, 87), outline="white", width=4)
    draw.text((36, 30), letter, fill="white", font_size=36)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _staff(reseller: Reseller, prefix: str) -> list[str]:
    lines = []
    for role in ROLES:
        email = f"{role.value.split('_')[0]}@{prefix}.example.com"
        if db.session.scalar(select(StaffMember.id).where(StaffMember.email == email)) is None:
            create_staff_member(reseller, email=email, role=role, password=PASSWORD,
                                name=f"{role.value.replace('_', ' ').title()} {reseller.name}")
        lines.append(f"    {role.value:<22} {email}")
    return lines


def load_demo() -> list[str]:
    root, admin, _token = ensure_root(name="Softline Distribution", email="admin@example.com",
                                      password=PASSWORD, currency="RUB")
    tree = [("Acme Cloud", root, "acme", "#b3261e", "en"),
            ("Beta Systems", None, "beta", "#2e7d32", "ru")]
    created = {root.slug: root}
    parent = root
    for name, explicit_parent, prefix, color, language in tree:
        owner = explicit_parent or parent
        reseller = db.session.scalar(select(Reseller).where(Reseller.name == name))
        if reseller is None:
            reseller = create_reseller(owner, name=name, slug=prefix, currency="RUB" if language == "ru" else "USD",
                                       contact_email=f"info@{prefix}.example.com")
            update_reseller(reseller, default_language=language, primary_color=color,
                            panel_title=f"{name} — panel")
            set_branding_image(reseller, "logo", _logo(name[0], color))
        created[prefix] = reseller
        parent = reseller
    if root.logo is None:
        set_branding_image(root, "logo", _logo("S", "#1f5fa8"))
        update_reseller(root, panel_title="Softline Distribution — operator panel")
    lines = ["Demo data is ready. Password for every account: " + PASSWORD, ""]
    for prefix, reseller in created.items():
        host = "localhost" if reseller.is_root else reseller.local_host
        lines.append(f"  {reseller.name}: http://{host}:5000/")
        lines += [f"    {'system_admin':<22} admin@example.com"] if reseller.is_root else []
        lines += _staff(reseller, prefix)
    db.session.commit()
    return lines
