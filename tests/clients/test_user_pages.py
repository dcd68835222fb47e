"""Panel pages of client-panel users (01 S12–S16): the users section (list, create, user page,
password reset, global (de)activation) and a client's Users tab (create as owner, attach,
inline level, detach, per-client (de)activation), with the refusals of R-USR-*, A-17, A-18."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.accounts.services.passwords import password_problems, verify_password
from portal.clients.models import (AccessLevel, ClientUser, User, UserSignIn, UserStatus,
                                   UserToken)
from portal.clients.services.users import attach_user
from portal.core.models import AuditEvent
from portal.settings.models import PasswordComplexity
from portal.settings.services import security_settings, system_settings
from tests.factories import (PASSWORD, Panel, make_client, make_reseller, make_root, make_staff,
                             make_user)

HX = {"HX-Request": "true"}
STRONG = "Dnq$Z68%x"  # E19's sample, one character longer so it never contains a login


def text_of(html: str, element_id: str, tag: str = "tr") -> str:
    match = re.search(rf'<{tag} id="{element_id}"[^>]*>(.*?)</{tag}>', html, re.S)
    assert match, f"no {tag} {element_id}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def field_error(html: str, name: str) -> bool:
    return re.search(rf'id="field-{re.escape(name)}">.*?class="error"', html, re.S) is not None


def count_users(db) -> int:
    return db.session.scalar(select(func.count(User.id)))


def membership(db, client, user) -> ClientUser | None:
    db.session.expire_all()
    return db.session.scalar(select(ClientUser).where(ClientUser.client_id == client.id,
                                                      ClientUser.user_id == user.id))


def levels(db, client) -> dict[int, str]:
    db.session.expire_all()
    return {m.user_id: m.access_level.value for m in db.session.scalars(
        select(ClientUser).where(ClientUser.client_id == client.id))}


@pytest.fixture
def env(app, db):
    root = make_root()
    reseller = make_reseller(root, name="Distributor")
    other = make_reseller(root, name="Other reseller")
    admin = make_staff(reseller)
    client = make_client(reseller, owner_email="owner@example.com")
    owner = client.owner
    db.session.commit()
    return {"reseller": reseller, "other": other, "admin": admin, "client": client,
            "owner": owner, "panel": Panel(app, reseller, admin)}


# -- the users section ------------------------------------------------------------------------

def test_list_searches_by_name_and_email_inside_the_tenant(db, env):
    """E17: rows «ID | Name | E-mail | Global status»; another reseller's users are not there."""
    ivan = make_user(env["reseller"], email="ivan@example.com", first_name="Иван",
                     last_name="Иванов")
    anna = make_user(env["reseller"], email="anna@example.com", first_name="Анна",
                     last_name="Герман")
    stranger = make_user(env["other"], email="ivan.other@example.com", first_name="Иван",
                         last_name="Иванов")
    db.session.commit()
    panel = env["panel"]

    html = panel.get("/users").get_data(as_text=True)
    assert text_of(html, f"client_users-{ivan.id}").startswith(
        f"{ivan.id} Иван Иванов ivan@example.com ")
    assert f"client_users-{anna.id}" in html and f"client_users-{env['owner'].id}" in html
    assert f"client_users-{stranger.id}" not in html

    by_name = panel.get("/users?q=иванов иван").get_data(as_text=True)
    assert f"client_users-{ivan.id}" in by_name and f"client_users-{anna.id}" not in by_name
    by_email = panel.get("/users?q=ANNA@", headers=HX).get_data(as_text=True)
    assert f"client_users-{anna.id}" in by_email and f"client_users-{ivan.id}" not in by_email
    assert "<html" not in by_email  # htmx gets the list fragment only


def test_create_standalone_user(db, env):
    panel = env["panel"]
    page = panel.get("/users/new").get_data(as_text=True)
    assert 'id="generate-password"' in page and 'id="password-hint"' in page
    response = panel.post("/users/new", data={
        "email": "Bill@Example.com", "password": STRONG, "first_name": "Bill",
        "middle_name": "", "last_name": "Kelis", "privacy_accepted": "y"})
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "bill@example.com"))
    assert response.headers["Location"].endswith(f"/users/{user.id}")
    assert (user.reseller_id, user.first_name, user.last_name, user.status) == (
        env["reseller"].id, "Bill", "Kelis", UserStatus.ACTIVE)
    assert verify_password(user.password_hash, STRONG)
    assert user.memberships == []  # R-USR-12: linked to a client afterwards
    assert db.session.scalar(select(AuditEvent.action).where(
        AuditEvent.subject_type == "User", AuditEvent.subject_id == user.id)) == \
        "clients.user.created"

    # E18: the user page
    html = panel.get(f"/users/{user.id}").get_data(as_text=True)
    assert text_of(html, "user-email", "dd") == "bill@example.com"
    assert 'name="email"' not in html  # the login is read-only
    assert re.search(r'id="first_name"[^>]*value="Bill"', html)


@pytest.mark.parametrize("password", ["dnqz6811", "Dq$6", ""])
def test_create_refuses_a_password_the_policy_rejects(db, env, password):
    """E19 under the Strong policy: no upper case and special, or too short."""
    security_settings(env["reseller"]).password_complexity = PasswordComplexity.STRONG
    db.session.commit()
    before = count_users(db)
    response = env["panel"].post("/users/new", data={
        "email": "weak@example.com", "password": password, "first_name": "Weak",
        "last_name": "Password"})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "password")
    assert count_users(db) == before


def test_create_refuses_a_duplicate_email_on_the_email_field(db, env):
    """A-17: unique within the reseller, case-insensitive; another reseller may reuse it."""
    make_user(env["other"], email="twin@example.com")
    make_user(env["reseller"], email="twin@example.com")
    db.session.commit()
    before = count_users(db)
    response = env["panel"].post("/users/new", data={
        "email": "TWIN@example.com", "password": STRONG, "first_name": "Twin",
        "last_name": "Brother"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert field_error(html, "email") and "twin@example.com" in html
    assert not field_error(html, "password")
    assert count_users(db) == before


def test_privacy_consent_and_additional_parameters_on_create(db, env):
    from portal.clients.services.parameters import create_parameter

    system_settings(env["reseller"]).require_privacy_consent = True
    create_parameter(env["reseller"], name="CAS user", key="cas_user", data_type="string",
                     applies_to="user", optional=False)
    db.session.commit()
    panel = env["panel"]
    page = panel.get("/users/new").get_data(as_text=True)
    assert 'id="privacy_accepted"' in page and 'name="parameters.cas_user"' in page

    data = {"email": "cas@example.com", "password": STRONG, "first_name": "Cas",
            "last_name": "User"}
    missing = panel.post("/users/new", data=data)
    assert missing.status_code == 422
    assert field_error(missing.get_data(as_text=True), "parameters-cas_user")
    assert db.session.scalar(select(User).where(User.email == "cas@example.com")) is None

    assert panel.post("/users/new", data={**data, "parameters.cas_user": "cas-42"}
                      ).status_code == 302
    user = db.session.scalar(select(User).where(User.email == "cas@example.com"))
    assert user.privacy_accepted is False  # unticked: the user consents in the client panel
    assert 'value="cas-42"' in panel.get(f"/users/{user.id}").get_data(as_text=True)


def test_user_page_edits_names(db, env):
    user = make_user(env["reseller"], first_name="Bill", last_name="Kelis")
    db.session.commit()
    panel = env["panel"]
    response = panel.post(f"/users/{user.id}", data={
        "first_name": "William", "middle_name": "J", "last_name": "Kelis"})
    assert response.status_code == 302
    db.session.expire_all()
    assert (user.first_name, user.middle_name, user.last_name) == ("William", "J", "Kelis")
    html = panel.get(f"/users/{user.id}").get_data(as_text=True)
    assert "clients.user.updated" in html  # the Event log tab

    refused = panel.post(f"/users/{user.id}", data={
        "first_name": "", "middle_name": "", "last_name": "Kelis"})
    assert refused.status_code == 422
    assert field_error(refused.get_data(as_text=True), "first_name")
    db.session.expire_all()
    assert (user.first_name, user.middle_name) == ("William", "J")


def test_staff_resets_the_password(db, env):
    """R-PWD-5: password and confirmation, equal, under the policy; the new one works."""
    user = make_user(env["reseller"], first_name="Иван", last_name="Иванов")
    db.session.commit()
    panel = env["panel"]
    page = panel.get(f"/users/{user.id}/password").get_data(as_text=True)
    assert text_of(page, "password-user-name", "dd") == "Иван Иванов"
    assert 'name="confirm"' in page and 'id="password-hint"' in page

    mismatch = panel.post(f"/users/{user.id}/password",
                          data={"password": STRONG, "confirm": STRONG + "1"})
    assert mismatch.status_code == 422
    assert field_error(mismatch.get_data(as_text=True), "confirm")
    weak = panel.post(f"/users/{user.id}/password",
                      data={"password": "short1", "confirm": "short1"})
    assert weak.status_code == 422
    assert field_error(weak.get_data(as_text=True), "password")
    db.session.expire_all()
    assert verify_password(user.password_hash, PASSWORD)

    done = panel.post(f"/users/{user.id}/password", data={"password": STRONG, "confirm": STRONG})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/users/{user.id}")
    db.session.expire_all()
    assert verify_password(user.password_hash, STRONG)
    assert not verify_password(user.password_hash, PASSWORD)


def test_generate_fills_a_password_the_policy_accepts(db, env):
    """R-PWD-4 under Strong with the login rule: both fields get the same valid password."""
    settings = security_settings(env["reseller"])
    settings.password_complexity = PasswordComplexity.STRONG
    db.session.commit()
    html = env["panel"].get("/users/generate-password?confirm=1&email=bill@example.com",
                            headers=HX).get_data(as_text=True)
    password = re.search(r'id="password" name="password" value="([^"]*)"', html).group(1)
    confirm = re.search(r'id="confirm" name="confirm" value="([^"]*)"', html).group(1)
    assert password == confirm and password
    assert password_problems(password, PasswordComplexity.STRONG, login="bill@example.com") == []


def test_send_reset_link_mails_a_token(db, env):
    user = make_user(env["reseller"])
    db.session.commit()
    html = env["panel"].get(f"/users/{user.id}").get_data(as_text=True)
    assert 'id="send-reset-link"' in html
    response = env["panel"].post(f"/users/{user.id}/send-reset-link")
    assert response.status_code == 302
    assert db.session.scalar(select(UserToken.purpose).where(UserToken.user_id == user.id)) == \
        "reset"


def test_global_deactivation_and_activation(db, env):
    """R-USR-11: every client loses access; per-client statuses keep their values."""
    client, user = env["client"], make_user(env["reseller"])
    attach_user(client, user, access_level="admin")
    db.session.commit()
    panel = env["panel"]
    assert panel.post(f"/users/{user.id}/deactivate").status_code == 302
    db.session.expire_all()
    assert user.status == UserStatus.INACTIVE
    html = panel.get(f"/users/{user.id}").get_data(as_text=True)
    assert 'id="activate-user"' in html and 'id="inactive-note"' in html
    row = re.search(rf'<tr id="membership-{client.id}">(.*?)</tr>', html, re.S).group(1)
    assert 'data-level="admin"' in row and 'data-status="active"' in row

    assert panel.post(f"/users/{user.id}/activate").status_code == 302
    db.session.expire_all()
    assert user.status == UserStatus.ACTIVE
    assert membership(db, client, user).status == UserStatus.ACTIVE


def test_login_history_tab(db, env):
    user = make_user(env["reseller"])
    db.session.add(UserSignIn(reseller_id=user.reseller_id, user_id=user.id, ip="10.1.2.3",
                              success=False, reason="bad_password"))
    db.session.commit()
    html = env["panel"].get(f"/users/{user.id}").get_data(as_text=True)
    sign_ins = re.search(r'id="user-sign-ins">(.*?)</table>', html, re.S).group(1)
    assert "10.1.2.3" in sign_ins and "bad_password" in sign_ins


# -- a client's Users tab ---------------------------------------------------------------------

def test_client_tab_shows_the_owner_row(db, env):
    """E16: one row, level Owner, both statuses active; the detach confirm says what is lost."""
    client, owner = env["client"], env["owner"]
    html = env["panel"].get(f"/clients/{client.id}/users").get_data(as_text=True)
    row = re.search(rf'<tr id="client-user-{owner.id}"[^>]*>(.*?)</tr>', html, re.S)
    assert row and 'data-level="owner"' in row.group(0)
    assert re.search(r'<option value="owner" selected>', row.group(1))
    assert row.group(1).count('data-status="active"') == 2
    assert html.count('id="client-user-') == 1
    assert 'id="detach-users"' in html and "hx-confirm" in html


def test_client_tab_search(db, env):
    client = env["client"]
    anna = make_user(env["reseller"], email="anna@example.com", first_name="Анна",
                     last_name="Герман")
    attach_user(client, anna, access_level="user")
    db.session.commit()
    html = env["panel"].get(f"/clients/{client.id}/users?q=герман",
                            headers=HX).get_data(as_text=True)
    assert f'id="client-user-{anna.id}"' in html
    assert f'id="client-user-{env["owner"].id}"' not in html


def test_create_user_as_owner_demotes_the_old_owner(db, env):
    """D7: C has owner U1; create U2 as Owner → U2 owner, U1 administrator, one owner."""
    client, old_owner = env["client"], env["owner"]
    panel = env["panel"]
    page = panel.get(f"/clients/{client.id}/users/new").get_data(as_text=True)
    assert client.name in page and '<option value="owner"' in page
    response = panel.post(f"/clients/{client.id}/users/new", data={
        "email": "new.owner@example.com", "access_level": "owner", "password": STRONG,
        "first_name": "Новый", "last_name": "Владелец"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/clients/{client.id}/users")
    new_owner = db.session.scalar(select(User).where(User.email == "new.owner@example.com"))
    assert levels(db, client) == {old_owner.id: "admin", new_owner.id: "owner"}
    assert verify_password(new_owner.password_hash, STRONG)


def test_create_client_user_refusals_name_the_field(db, env):
    client = env["client"]
    before = count_users(db)
    duplicate = env["panel"].post(f"/clients/{client.id}/users/new", data={
        "email": "OWNER@example.com", "access_level": "user", "password": STRONG,
        "first_name": "Dup", "last_name": "Licate"})
    assert duplicate.status_code == 422
    assert field_error(duplicate.get_data(as_text=True), "email")
    weak = env["panel"].post(f"/clients/{client.id}/users/new", data={
        "email": "weak@example.com", "access_level": "owner", "password": "password",
        "first_name": "Weak", "last_name": "One"})
    assert weak.status_code == 422
    assert field_error(weak.get_data(as_text=True), "password")
    assert count_users(db) == before
    assert levels(db, client) == {env["owner"].id: "owner"}


def test_attach_existing_users(db, env):
    """R-USR-7, A-19: the list holds this reseller's users not linked yet; admin or user."""
    client = env["client"]
    free = make_user(env["reseller"], email="free@example.com")
    stranger = make_user(env["other"], email="stranger@example.com")
    db.session.commit()
    panel = env["panel"]
    page = panel.get(f"/clients/{client.id}/users/attach").get_data(as_text=True)
    assert f'id="attach-user-{free.id}"' in page
    assert f'id="attach-user-{env["owner"].id}"' not in page
    assert f'id="attach-user-{stranger.id}"' not in page
    assert '<option value="owner"' not in page

    refused = panel.post(f"/clients/{client.id}/users/attach",
                         data={"user_id": free.id, "access_level": "owner"}, headers=HX)
    assert refused.status_code == 422
    assert f'id="attach-error-{free.id}"' in refused.get_data(as_text=True)
    assert membership(db, client, free) is None

    done = panel.post(f"/clients/{client.id}/users/attach",
                      data={"user_id": free.id, "access_level": "admin"}, headers=HX)
    assert done.status_code == 200
    assert f'id="attached-{free.id}"' in done.get_data(as_text=True)
    assert membership(db, client, free).access_level == AccessLevel.ADMIN
    again = panel.get(f"/clients/{client.id}/users/attach").get_data(as_text=True)
    assert f'id="attach-user-{free.id}"' not in again

    # Another reseller's user posted to the attach route is a 404, and nothing is linked.
    foreign = panel.post(f"/clients/{client.id}/users/attach",
                         data={"user_id": stranger.id, "access_level": "user"})
    assert foreign.status_code == 404
    assert membership(db, client, stranger) is None


def test_inline_level_change(db, env):
    """R-USR-8: applies at once; Owner demotes the old owner; the owner's row is not lowered."""
    client, owner = env["client"], env["owner"]
    user = make_user(env["reseller"])
    attach_user(client, user, access_level="user")
    db.session.commit()
    panel = env["panel"]
    url = f"/clients/{client.id}/users/{user.id}/level"

    response = panel.post(url, data={"access_level": "admin"}, headers=HX)
    assert response.status_code == 200 and 'id="client-users"' in response.get_data(as_text=True)
    assert levels(db, client) == {owner.id: "owner", user.id: "admin"}

    lowered = panel.post(f"/clients/{client.id}/users/{owner.id}/level",
                         data={"access_level": "user"}, headers=HX)
    assert lowered.status_code == 422
    assert f'id="level-error-{owner.id}"' in lowered.get_data(as_text=True)
    assert levels(db, client) == {owner.id: "owner", user.id: "admin"}

    promoted = panel.post(url, data={"access_level": "owner"}, headers=HX)
    assert promoted.status_code == 200
    assert levels(db, client) == {owner.id: "admin", user.id: "owner"}
    html = promoted.get_data(as_text=True)
    assert re.search(rf'<tr id="client-user-{owner.id}" data-level="admin"', html)

    assert panel.post(url, data={"access_level": "boss"}, headers=HX).status_code == 422


def test_detach_users(db, env):
    """R-USR-9: the membership goes, the user stays; the owner cannot be detached (A-18)."""
    client, owner = env["client"], env["owner"]
    first, second = make_user(env["reseller"]), make_user(env["reseller"])
    for user in (first, second):
        attach_user(client, user, access_level="user")
    db.session.commit()
    panel = env["panel"]
    url = f"/clients/{client.id}/users/detach"

    refused = panel.post(url, data={"user_ids": [first.id, owner.id]}, headers=HX)
    assert refused.status_code == 422
    assert 'id="client-users-error"' in refused.get_data(as_text=True)
    assert set(levels(db, client)) == {owner.id, first.id, second.id}

    assert panel.post(url, data={"user_ids": []}, headers=HX).status_code == 422

    done = panel.post(url, data={"user_ids": [first.id, second.id]})
    assert done.status_code == 302
    assert set(levels(db, client)) == {owner.id}
    assert db.session.get(User, first.id) is not None


def test_deactivate_and_activate_for_the_client(db, env):
    """R-USR-10: only while globally active; never the owner (A-18)."""
    client, owner = env["client"], env["owner"]
    user, sleeper = make_user(env["reseller"]), make_user(env["reseller"])
    for u in (user, sleeper):
        attach_user(client, u, access_level="user")
    sleeper.status = UserStatus.INACTIVE
    db.session.commit()
    panel = env["panel"]
    url = f"/clients/{client.id}/users/status"

    done = panel.post(url, data={"user_ids": [user.id], "status": "inactive"}, headers=HX)
    assert done.status_code == 200
    assert membership(db, client, user).status == UserStatus.INACTIVE
    row = re.search(rf'<tr id="client-user-{user.id}".*?</tr>', done.get_data(as_text=True),
                    re.S).group(0)
    assert 'data-status="inactive"' in row

    assert panel.post(url, data={"user_ids": [user.id], "status": "active"},
                      headers=HX).status_code == 200
    assert membership(db, client, user).status == UserStatus.ACTIVE

    inactive = panel.post(url, data={"user_ids": [sleeper.id], "status": "inactive"},
                          headers=HX)
    assert inactive.status_code == 422
    assert 'id="client-users-error"' in inactive.get_data(as_text=True)
    assert membership(db, client, sleeper).status == UserStatus.ACTIVE

    owner_refused = panel.post(url, data={"user_ids": [user.id, owner.id],
                                          "status": "inactive"}, headers=HX)
    assert owner_refused.status_code == 422
    assert membership(db, client, user).status == UserStatus.ACTIVE  # all or nothing
    assert membership(db, client, owner).status == UserStatus.ACTIVE


def test_product_manager_gets_403(app, db, env):
    manager = make_staff(env["reseller"], role=Role.PRODUCT_MANAGER)
    db.session.commit()
    panel = Panel(app, env["reseller"], manager)
    client, owner = env["client"], env["owner"]
    for path in ("/users", "/users/new", f"/users/{owner.id}", f"/clients/{client.id}/users",
                 f"/clients/{client.id}/users/attach", "/users/generate-password"):
        assert panel.get(path).status_code == 403, path
    assert panel.post(f"/users/{owner.id}/deactivate").status_code == 403
    assert panel.post(f"/clients/{client.id}/users/{owner.id}/level",
                      data={"access_level": "admin"}).status_code == 403
    db.session.expire_all()
    assert owner.status == UserStatus.ACTIVE


def test_another_resellers_user_and_client_are_404(db, env):
    foreign_client = make_client(env["other"])
    foreign_user = make_user(env["other"])
    db.session.commit()
    panel, client = env["panel"], env["client"]
    for path in (f"/users/{foreign_user.id}", f"/users/{foreign_user.id}/password",
                 f"/clients/{foreign_client.id}/users",
                 f"/clients/{foreign_client.id}/users/new"):
        assert panel.get(path).status_code == 404, path
    assert panel.post(f"/users/{foreign_user.id}/deactivate").status_code == 404
    assert panel.post(f"/clients/{client.id}/users/{foreign_user.id}/level",
                      data={"access_level": "admin"}).status_code == 404
    assert panel.post(f"/clients/{client.id}/users/detach",
                      data={"user_ids": [foreign_user.id]}).status_code == 404
    assert panel.post(f"/clients/{foreign_client.id}/users/detach",
                      data={"user_ids": [foreign_client.owner.id]}).status_code == 404
    db.session.expire_all()
    assert foreign_user.status == UserStatus.ACTIVE
    assert len(foreign_client.memberships) == 1


