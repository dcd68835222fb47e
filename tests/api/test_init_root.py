"""`flask init-root`: bootstrap the root operator and print its administrator's API token."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.tenancy.models import Reseller
from tests.api.conftest import ApiClient, assert_error


@pytest.fixture
def cli(app, db):
    return app.test_cli_runner()


def init_root(cli, *extra, name="Cloud Root", email="ops@cloud.test", password="Root-pass-2026!"):
    result = cli.invoke(args=["init-root", "--name", name, "--email", email,
                              "--password", password, *extra])
    assert result.exit_code == 0, (result.output, result.exception)
    lines = result.output.strip().splitlines()
    assert lines
    return lines[-1].strip(), result.output


def test_init_root_prints_a_working_token_and_rerun_rotates_it(api, cli, db):
    assert db.session.scalar(select(Reseller).where(Reseller.is_root)) is None
    token, output = init_root(cli, "--currency", "EUR")
    assert " " not in token and len(token) >= 20
    me = api.as_(token).get("/me")
    assert me.status_code == 200
    assert me.get_json()["email"] == "ops@cloud.test"
    assert me.get_json()["role"] == "system_admin"
    root_id = me.get_json()["reseller_id"]
    child = api.as_(token).post("/resellers", json={"name": "First Reseller"})
    assert child.status_code == 201
    assert child.get_json()["parent_id"] == root_id
    roots = db.session.scalars(select(Reseller).where(Reseller.is_root)).all()
    assert [(r.id, r.name, r.currency) for r in roots] == [(root_id, "Cloud Root", "EUR")]

    # again, same e-mail (other name/password): only a fresh token, the old one stops working
    fresh, _output = init_root(cli, name="Renamed Root", password="Other-pass-2026!")
    assert fresh != token
    assert_error(api.as_(token).get("/me"), 401)
    me2 = api.as_(fresh).get("/me").get_json()
    assert (me2["id"], me2["reseller_id"]) == (me.get_json()["id"], root_id)
    roots = db.session.scalars(select(Reseller).where(Reseller.is_root)).all()
    assert [(r.id, r.name) for r in roots] == [(root_id, "Cloud Root")]
    listed = api.as_(fresh).get("/resellers").get_json()
    assert [r["name"] for r in listed["items"]] == ["First Reseller"]


def test_init_root_on_an_empty_database_applies_the_migrations(tmp_path):
    """The very first run: a database file with no tables at all (its own app, SQLite)."""
    from portal import create_app
    from portal.core.clock import clock

    saved = (clock._zone_loader, clock._zone_name, clock._zone_cached_at)
    fresh = create_app({"TESTING": True, "SERVER_NAME": None, "PORTAL_TEST_MODE": True,
                        "SECRET_KEY": "fresh", "REDIS_URL": None,
                        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.db'}"})
    try:
        token, output = init_root(fresh.test_cli_runner(), name="Empty Root",
                                  email="first@cloud.test")
        assert "Empty Root" in output
        api = ApiClient(fresh.test_client(), token)
        me = api.get("/me").get_json()
        assert me["email"] == "first@cloud.test"
        created = api.post("/resellers", json={"name": "Day One"})
        assert created.status_code == 201
        assert created.get_json()["parent_id"] == me["reseller_id"]
        assert api.get("/resellers").get_json()["total"] == 1
    finally:
        from portal.extensions import db as database

        with fresh.app_context():
            database.session.remove()
            database.engine.dispose()
        clock._zone_loader, clock._zone_name, clock._zone_cached_at = saved


def test_init_root_with_a_weak_password_fails_cleanly(cli, db):
    result = cli.invoke(args=["init-root", "--name", "R", "--email", "weak@cloud.test",
                              "--password", "123"])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert db.session.scalar(select(Reseller).where(Reseller.is_root)) is None
