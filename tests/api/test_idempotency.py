"""Idempotency-Key on writes."""

from __future__ import annotations

from tests.api.conftest import assert_error


def total(api, token) -> int:
    return api.as_(token).get("/resellers").get_json()["total"]


def test_same_key_same_body_returns_the_first_answer_and_creates_nothing_new(api, tree):
    client = api.as_(tree.alpha_token)
    headers = {"Idempotency-Key": "create-gamma-1"}
    first = client.post("/resellers", json={"name": "Gamma"}, headers=headers)
    assert first.status_code == 201
    after_first = total(api, tree.alpha_token)
    second = client.post("/resellers", json={"name": "Gamma"}, headers=headers)
    assert second.status_code == 201
    assert second.get_json() == first.get_json()
    assert total(api, tree.alpha_token) == after_first
    names = [r["name"] for r in client.get("/resellers").get_json()["items"]]
    assert names.count("Gamma") == 1


def test_same_key_different_body_is_409_and_does_nothing(api, tree):
    client = api.as_(tree.alpha_token)
    headers = {"Idempotency-Key": "create-delta"}
    assert client.post("/resellers", json={"name": "Delta"}, headers=headers).status_code == 201
    before = total(api, tree.alpha_token)
    response = client.post("/resellers", json={"name": "Epsilon"}, headers=headers)
    assert_error(response, 409)
    assert total(api, tree.alpha_token) == before
    names = [r["name"] for r in client.get("/resellers").get_json()["items"]]
    assert "Epsilon" not in names


def test_without_a_key_each_post_creates(api, tree):
    client = api.as_(tree.alpha_token)
    before = total(api, tree.alpha_token)
    assert client.post("/resellers", json={"name": "Twin"}).status_code == 201
    assert client.post("/resellers", json={"name": "Twin"}).status_code == 201
    assert total(api, tree.alpha_token) == before + 2


def test_different_keys_create_twice(api, tree):
    client = api.as_(tree.alpha_token)
    before = total(api, tree.alpha_token)
    for key in ("k-1", "k-2"):
        response = client.post("/resellers", json={"name": "Twin"},
                               headers={"Idempotency-Key": key})
        assert response.status_code == 201
    assert total(api, tree.alpha_token) == before + 2


def test_one_callers_key_does_not_collide_with_anothers(api, tree):
    headers = {"Idempotency-Key": "shared-key"}
    a = api.as_(tree.alpha_token).post("/resellers", json={"name": "Mine"}, headers=headers)
    b = api.as_(tree.beta_token).post("/resellers", json={"name": "Mine"}, headers=headers)
    assert a.status_code == b.status_code == 201
    assert a.get_json()["id"] != b.get_json()["id"]
    assert b.get_json()["parent_id"] == tree.beta.id


def test_idempotent_patch_and_staff_create(api, tree):
    client = api.as_(tree.root_token)
    headers = {"Idempotency-Key": "patch-1"}
    first = client.patch(f"/resellers/{tree.beta.id}", json={"name": "Beta 2"}, headers=headers)
    assert first.status_code == 200
    assert_error(client.patch(f"/resellers/{tree.beta.id}", json={"name": "Beta 3"},
                              headers=headers), 409)
    assert client.get(f"/resellers/{tree.beta.id}").get_json()["name"] == "Beta 2"

    body = {"email": "idem@example.com", "name": "Idem", "role": "sales_manager",
            "password": "Strong-pass-2026!"}
    headers = {"Idempotency-Key": "staff-1"}
    first = client.post(f"/resellers/{tree.beta.id}/staff", json=body, headers=headers)
    assert first.status_code == 201
    again = client.post(f"/resellers/{tree.beta.id}/staff", json=body, headers=headers)
    assert again.status_code == 201  # not a 409 "e-mail taken": the first answer again
    assert again.get_json()["id"] == first.get_json()["id"]
    staff = client.get(f"/resellers/{tree.beta.id}/staff").get_json()["items"]
    assert [m["email"] for m in staff].count("idem@example.com") == 1
