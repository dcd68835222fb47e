"""Panel pages of product categories, products (with marketing data), plan categories and
services (05 §5.1.3–§5.1.5, 06 §5.2): what a member sees and what changes in the database."""

from __future__ import annotations

import io
import re
import struct
import zlib

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.catalog.models import (Connector, MarketingItemKind, PlanCategory, Product,
                                   ProductCategory, ProductMarketingItem, ServiceResource,
                                   ServiceTemplate)
from portal.catalog.services import create_product_category
from portal.core.models import AuditEvent
from tests.factories import (Panel, delegate, make_plan, make_plan_category, make_product,
                             make_reseller, make_root, make_service, make_staff)


def png(size=(40, 30), colour="red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b""))


def count(db, model, **where) -> int:
    query = select(func.count(model.id))
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.session.scalar(query)


def prefixed(panel, prefix: str, **fields) -> dict:
    """Fields of a prefixed form (the marketing item forms), CSRF token included."""
    data = {f"{prefix}-{name}": value for name, value in fields.items()}
    data[f"{prefix}-csrf_token"] = panel.csrf()
    return data


def row_of(html: str, row_id: str) -> str:
    match = re.search(rf'<tr id="{row_id}">(.*?)</tr>', html, re.S)
    assert match, f"no row {row_id}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


@pytest.fixture
def shop(app, db):
    root = make_root()
    reseller = make_reseller(root, name="Acme")
    admin = make_staff(reseller, name="Acme Admin")
    return {"root": root, "reseller": reseller, "admin": admin,
            "panel": Panel(app, reseller, admin)}


# --- product categories ---------------------------------------------------------------------

def test_create_category_then_list_and_detail_show_it(db, shop):
    panel = shop["panel"]
    response = panel.post("/product-categories/new", data={
        "name": "Azure Commercial", "key": "azure_commercial", "priority": "3",
        "description": "Azure for business"})
    assert response.status_code == 302
    category = db.session.scalar(select(ProductCategory).where(
        ProductCategory.reseller_id == shop["reseller"].id))
    assert (category.name, category.key, category.priority, category.description) == (
        "Azure Commercial", "azure_commercial", 3, "Azure for business")
    assert response.headers["Location"].endswith(f"/product-categories/{category.id}")

    html = panel.get("/product-categories").get_data(as_text=True)
    assert row_of(html, f"product_categories-{category.id}") == (
        f"{category.id} Azure Commercial Нет azure_commercial 3")
    detail = panel.get(f"/product-categories/{category.id}").get_data(as_text=True)
    assert 'id="event-log"' in detail and "catalog.product_category.created" in detail


def test_category_key_clash_and_bad_priority_change_nothing(db, shop):
    panel = shop["panel"]
    create_product_category(shop["reseller"], name="Licences", key="licences")
    db.session.commit()  # what the test made survives the request's rollback
    before = count(db, ProductCategory)
    response = panel.post("/product-categories/new", data={
        "name": "Other", "key": "licences", "priority": "0"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="field-key">.*?class="error"', html, re.S)
    response = panel.post("/product-categories/new", data={
        "name": "Other", "key": "other", "priority": "-1"})
    assert response.status_code == 422
    assert re.search(r'id="field-priority">.*?class="error"', response.get_data(as_text=True),
                     re.S)
    response = panel.post("/product-categories/new", data={"name": "", "key": "x",
                                                           "priority": "0"})
    assert response.status_code == 422
    assert count(db, ProductCategory) == before


def test_category_with_products_is_not_deleted_until_empty(db, shop):
    panel = shop["panel"]
    category = create_product_category(shop["reseller"], name="CSP", key="csp")
    product = make_product(shop["reseller"], category=category, name="Office 365")
    db.session.commit()
    detail = panel.get(f"/product-categories/{category.id}").get_data(as_text=True)
    assert "Office 365" in row_of(detail, f"products-{product.id}")  # the Products tab

    response = panel.post(f"/product-categories/{category.id}/delete")
    assert response.status_code == 422
    assert 'class="flash flash-error"' in response.get_data(as_text=True)
    assert count(db, ProductCategory, id=category.id) == 1

    db.session.delete(db.session.get(Product, product.id))
    db.session.commit()
    response = panel.post(f"/product-categories/{category.id}/delete")
    assert response.status_code == 302
    assert count(db, ProductCategory, id=category.id) == 0


def test_category_edit_saves_and_logs(db, shop):
    panel = shop["panel"]
    category = create_product_category(shop["reseller"], name="Old", key="old")
    db.session.commit()
    response = panel.post(f"/product-categories/{category.id}", data={
        "name": "New name", "key": "new_key", "priority": "7", "description": ""})
    assert response.status_code == 302
    db.session.expire_all()
    assert (category.name, category.key, category.priority) == ("New name", "new_key", 7)
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.subject_type == "ProductCategory", AuditEvent.subject_id == category.id,
        AuditEvent.action == "catalog.product_category.updated")) == 1


# --- products -------------------------------------------------------------------------------

def test_product_wizard_general_then_marketing_then_plans_tab(db, shop):
    panel = shop["panel"]
    category = create_product_category(shop["reseller"], name="Microsoft", key="microsoft")
    db.session.commit()
    form = panel.get(f"/products/new?category_id={category.id}").get_data(as_text=True)
    assert re.search(rf'<option selected value="{category.id}">Microsoft</option>', form)

    response = panel.post("/products/new", data={
        "name": "Серверные лицензии MS", "product_type": "SaaS",
        "product_category_id": str(category.id), "description": "internal note",
        "vendor_name": "Microsoft", "subscription_name_template": "{{plan.name}}"})
    assert response.status_code == 302
    product = db.session.scalar(select(Product).where(
        Product.reseller_id == shop["reseller"].id))
    assert response.headers["Location"].endswith(f"/products/{product.id}/marketing")
    assert (product.name, product.product_type, product.vendor_name, product.published) == (
        "Серверные лицензии MS", "SaaS", "Microsoft", False)

    step = panel.get(f"/products/{product.id}/marketing").get_data(as_text=True)
    assert 'id="marketing-form"' in step and 'name="wizard" value="1"' in step
    # A screenshot added during the wizard comes back to the wizard step.
    response = panel.post(f"/products/{product.id}/items/screenshot", data={
        "wizard": "1", **prefixed(panel, "screenshot", name="Dashboard",
                                  image=(io.BytesIO(png()), "shot.png"))},
        content_type="multipart/form-data")
    assert response.headers["Location"].endswith(f"/products/{product.id}/marketing")
    response = panel.post(f"/products/{product.id}/marketing", data={
        "wizard": "1", "marketing_name": "MS Server Licences",
        "marketing_description": "For every server", "support_url": "https://help.example.com",
        "support_email": "help@example.com", "support_phone": "+7 495 000-00-00",
        "logo": (io.BytesIO(png((64, 64), "blue")), "logo.png")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/products/{product.id}#plans")  # R-PD-1
    db.session.expire_all()
    assert (product.marketing_name, product.marketing_description, product.support_url,
            product.support_email, product.logo_type) == (
        "MS Server Licences", "For every server", "https://help.example.com",
        "help@example.com", "image/png")
    logo = panel.get(f"/products/{product.id}/logo")
    assert logo.status_code == 200 and logo.content_type == "image/png"
    assert logo.data == product.logo


def test_product_list_shows_category_type_and_flags(db, shop):
    panel = shop["panel"]
    azure = create_product_category(shop["reseller"], name="Azure Commercial", key="azure")
    other = create_product_category(shop["reseller"], name="Licences", key="licences")
    plan_azure = make_product(shop["reseller"], category=azure, name="План Azure",
                              product_type="PAYG", published=True)
    make_product(shop["reseller"], category=other, name="Серверные лицензии",
                 product_type="SaaS")
    db.session.commit()
    html = panel.get("/products").get_data(as_text=True)
    row = row_of(html, f"products-{plan_azure.id}")
    assert row.startswith(f"{plan_azure.id} План Azure Azure Commercial PAYG Да Нет 22.11.2026")
    assert f'href="/product-categories/{azure.id}"' in html

    filtered = panel.get(f"/products?f_category_id={azure.id}",
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "План Azure" in filtered and "Серверные лицензии" not in filtered
    assert "<html" not in filtered  # the list partial for htmx
    assert f'/products/new?category_id={azure.id}' in filtered


def test_product_form_errors_change_nothing(db, shop):
    panel = shop["panel"]
    category = create_product_category(shop["reseller"], name="C", key="c")
    foreign = create_product_category(make_reseller(shop["root"]), name="Theirs", key="theirs")
    db.session.commit()
    before = count(db, Product)
    for data, field in (
            ({"name": "", "product_type": "SaaS", "product_category_id": category.id}, "name"),
            ({"name": "P", "product_type": "SaaS", "product_category_id": foreign.id},
             "product_category_id"),
            ({"name": "P", "product_type": "SaaS", "product_category_id": category.id,
              "privacy_policy_url": "ftp://x"}, "privacy_policy_url")):
        response = panel.post("/products/new", data=data)
        assert response.status_code == 422, data
        assert re.search(rf'id="field-{field}">.*?class="error"',
                         response.get_data(as_text=True), re.S), field
    assert count(db, Product) == before


def test_marketing_items_add_change_and_remove(db, shop):
    panel = shop["panel"]
    product = make_product(shop["reseller"], name="Kaspersky")
    db.session.commit()
    base = f"/products/{product.id}"
    assert panel.post(f"{base}/items/video", data=prefixed(
        panel, "video", name="Overview", url="https://video.example.com/1")).status_code == 302
    assert panel.post(f"{base}/items/document", data=prefixed(
        panel, "document", name="Admin guide",
        url="https://docs.example.com/guide.pdf")).status_code == 302
    assert panel.post(f"{base}/items/advantage", data=prefixed(
        panel, "advantage", name="Fast", description="Scans in seconds")).status_code == 302
    assert panel.post(f"{base}/items/screenshot", data=prefixed(
        panel, "screenshot", name="Main window", image=(io.BytesIO(png()), "main.png")),
        content_type="multipart/form-data").status_code == 302
    items = {i.kind: i for i in db.session.scalars(select(ProductMarketingItem).where(
        ProductMarketingItem.product_id == product.id))}
    assert (items[MarketingItemKind.VIDEO].url, items[MarketingItemKind.DOCUMENT].name,
            items[MarketingItemKind.ADVANTAGE].description) == (
        "https://video.example.com/1", "Admin guide", "Scans in seconds")
    shot = items[MarketingItemKind.SCREENSHOT]
    assert shot.image_type == "image/png"

    html = panel.get(base).get_data(as_text=True)
    assert "Overview" in row_of(html, f"item-{items[MarketingItemKind.VIDEO].id}")
    image = panel.get(f"{base}/items/{shot.id}/image")
    assert image.status_code == 200 and image.data == png()

    new_image = png((10, 10), "green")
    response = panel.post(f"{base}/items/{shot.id}/image", data=prefixed(
        panel, f"item{shot.id}", image=(io.BytesIO(new_image), "new.png")),
        content_type="multipart/form-data")
    assert response.status_code == 302
    assert panel.get(f"{base}/items/{shot.id}/image").data == new_image

    video_id = items[MarketingItemKind.VIDEO].id
    assert panel.post(f"{base}/items/{video_id}/delete").status_code == 302
    assert count(db, ProductMarketingItem, product_id=product.id) == 3


def test_bad_marketing_uploads_and_links_are_refused(db, shop):
    panel = shop["panel"]
    product = make_product(shop["reseller"], name="Dr.Web")
    db.session.commit()
    base = f"/products/{product.id}"
    response = panel.post(f"{base}/items/screenshot", data=prefixed(
        panel, "screenshot", name="Fake", image=(io.BytesIO(b"<svg></svg>"), "x.svg")),
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert re.search(r'id="field-screenshot-image">.*?class="error"',
                     response.get_data(as_text=True), re.S)
    response = panel.post(f"{base}/items/screenshot", data=prefixed(
        panel, "screenshot", name="Bomb", image=(io.BytesIO(png_claiming(30000, 30000)),
                                                 "bomb.png")),
        content_type="multipart/form-data")
    assert response.status_code == 422
    response = panel.post(f"{base}/items/screenshot",
                          data=prefixed(panel, "screenshot", name="No file"))
    assert response.status_code == 422
    response = panel.post(f"{base}/items/video", data=prefixed(panel, "video", name="V",
                                                                url="nope"))
    assert response.status_code == 422
    assert re.search(r'id="field-video-url">.*?class="error"', response.get_data(as_text=True),
                     re.S)
    assert count(db, ProductMarketingItem, product_id=product.id) == 0

    response = panel.post(f"{base}/marketing", data={
        "marketing_name": "Dr.Web", "logo": (io.BytesIO(b"GIF89a" + b"\0" * 10), "logo.gif")},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert re.search(r'id="field-logo">.*?class="error"', response.get_data(as_text=True), re.S)
    response = panel.post(f"{base}/marketing", data={"marketing_name": "Renamed",
                                                     "support_email": "not-an-address"})
    assert response.status_code == 422
    db.session.expire_all()
    assert product.logo_type == "" and product.marketing_name == "Dr.Web"


def test_delegated_product_keeps_general_info_but_its_reseller_publishes_it(app, db, shop):
    root, child = shop["root"], shop["reseller"]
    plan = make_plan(root, name="Office 365 E2")
    child_plan = delegate(plan, child)
    product = db.session.get(Product, child_plan.product_id)
    assert product.is_delegated and not product.published
    db.session.commit()
    panel = shop["panel"]
    html = panel.get(f"/products/{product.id}").get_data(as_text=True)
    assert 'id="publish-form"' in html and 'id="general-form"' not in html
    assert "Office 365 E2" in row_of(html, f"plan-{child_plan.id}")  # the Plans tab

    response = panel.post(f"/products/{product.id}", data={
        "published": "y", "name": "Hijacked", "product_type": "X"})
    assert response.status_code == 302
    db.session.expire_all()
    assert product.published and product.name == plan.product.name
    response = panel.post(f"/products/{product.id}/marketing", data={
        "marketing_name": "Office for Acme", "support_phone": "+7 000"})
    assert response.status_code == 302
    db.session.expire_all()
    assert product.marketing_name == "Office for Acme"


def test_product_with_plans_is_not_deleted(app, db, shop):
    panel = shop["panel"]
    product = make_product(shop["reseller"], name="Busy")
    plan = make_plan(shop["reseller"], product=product, name="Busy plan")
    db.session.commit()
    html = panel.get(f"/products/{product.id}").get_data(as_text=True)
    assert "Busy plan" in html
    if "catalog.plan_detail" in app.view_functions:  # the plans pages are built beside these
        assert f'href="/plans/{plan.id}"' in html
    response = panel.post(f"/products/{product.id}/delete")
    assert response.status_code == 422
    assert count(db, Product, id=product.id) == 1
    idle = make_product(shop["reseller"], name="Idle")
    db.session.commit()
    assert panel.post(f"/products/{idle.id}/delete").status_code == 302
    assert count(db, Product, id=idle.id) == 0


# --- plan categories ------------------------------------------------------------------------

def test_plan_category_create_list_unique_key_and_delete_rules(db, shop):
    panel = shop["panel"]
    response = panel.post("/plan-categories/new", data={
        "name": "План Azure", "key": "plan_azure", "description": ""})
    assert response.status_code == 302
    category = db.session.scalar(select(PlanCategory).where(
        PlanCategory.reseller_id == shop["reseller"].id))
    html = panel.get("/plan-categories").get_data(as_text=True)
    assert row_of(html, f"plan_categories-{category.id}") == f"{category.id} План Azure plan_azure"

    response = panel.post("/plan-categories/new", data={"name": "Again", "key": "plan_azure"})
    assert response.status_code == 422
    assert re.search(r'id="field-key">.*?class="error"', response.get_data(as_text=True), re.S)
    assert count(db, PlanCategory, reseller_id=shop["reseller"].id) == 1

    plan = make_plan(shop["reseller"], plan_category=category)
    db.session.commit()
    response = panel.post(f"/plan-categories/{category.id}/delete")
    assert response.status_code == 422
    assert count(db, PlanCategory, id=category.id) == 1
    db.session.delete(plan)
    db.session.commit()
    assert panel.post(f"/plan-categories/{category.id}/delete").status_code == 302
    assert count(db, PlanCategory, id=category.id) == 0


def test_plan_category_edit(db, shop):
    panel = shop["panel"]
    category = make_plan_category(shop["reseller"], name="Old", key="old_key")
    db.session.commit()
    assert panel.post(f"/plan-categories/{category.id}", data={
        "name": "Reservations", "key": "reservation_vm_azure",
        "description": "VM"}).status_code == 302
    db.session.expire_all()
    assert (category.name, category.key, category.description) == (
        "Reservations", "reservation_vm_azure", "VM")
    assert "catalog.plan_category.updated" in panel.get(
        f"/plan-categories/{category.id}").get_data(as_text=True)


# --- services -------------------------------------------------------------------------------

def test_manual_service_keeps_its_six_action_modes(db, shop):
    panel = shop["panel"]
    response = panel.post("/services/new", data={
        "name": "Hosting by hand", "connector": "manual", "description": "Our admins",
        "mode_install": "manual", "mode_activate": "auto", "mode_stop": "auto",
        "mode_renew": "auto", "mode_update": "manual", "mode_delete": "manual"})
    assert response.status_code == 302
    service = db.session.scalar(select(ServiceTemplate).where(
        ServiceTemplate.reseller_id == shop["reseller"].id))
    assert service.connector == Connector.MANUAL
    assert service.settings["modes"] == {"install": "manual", "activate": "auto",
                                         "stop": "auto", "renew": "auto", "update": "manual",
                                         "delete": "manual"}
    response = panel.post(f"/services/{service.id}", data={
        "name": "Hosting by hand", "description": "", "mode_install": "auto",
        "mode_activate": "auto", "mode_stop": "manual", "mode_renew": "auto",
        "mode_update": "manual", "mode_delete": "manual"})
    assert response.status_code == 302
    db.session.expire_all()
    assert service.settings["modes"]["install"] == "auto"
    assert service.settings["modes"]["stop"] == "manual"
    html = panel.get(f"/services/{service.id}").get_data(as_text=True)
    assert 'id="manual-modes"' in html


def test_service_list_shows_connector_and_plans_using_it(db, shop):
    panel = shop["panel"]
    used = make_service(shop["reseller"], name="Licences service")
    idle = make_service(shop["reseller"], name="Idle service", connector="manual")
    make_plan(shop["reseller"], services=[used])
    make_plan(shop["reseller"], services=[used])
    db.session.commit()
    html = panel.get("/services").get_data(as_text=True)
    assert row_of(html, f"services-{used.id}").endswith(" 2")
    assert row_of(html, f"services-{idle.id}").endswith(" 0")
    assert "Licences service" in row_of(html, f"services-{used.id}")
    sorted_html = panel.get("/services?sort=-plans").get_data(as_text=True)
    assert sorted_html.index(f"services-{used.id}") < sorted_html.index(f"services-{idle.id}")


def test_service_resources_are_added_and_switched_off(db, shop):
    panel = shop["panel"]
    service = make_service(shop["reseller"], resources=())
    db.session.commit()
    response = panel.post(f"/services/{service.id}/resources", data={
        "name": "Mailboxes", "unit_type": "units", "measurable": "y", "description": ""})
    assert response.status_code == 302
    resource = db.session.scalar(select(ServiceResource).where(
        ServiceResource.service_template_id == service.id))
    assert (resource.name, resource.unit_type.value, resource.measurable, resource.active) == (
        "Mailboxes", "units", True, True)
    assert panel.post(f"/services/{service.id}/resources", data={
        "name": "", "unit_type": "units"}).status_code == 422
    assert panel.post(f"/services/{service.id}/resources", data={
        "name": "X", "unit_type": "litres"}).status_code == 422
    assert count(db, ServiceResource, service_template_id=service.id) == 1

    assert panel.post(f"/services/{service.id}/resources/{resource.id}/status",
                      data={"active": "0"}).status_code == 302
    db.session.expire_all()
    assert resource.active is False
    html = panel.get(f"/services/{service.id}").get_data(as_text=True)
    row = row_of(html, f"resource-{resource.id}")
    assert row.startswith(f"{resource.id} Mailboxes ") and row.endswith("Неактивен Активировать")


def test_service_used_by_a_plan_is_not_deleted(db, shop):
    panel = shop["panel"]
    used = make_service(shop["reseller"])
    make_plan(shop["reseller"], services=[used])
    db.session.commit()
    assert panel.post(f"/services/{used.id}/delete").status_code == 422
    assert count(db, ServiceTemplate, id=used.id) == 1
    idle = make_service(shop["reseller"])
    db.session.commit()
    assert panel.post(f"/services/{idle.id}/delete").status_code == 302
    assert count(db, ServiceTemplate, id=idle.id) == 0


# --- access ---------------------------------------------------------------------------------

def test_another_resellers_objects_answer_404(db, shop):
    panel = shop["panel"]
    other = make_reseller(shop["root"], name="Other")
    category = create_product_category(other, name="Theirs", key="theirs")
    product = make_product(other, category=category)
    service = make_service(other)
    plan_category = make_plan_category(other)
    from portal.catalog.services import add_marketing_item

    item = add_marketing_item(product, kind="screenshot", name="Theirs", image=png(),
                              image_type="image/png")
    resource = service.resources[0]
    own_product = make_product(shop["reseller"])
    own_service = make_service(shop["reseller"])
    db.session.commit()
    for path in (f"/product-categories/{category.id}", f"/products/{product.id}",
                 f"/products/{product.id}/logo", f"/services/{service.id}",
                 f"/plan-categories/{plan_category.id}",
                 f"/products/{product.id}/items/{item.id}/image",
                 f"/products/{own_product.id}/items/{item.id}/image"):
        assert panel.get(path).status_code == 404, path
    for path in (f"/product-categories/{category.id}/delete", f"/products/{product.id}/delete",
                 f"/services/{service.id}/delete", f"/plan-categories/{plan_category.id}/delete",
                 f"/product-categories/{category.id}", f"/products/{product.id}",
                 f"/products/{product.id}/marketing", f"/products/{product.id}/items/video",
                 f"/products/{own_product.id}/items/{item.id}/delete",
                 f"/products/{own_product.id}/items/{item.id}/image",
                 f"/services/{service.id}/resources",
                 f"/services/{own_service.id}/resources/{resource.id}/status"):
        assert panel.post(path).status_code == 404, path
    assert count(db, Product, id=product.id) == 1
    assert count(db, ProductMarketingItem, id=item.id) == 1
    db.session.expire_all()
    assert resource.active is True


def test_sales_manager_has_no_product_pages(app, db, shop):
    seller = make_staff(shop["reseller"], role=Role.SALES_MANAGER)
    panel = Panel(app, shop["reseller"], seller)
    category = create_product_category(shop["reseller"], name="C", key="c")
    db.session.commit()
    for path in ("/product-categories", "/products", "/plan-categories", "/services",
                 f"/product-categories/{category.id}", "/products/new"):
        assert panel.get(path).status_code == 403, path
    assert panel.post("/product-categories/new", data={
        "name": "X", "key": "x", "priority": "0"}).status_code == 403
    assert panel.post(f"/product-categories/{category.id}/delete").status_code == 403
    assert count(db, ProductCategory, id=category.id) == 1


def test_view_only_member_sees_no_buttons_and_cannot_post(app, db, shop, monkeypatch):
    from portal.accounts import auth

    real = auth.has_permission
    monkeypatch.setattr(auth, "has_permission", lambda role, permission, at_root: (
        not permission.endswith(".manage") and real(role, permission, at_root=at_root)))
    category = create_product_category(shop["reseller"], name="Look only", key="look")
    product = make_product(shop["reseller"], category=category)
    service = make_service(shop["reseller"])
    db.session.commit()
    panel = shop["panel"]
    html = panel.get("/product-categories").get_data(as_text=True)
    assert 'id="list-create"' not in html
    detail = panel.get(f"/product-categories/{category.id}").get_data(as_text=True)
    assert 'id="delete-category"' not in detail and 'id="category-form"' not in detail
    product_html = panel.get(f"/products/{product.id}").get_data(as_text=True)
    assert 'id="general-form"' not in product_html and 'id="marketing-form"' not in product_html
    assert 'id="add-screenshot"' not in product_html
    service_html = panel.get(f"/services/{service.id}").get_data(as_text=True)
    assert 'id="resource-form"' not in service_html and 'id="delete-service"' not in service_html
    assert panel.post(f"/product-categories/{category.id}", data={
        "name": "Changed", "key": "look", "priority": "0"}).status_code == 403
    assert panel.post(f"/products/{product.id}/items/video", data=prefixed(
        panel, "video", name="V", url="https://v.example.com")).status_code == 403
    assert panel.post(f"/services/{service.id}/delete").status_code == 403
    db.session.expire_all()
    assert category.name == "Look only"
