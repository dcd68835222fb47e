"""Bearer-token authentication of the API."""

from __future__ import annotations

import pytest

from portal.accounts.models import Role, StaffStatus
from portal.accounts.services import create_api_token
from portal.accounts.services.api_tokens import regenerate_api_token, revoke_api_token
from portal.accounts.services.staff import set_staff_status
from tests.api.conftest import assert_error
from tests.factories import make_staff, make_token


def test_valid_token_acts_as_its_member(api, tree):
    response = api.as_(tree.alpha_token).get("/me")
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == tree.alpha_admin.id
    assert body["reseller_id"] == tree.alpha.id
    assert body["role"] == "system_admin"


@pytest.mark.parametrize("path", ["/me", "/resellers"])
def test_no_token_is_401(api, tree, path):
    assert_error(api.get(path), 401, code="unauthorized")


@pytest.mark.parametrize("header", [
    "Bearer pt_not-a-real-token",
    "Bearer not-even-our-prefix",
    "Bearer ",
    "Basic cm9vdEBleGFtcGxlLmNvbTpUZXN0LXBhc3MtMjAyNg==",
])
def test_bad_token_is_401(api, tree, header):
    response = api.get("/resellers", headers={"Authorization": header})
    assert_error(response, 401)


def test_token_without_bearer_scheme_is_401(api, tree):
    response = api.get("/me", headers={"Authorization": tree.root_token})
    assert_error(response, 401)


def test_revoked_token_is_401(api, db, tree):
    token, raw = create_api_token(tree.alpha_admin, name="ci")
    db.session.commit()
    assert api.as_(raw).get("/me").status_code == 200

    revoke_api_token(token)
    db.session.commit()
    assert_error(api.as_(raw).get("/me"), 401)
    assert_error(api.as_(raw).post("/resellers", json={"name": "Sneaky"}), 401)
    # the member's other token keeps working
    assert api.as_(tree.alpha_token).get("/me").status_code == 200


def test_regenerated_token_replaces_the_old_one(api, db, tree):
    token, old = create_api_token(tree.beta_admin, name="ci")
    db.session.commit()
    _new_token, new = regenerate_api_token(token)
    db.session.commit()
    assert_error(api.as_(old).get("/me"), 401)
    assert api.as_(new).get("/me").get_json()["id"] == tree.beta_admin.id


def test_deactivated_members_token_is_refused(api, db, tree):
    member = make_staff(tree.alpha, role=Role.SYSTEM_ADMIN)
    raw = make_token(member)
    db.session.commit()
    assert api.as_(raw).get("/resellers").status_code == 200

    set_staff_status(member, StaffStatus.INACTIVE)
    db.session.commit()
    assert_error(api.as_(raw).get("/resellers"), 401)
    assert_error(api.as_(raw).post("/resellers", json={"name": "Ghost"}), 401)

    set_staff_status(member, StaffStatus.ACTIVE)
    db.session.commit()
    assert api.as_(raw).get("/resellers").status_code == 200
