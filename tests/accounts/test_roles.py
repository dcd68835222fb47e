"""Each role sees exactly the menu items and may call exactly the endpoints its permissions
allow: 403 for the rest inside the tenant (08 R-ROLE-1/2, EX-26)."""

from __future__ import annotations

import re

import pytest

from portal.accounts.models import Role
from portal.accounts.permissions import ROLE_PERMISSIONS, has_permission
from portal.operator.menu import all_menu_items
from tests.factories import Panel, make_reseller, make_root, make_staff, make_token

# Views anyone may open without signing in, and views every signed-in member may open.
PUBLIC = {"static", "core.healthz", "core.set_language", "accounts.login",
          "accounts.forgot_password", "accounts.reset_password", "tenancy.claim_entry",
          "tenancy.branding_asset", "api.openapi", "api.get_test_clock", "api.set_test_clock",
          "api.run_due_jobs"}
ANY_MEMBER = {"accounts.logout", "accounts.profile", "accounts.change_own_password",
              "accounts.create_token", "accounts.regenerate_token", "accounts.revoke_token",
              "operator.list_columns", "operator.operation", "operator.operation_download",
              "operator.operation_email", "api.me", "api.get_operation"}


def test_every_endpoint_declares_its_permission(app):
    for endpoint, view in app.view_functions.items():
        if endpoint in PUBLIC or endpoint.startswith("client_panel."):
            continue
        assert hasattr(view, "required_permission"), f"{endpoint} checks no permission"
        if endpoint not in ANY_MEMBER:
            assert view.required_permission, f"{endpoint} needs a permission"


def test_matrix_matches_the_manual_examples():
    # 08 EX-26: a sales manager has orders and clients but not products or settings.
    assert has_permission(Role.SALES_MANAGER, "clients.view", at_root=True)
    assert not has_permission(Role.SALES_MANAGER, "products.view", at_root=True)
    assert not has_permission(Role.SALES_MANAGER, "resellers.view", at_root=True)
    assert has_permission(Role.PRODUCT_MANAGER, "notification_templates.manage", at_root=True)
    assert not has_permission(Role.PRODUCT_MANAGER, "payments.view", at_root=True)
    assert has_permission(Role.MARKETING_SPECIALIST, "discounts.manage", at_root=True)
    assert not has_permission(Role.MARKETING_SPECIALIST, "domain_zones.view", at_root=True)
    # The system log is the root's alone.
    assert has_permission(Role.SYSTEM_ADMIN, "system_log.view", at_root=True)
    assert not has_permission(Role.SYSTEM_ADMIN, "system_log.view", at_root=False)


@pytest.fixture
def tenant(app, db):
    root = make_root()
    reseller = make_reseller(root, name="Gamma", slug="gamma")
    child = make_reseller(reseller, name="Gamma Child", slug="gamma-child")
    members = {role: make_staff(reseller, role=role) for role in Role}
    return {"root": root, "reseller": reseller, "child": child, "members": members}


def _menu_keys(html: str) -> set[str]:
    return set(re.findall(r'data-menu="([a-z_]+)"', html))


@pytest.mark.parametrize("role", list(Role))
def test_menu_shows_exactly_what_the_role_allows(app, tenant, role):
    panel = Panel(app, tenant["reseller"], tenant["members"][role])
    shown = _menu_keys(panel.get("/").get_data(as_text=True))
    expected = {item.key for item in all_menu_items()
                if has_permission(role, item.permission, at_root=False)}
    assert shown == expected
    assert "dashboard" in shown
    if role != Role.SYSTEM_ADMIN:
        assert not shown & {"resellers", "staff", "system_settings"}


def _panel_get_urls(app, tenant):
    """Every GET page of the panel, with ids of objects inside the tenant."""
    own_member = tenant["members"][Role.SYSTEM_ADMIN]
    values = {"reseller_id": tenant["child"].id, "member_id": own_member.id}
    urls = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if (rule.endpoint in PUBLIC or rule.endpoint.startswith("client_panel.")
                or rule.rule.startswith("/api/") or "GET" not in rule.methods):
            continue
        if set(rule.arguments) - set(values):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: str(values[m.group(1)]), rule.rule)
        urls.append((rule.endpoint, path, view.required_permission))
    return urls


@pytest.mark.parametrize("role", list(Role))
def test_panel_pages_answer_403_beyond_the_role(app, tenant, role):
    panel = Panel(app, tenant["reseller"], tenant["members"][role])
    urls = _panel_get_urls(app, tenant)
    assert len(urls) >= 10
    for endpoint, path, permission in urls:
        allowed = permission is None or has_permission(role, permission, at_root=False)
        status = panel.get(path).status_code
        if endpoint.startswith("provisioning.") and "task" in endpoint:
            assert status == 404, (role, endpoint, path, status)  # the root's alone (03 TSK-1)
            continue
        if allowed:
            assert status == 200, (role, endpoint, path, status)
        else:
            assert status == 403, (role, endpoint, path, status)


@pytest.mark.parametrize("role", list(Role))
def test_panel_writes_answer_403_beyond_the_role(app, tenant, role):
    panel = Panel(app, tenant["reseller"], tenant["members"][role])
    token = panel.csrf()
    child = tenant["child"]
    writes = [("/resellers/new", "resellers.manage"),
              (f"/resellers/{child.id}", "resellers.manage"),
              (f"/resellers/{child.id}/status", "resellers.manage"),
              (f"/resellers/{child.id}/delete", "resellers.manage"),
              ("/staff/new", "staff.manage"),
              ("/settings/system", "system_settings.manage"),
              ("/settings/security", "security_settings.manage")]
    for path, permission in writes:
        response = panel.client.post(path, base_url=panel.base, data={"csrf_token": token})
        if has_permission(role, permission, at_root=False):
            assert response.status_code != 403, (role, path)
        else:
            assert response.status_code == 403, (role, path)
    assert child.name == "Gamma Child"


@pytest.mark.parametrize("role", list(Role))
def test_api_endpoints_answer_403_beyond_the_role(app, client, tenant, role):
    token = make_token(tenant["members"][role])
    headers = {"Authorization": f"Bearer {token}"}
    reseller, child = tenant["reseller"], tenant["child"]
    calls = [("GET", "/api/v1/resellers", "resellers.view"),
             ("GET", f"/api/v1/resellers/{child.id}", "resellers.view"),
             ("PATCH", f"/api/v1/resellers/{child.id}", "resellers.manage"),
             ("POST", "/api/v1/resellers", "resellers.manage"),
             ("GET", f"/api/v1/resellers/{reseller.id}/staff", "staff.view"),
             ("POST", f"/api/v1/resellers/{reseller.id}/staff", "staff.manage"),
             ("GET", "/api/v1/me", None)]
    for method, path, permission in calls:
        response = client.open(path, method=method, headers=headers, json={})
        if permission is None or has_permission(role, permission, at_root=False):
            assert response.status_code not in (401, 403, 404), (role, method, path)
        else:
            assert response.status_code == 403, (role, method, path, response.status_code)
            assert response.get_json()["error"]["code"] == "forbidden"


def test_each_role_has_a_distinct_permission_set():
    sets = [ROLE_PERMISSIONS[role] for role in Role]
    assert len({frozenset(s) for s in sets}) == 4
    assert all(ROLE_PERMISSIONS[role] <= ROLE_PERMISSIONS[Role.SYSTEM_ADMIN] for role in Role)
