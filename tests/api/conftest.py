"""Fixtures for the JSON API tests: a small reseller tree with API tokens."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from portal.accounts.models import Role
from tests.factories import make_reseller, make_root, make_staff, make_token

API = "/api/v1"


class ApiClient:
    """The Flask test client speaking to /api/v1 with one bearer token (or none)."""

    def __init__(self, client, token: str | None = None):
        self.client = client
        self.token = token

    def as_(self, token: str | None) -> ApiClient:
        return ApiClient(self.client, token)

    def request(self, method: str, path: str, *, json=None, headers=None, **kw):
        headers = dict(headers or {})
        if self.token is not None:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        response = self.client.open(API + path, method=method, json=json, headers=headers, **kw)
        # Whatever the input, the API never answers a 500 and always answers JSON.
        assert response.status_code < 500, response.get_data(as_text=True)[:1000]
        assert response.mimetype == "application/json", response.get_data(as_text=True)[:300]
        return response

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.request("POST", path, json=json, **kw)

    def patch(self, path, json=None, **kw):
        return self.request("PATCH", path, json=json, **kw)

    def put(self, path, json=None, **kw):
        return self.request("PUT", path, json=json, **kw)


def assert_error(response, status: int, *, code: str | None = None, fields=()) -> dict:
    """The contract's error shape: {"error": {"code", "message", "fields"?}}."""
    assert response.status_code == status, response.get_data(as_text=True)[:1000]
    body = response.get_json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) <= {"code", "message", "fields"}, error
    assert isinstance(error["code"], str) and error["code"], error
    assert isinstance(error["message"], str) and error["message"], error
    if code is not None:
        assert error["code"] == code, error
    for name in fields:
        assert name in error.get("fields", {}), error
        messages = error["fields"][name]
        assert messages and all(isinstance(m, str) and m for m in messages), error
    return error


@pytest.fixture
def api(client):
    return ApiClient(client)


@pytest.fixture
def tree(db):
    """root ─┬─ alpha ── alpha_one
             └─ beta
    with a system administrator and an API token on root, alpha and beta, and a sales manager
    on root. Committed (a savepoint release) so that a refused request's rollback keeps it."""
    root = make_root()
    root_admin = make_staff(root, name="Root Admin")
    root_sales = make_staff(root, role=Role.SALES_MANAGER, name="Root Sales")
    alpha = make_reseller(root, name="Alpha")
    beta = make_reseller(root, name="Beta")
    alpha_one = make_reseller(alpha, name="Alpha One")
    alpha_admin = make_staff(alpha, name="Alpha Admin")
    beta_admin = make_staff(beta, name="Beta Admin")
    ns = SimpleNamespace(
        root=root, alpha=alpha, beta=beta, alpha_one=alpha_one,
        root_admin=root_admin, root_sales=root_sales, alpha_admin=alpha_admin,
        beta_admin=beta_admin,
        root_token=make_token(root_admin), sales_token=make_token(root_sales),
        alpha_token=make_token(alpha_admin), beta_token=make_token(beta_admin))
    db.session.commit()
    return ns
