"""Details of the contract an integrator trips over: which field an error names, and a
replayed staff creation that never hands the token out twice."""

from __future__ import annotations

from tests.api.conftest import assert_error


def test_bad_paging_names_the_field_it_is_about(api, tree):
    client = api.as_(tree.root_token)
    assert_error(client.get("/resellers?per_page=lots"), 422, fields=["per_page"])
    assert_error(client.get("/resellers?page=x"), 422, fields=["page"])


def test_unknown_settings_mode_is_refused(api, tree):
    client = api.as_(tree.root_token)
    response = client.post("/resellers", json={"name": "Gamma", "settings_mode": "copy_all"})
    assert_error(response, 422, fields=["settings_mode"])
    names = [r["name"] for r in client.get("/resellers?per_page=100").get_json()["items"]]
    assert "Gamma" not in names


def test_store_domain_clash_names_store_domain(api, tree):
    client = api.as_(tree.root_token)
    client.patch(f"/resellers/{tree.alpha.id}", json={"store_domain": "shop.example.com"})
    response = client.patch(f"/resellers/{tree.beta.id}", json={"store_domain": "shop.example.com"})
    assert_error(response, 409, fields=["store_domain"])


def test_replayed_staff_creation_does_not_hand_out_the_token_again(api, tree, db):
    from sqlalchemy import select

    from portal.core.models import IdempotentRequest

    client = api.as_(tree.root_token)
    body = {"email": "once@example.com", "name": "Once", "role": "sales_manager",
            "password": "o8waQt$z7"}
    first = client.post(f"/resellers/{tree.alpha.id}/staff", json=body,
                        headers={"Idempotency-Key": "staff-1"})
    assert first.status_code == 201 and first.get_json()["api_token"]
    replay = client.post(f"/resellers/{tree.alpha.id}/staff", json=body,
                         headers={"Idempotency-Key": "staff-1"})
    assert replay.status_code == 201
    assert replay.get_json()["id"] == first.get_json()["id"]
    assert replay.get_json()["api_token"] is None
    stored = db.session.scalar(select(IdempotentRequest.response_body))
    assert first.get_json()["api_token"] not in stored
