"""OpenAPI document and the test clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.api.conftest import assert_error


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_openapi_document_lists_resellers_and_staff(api, db):
    response = api.get("/openapi.json")  # public: no token
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] and doc["info"]["version"]
    paths = doc["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/resellers"])
    assert {"get", "patch"} <= set(paths["/api/v1/resellers/{reseller_id}"])
    assert {"post", "get"} <= set(paths["/api/v1/resellers/{reseller_id}/staff"])
    create = paths["/api/v1/resellers"]["post"]
    assert "201" in create["responses"]
    schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert {"name", "currency", "domain", "smtp"} <= set(schema["properties"])
    staff = paths["/api/v1/resellers/{reseller_id}/staff"]["post"]["requestBody"]
    assert {"email", "name", "role", "password"} <= set(
        staff["content"]["application/json"]["schema"]["properties"])
    for path, operations in paths.items():
        assert path.startswith("/api/v1/")
        assert "<" not in path
        for method, operation in operations.items():
            assert method in {"get", "post", "put", "patch", "delete"}
            assert operation["responses"]
    # every $ref points inside the document
    for ref in _refs(doc):
        assert ref.startswith("#/")
        node = doc
        for part in ref[2:].split("/"):
            node = node[part]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def _now(api):
    response = api.get("/test/clock")
    assert response.status_code == 200
    return datetime.fromisoformat(response.get_json()["now"])


def test_clock_reads_the_platform_time(api, db, frozen_clock):
    now = _now(api)
    assert now.utcoffset() is not None
    assert now == frozen_clock.now()


def test_clock_moves_forward_only(api, db, frozen_clock):
    start = _now(api)
    target = (start + timedelta(days=2, hours=3)).isoformat()
    response = api.put("/test/clock", json={"now": target})
    assert response.status_code == 200
    assert datetime.fromisoformat(response.get_json()["now"]) == start + timedelta(days=2, hours=3)
    assert _now(api) == start + timedelta(days=2, hours=3)

    back = (start + timedelta(days=1)).isoformat()
    assert_error(api.put("/test/clock", json={"now": back}), 422, fields=["now"])
    assert _now(api) == start + timedelta(days=2, hours=3)

    for bad in ({"now": "next tuesday"}, {}, {"now": 5}):
        assert_error(api.put("/test/clock", json=bad), 422, fields=["now"])
    assert _now(api) == start + timedelta(days=2, hours=3)


def test_run_due_jobs_catches_up_missed_days_in_order(api, db, frozen_clock):
    first = api.post("/test/run-due-jobs")
    assert first.status_code == 200
    start = _now(api)
    today = first.get_json()["today"]
    assert today == start.date().isoformat()

    target = start + timedelta(days=3)
    assert api.put("/test/clock", json={"now": target.isoformat()}).status_code == 200
    summary = api.post("/test/run-due-jobs").get_json()
    assert summary["today"] == target.date().isoformat()
    days = [item["day"] for item in summary["daily_jobs"] if item["job"] == "accounts.housekeeping"]
    expected = [(start.date() + timedelta(days=n)).isoformat() for n in (1, 2, 3)]
    assert days == expected
    # in order across all jobs too: never an earlier day after a later one
    all_days = [item["day"] for item in summary["daily_jobs"]]
    assert all_days == sorted(all_days)

    again = api.post("/test/run-due-jobs").get_json()
    assert again["daily_jobs"] == []
    assert again["today"] == target.date().isoformat()
