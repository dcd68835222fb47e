"""Users of the client panel and their memberships (01 §3.7, R-USR-1..12, A-17, A-18, D7, E15)."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from portal.accounts.services.passwords import verify_password
from portal.clients.models import AccessLevel, UserStatus
from portal.clients.services import ClientsError
from portal.clients.services.users import (attach_user, create_client_user, create_user,
                                           detach_user, membership_of, set_access_level,
                                           set_membership_status, set_user_password,
                                           set_user_status, update_user)
from tests.factories import make_client, make_reseller, make_root, make_user


@pytest.fixture
def reseller(db):
    with force_locale("en"):
        yield make_reseller(make_root())


def owners(client):
    return [m.user.email for m in client.memberships if m.access_level == AccessLevel.OWNER]


def test_a_new_owner_demotes_the_old_one(reseller):
    """D7: U2 created as owner → U2 owner, U1 administrator; exactly one owner."""
    client = make_client(reseller, owner_email="u1@example.com")
    create_client_user(client, access_level="owner", email="u2@example.com", first_name="B",
                       last_name="Two", password="Str0ng-pass")
    assert owners(client) == ["u2@example.com"]
    u1 = membership_of(client, client.memberships[0].user_id)
    assert u1.access_level == AccessLevel.ADMIN
    # Making U1 owner again in place demotes U2 the same way (R-USR-8).
    set_access_level(u1, "owner")
    assert owners(client) == ["u1@example.com"]


def test_the_owners_level_changes_only_through_a_new_owner(reseller):
    client = make_client(reseller)
    with pytest.raises(ClientsError):
        set_access_level(client.owner_membership, "user")
    with pytest.raises(ClientsError):
        detach_user(client.owner_membership)
    with pytest.raises(ClientsError):
        set_membership_status(client.owner_membership, "inactive")


def test_one_person_is_a_user_of_several_clients_with_different_levels(reseller):
    """E15: administrator of a legal entity and owner of a person client."""
    user = make_user(reseller)
    business = make_client(reseller)
    personal = make_client(reseller, owner_user_id=user.id)
    attach_user(business, user, access_level="admin")
    levels = {m.client_id: m.access_level for m in user.memberships}
    assert levels == {business.id: AccessLevel.ADMIN, personal.id: AccessLevel.OWNER}


def test_attaching_offers_admin_or_user_only_and_refuses_duplicates(reseller):
    client = make_client(reseller)
    user = make_user(reseller)
    with pytest.raises(ClientsError) as refusal:
        attach_user(client, user, access_level="owner")
    assert refusal.value.field == "access_level"
    attach_user(client, user, access_level="user")
    with pytest.raises(ClientsError) as refusal:
        attach_user(client, user, access_level="admin")
    assert refusal.value.status == 409


def test_duplicate_email_in_the_reseller_is_refused_on_the_email_field(reseller):
    client = make_client(reseller, owner_email="same@example.com")
    with pytest.raises(ClientsError) as refusal:
        create_client_user(client, access_level="user", email="SAME@example.com",
                           first_name="A", last_name="B")
    assert refusal.value.field == "email"
    # Another reseller's panel is another world (01 A-17).
    other = make_reseller(make_root())
    assert create_user(other, email="same@example.com", first_name="A", last_name="B").id


def test_detach_keeps_the_user_and_moves_contacts_back_to_the_owner(reseller):
    client = make_client(reseller)
    membership = create_client_user(client, access_level="admin", email="tech@example.com",
                                    first_name="T", last_name="Tech")
    client.technical_contact_id = membership.user_id
    user = membership.user
    detach_user(membership)
    assert [m.user_id for m in client.memberships] == [client.owner.id]
    assert client.technical_contact_id == client.owner.id
    assert user.id and user.memberships == []


def test_per_client_deactivation_needs_a_globally_active_user(reseller):
    client = make_client(reseller)
    membership = attach_user(client, make_user(reseller), access_level="user")
    set_membership_status(membership, "inactive")
    assert membership.status == UserStatus.INACTIVE
    set_user_status(membership.user, "inactive")
    with pytest.raises(ClientsError):
        set_membership_status(membership, "active")
    set_user_status(membership.user, "active")
    # R-USR-11: the per-client status keeps its own value through a global round trip.
    assert membership.status == UserStatus.INACTIVE
    set_membership_status(membership, "active")
    assert membership.status == UserStatus.ACTIVE


def test_passwords_follow_the_reseller_policy(reseller):
    user = make_user(reseller)
    with pytest.raises(ClientsError) as refusal:
        set_user_password(user, "short1")
    assert refusal.value.field == "password"
    set_user_password(user, "Dnq$Z68%")  # the manual's own sample (E19)
    assert verify_password(user.password_hash, "Dnq$Z68%")


def test_the_email_is_the_login_and_stays(reseller):
    user = make_user(reseller, email="keep@example.com")
    update_user(user, first_name="New", last_name="Name")
    assert user.full_name == "New Name"
    with pytest.raises(ClientsError) as refusal:
        update_user(user, email="other@example.com")
    assert refusal.value.field == "email"
    with pytest.raises(ClientsError) as refusal:
        update_user(user, first_name="")
    assert refusal.value.field == "first_name"
