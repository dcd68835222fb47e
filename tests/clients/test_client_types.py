"""Client types and their delegated copies (08 §2.1, §3.1 CT1–CT6, R-CT-1..13), and the
standard set a platform starts with."""

from __future__ import annotations

import itertools

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from portal.clients.models import (AdditionalParameter, Client, ClientType, LegalForm,
                                   ParameterType, ServiceRule)
from portal.clients.services import ClientsError
from portal.clients.services.client_types import (create_client_type, default_client_type,
                                                  delete_client_type, key_conflicts,
                                                  update_client_type)
from portal.clients.services.parameters import create_parameter
from portal.clients.services.setup import install_client_defaults
from portal.core.models import AuditEvent
from portal.tenancy.models import SettingsMode
from tests.factories import make_reseller, make_root

_seq = itertools.count(1)


def make_client_type(reseller, **kw):
    n = next(_seq)
    kw.setdefault("name", f"Type {n}")
    kw.setdefault("key", f"type_{n}")
    kw.setdefault("name_template", "%primary_name")
    return create_client_type(reseller, **kw)


def make_client(client_type, db):
    from portal.clients.services.setup import install_standard_service_rule
    from portal.tenancy.models import Reseller

    rule = install_standard_service_rule(db.session.get(Reseller, client_type.reseller_id))
    client = Client(reseller_id=client_type.reseller_id, client_type_id=client_type.id,
                    service_rule_id=rule.id, name=f"Client {next(_seq)}")
    db.session.add(client)
    db.session.flush()
    return client


def types_of(db, reseller):
    return db.session.scalars(select(ClientType).where(
        ClientType.reseller_id == reseller.id).order_by(ClientType.id)).all()


def by_key(db, reseller, key):
    return [t for t in types_of(db, reseller) if t.key == key]


@pytest.fixture
def tree(app, db):
    """root → dist → sub, each with the standard client types (own at root, copies below)."""
    root = make_root()
    install_client_defaults(root)
    dist = make_reseller(root, name="Distributor")
    sub = make_reseller(dist, name="Sub-reseller")
    return {"root": root, "dist": dist, "sub": sub}


def refused(call, field=None):
    with pytest.raises(ClientsError) as info:
        call()
    if field is not None:
        assert info.value.field == field, (info.value.field, str(info.value))
    return info.value


# -- the standard set ----------------------------------------------------------------------

def test_standard_types_inn_and_rule_are_installed_once(db, tree):
    root = tree["root"]
    install_client_defaults(root)  # a second run changes nothing
    types = {t.key: t for t in types_of(db, root)}
    assert {"individual", "sole_proprietor", "legal_entity", "legal_entity_no_vat"} <= set(types)
    assert [k for k in types if types[k].is_default] == ["individual"]
    assert types["individual"].name == "Физическое лицо"
    assert types["individual"].name_template == "%last_name %first_name %middle_name"
    assert types["sole_proprietor"].name_template == "ИП %last_name %first_name %middle_name"
    assert types["legal_entity"].primary_name_label == "Название компании"
    assert types["legal_entity_no_vat"].name == "Юридическое лицо (без НДС)"
    assert (types["individual"].legal_form, types["sole_proprietor"].legal_form,
            types["legal_entity"].legal_form) == (
        LegalForm.INDIVIDUAL, LegalForm.SOLE_PROPRIETOR, LegalForm.ORGANIZATION)
    inn = {p.client_type_id: p for p in db.session.scalars(select(AdditionalParameter).where(
        AdditionalParameter.reseller_id == root.id, AdditionalParameter.key == "inn"))}
    assert len(inn) == 4
    assert inn[types["individual"].id].optional is True
    assert all(inn[types[k].id].optional is False
               for k in ("sole_proprietor", "legal_entity", "legal_entity_no_vat"))
    assert all(p.data_type == ParameterType.INN and p.public and not p.unique
               for p in inn.values())
    rules = db.session.scalars(select(ServiceRule).where(
        ServiceRule.reseller_id == root.id, ServiceRule.key == "default")).all()
    assert len(rules) == 1 and rules[0].is_default and rules[0].name == "Стандартное"


# -- CT1 / CT2: copies at creation -----------------------------------------------------------

def test_new_reseller_gets_delegated_copies_with_parameters(db, tree):
    """CT2: copies of every type of the parent (a copy of a copy at the second level), the
    parent's default stays the default, and the INN parameter comes along."""
    root, dist, sub = tree["root"], tree["dist"], tree["sub"]
    root_individual = by_key(db, root, "individual")[0]
    [dist_individual] = by_key(db, dist, "individual")
    [sub_individual] = by_key(db, sub, "individual")
    assert (dist_individual.is_delegated, dist_individual.source_id) == (True, root_individual.id)
    assert (sub_individual.is_delegated, sub_individual.source_id) == (True, dist_individual.id)
    assert [t.key for t in types_of(db, sub) if t.is_default] == ["individual"]
    [inn] = db.session.scalars(select(AdditionalParameter).where(
        AdditionalParameter.reseller_id == sub.id,
        AdditionalParameter.client_type_id == sub_individual.id)).all()
    assert inn.key == "inn" and inn.is_delegated and inn.group_id is not None


@pytest.mark.parametrize("mode", list(SettingsMode))
def test_types_are_copied_whatever_the_settings_mode(db, tree, mode):
    child = make_reseller(tree["root"], settings_mode=mode)
    assert {t.key for t in types_of(db, child)} == {t.key for t in types_of(db, tree["root"])}
    assert all(t.is_delegated for t in types_of(db, child))


def test_type_created_later_reaches_every_level(db, tree):
    """CT1: a copy at every descendant; the copies are not the default there."""
    business = make_client_type(tree["dist"], name="Business", key="business")
    [sub_copy] = by_key(db, tree["sub"], "business")
    assert (sub_copy.is_delegated, sub_copy.source_id, sub_copy.is_default) == (
        True, business.id, False)
    assert by_key(db, tree["root"], "business") == []
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.subject_type == "ClientType", AuditEvent.subject_id == business.id)).all()
    assert [e.action for e in events] == ["clients.client_type.created"]


def test_first_type_of_a_reseller_is_its_default(db, app):
    root = make_root()
    lonely = make_reseller(root)
    for t in types_of(db, lonely):  # whatever the root already had
        db.session.delete(t)
    db.session.flush()
    first = make_client_type(lonely)
    second = make_client_type(lonely)
    assert (first.is_default, second.is_default) == (True, False)
    assert default_client_type(lonely) is first


# -- validation ------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "field"), [
    ({"name": "  "}, "name"),
    ({"key": ""}, "key"),
    ({"key": "Has-Dash"}, "key"),
    ({"key": "x" * 65}, "key"),
    ({"name_template": ""}, "name_template"),
    ({"name_template": "Mr Smith"}, "name_template"),
    ({"legal_form": "martian"}, "legal_form"),
])
def test_bad_type_is_refused_with_the_field_named(db, tree, change, field):
    fields = {"name": "Business", "key": "business", "name_template": "%primary_name", **change}
    with force_locale("en"):
        error = refused(lambda: create_client_type(tree["dist"], **fields), field)
        assert str(error)
    assert by_key(db, tree["dist"], fields["key"]) == []


def test_template_tokens_are_case_insensitive(db, tree):
    client_type = make_client_type(tree["dist"], name_template="%Primary_Name")
    assert client_type.uses_primary_name


def test_key_is_unique_among_own_types_only(db, tree):
    """R-CT-4: an own key may not repeat; a delegated copy with the same key is a conflict
    the list warns about (R-CT-12), not an error."""
    make_client_type(tree["sub"], name="Local", key="local")
    refused(lambda: make_client_type(tree["sub"], key="local"), "key")
    # The distributor makes "local" too: the sub-reseller receives it anyway.
    make_client_type(tree["dist"], name="From above", key="local")
    assert len(by_key(db, tree["sub"], "local")) == 2
    assert [t.name for t in key_conflicts(tree["sub"])] == ["Local"]
    assert key_conflicts(tree["dist"]) == []
    # Renaming the key ends the conflict (EX-02).
    [local] = [t for t in by_key(db, tree["sub"], "local") if not t.is_delegated]
    update_client_type(local, key="local_own")
    assert key_conflicts(tree["sub"]) == []


# -- CT3: edits ------------------------------------------------------------------------------

def test_update_reaches_copies_two_levels_down_and_keeps_their_default(db, tree):
    business = make_client_type(tree["root"], name="Business", key="business")
    [dist_copy] = by_key(db, tree["dist"], "business")
    [sub_copy] = by_key(db, tree["sub"], "business")
    update_client_type(sub_copy, is_default=True)
    update_client_type(business, name="Company", key="company", name_template="%primary_name",
                       primary_name_label="Company name", legal_form="sole_proprietor")
    db.session.expire_all()
    for copy in (dist_copy, sub_copy):
        assert (copy.name, copy.key, copy.primary_name_label, copy.legal_form) == (
            "Company", "company", "Company name", LegalForm.SOLE_PROPRIETOR)
    assert sub_copy.is_default and not dist_copy.is_default
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.subject_type == "ClientType", AuditEvent.subject_id == business.id,
        AuditEvent.action == "clients.client_type.updated")).all()
    assert events[0].changes["name"] == ["Business", "Company"]


def test_delegated_copy_takes_only_the_default_flag(db, tree):
    [copy] = by_key(db, tree["dist"], "legal_entity")
    refused(lambda: update_client_type(copy, name="Mine"), "name")
    refused(lambda: update_client_type(copy, name_template="%last_name"), "name_template")
    # Sending the unchanged values along with the flag is fine.
    update_client_type(copy, name=copy.name, key=copy.key, is_default=True)
    assert copy.is_default


def test_default_moves_by_ticking_another_type(db, tree):
    """R-CT-5: exactly one default; ticking B clears A; unticking the default is refused."""
    dist = tree["dist"]
    old = default_client_type(dist)
    new = make_client_type(dist, is_default=True)
    db.session.expire_all()
    assert new.is_default and not old.is_default
    assert [t.id for t in types_of(db, dist) if t.is_default] == [new.id]
    refused(lambda: update_client_type(new, is_default=False), "is_default")
    update_client_type(old, is_default=True)
    assert [t.id for t in types_of(db, dist) if t.is_default] == [old.id]


# -- CT4 / CT5 / CT6: deletion ----------------------------------------------------------------

def test_type_with_clients_cannot_be_deleted(db, tree):
    business = make_client_type(tree["dist"], key="business")
    make_client(business, db)
    error = refused(lambda: delete_client_type(business))
    assert error.code == "in_use"
    assert by_key(db, tree["dist"], "business")


def test_delegated_copy_cannot_be_deleted_by_the_child(db, tree):
    [copy] = by_key(db, tree["dist"], "legal_entity")
    assert refused(lambda: delete_client_type(copy)).code == "delegated"


def test_deletion_deletes_unused_copies_and_detaches_used_ones(db, tree):
    """CT4 at the distributor (no clients), so the check runs again at the sub-reseller,
    which has a client of the type: its copy stays and becomes its own (CT5)."""
    root, dist, sub = tree["root"], tree["dist"], tree["sub"]
    business = make_client_type(root, key="business")
    parameter = create_parameter(root, name="VAT no", key="vat", data_type="string",
                                 applies_to="client", client_type_id=business.id)
    [sub_copy] = by_key(db, sub, "business")
    make_client(sub_copy, db)
    delete_client_type(business)
    assert by_key(db, root, "business") == [] and by_key(db, dist, "business") == []
    [kept] = by_key(db, sub, "business")
    assert (kept.id, kept.is_delegated, kept.source_id) == (sub_copy.id, False, None)
    # Its parameter copy is the sub-reseller's own now, editable there.
    [vat] = db.session.scalars(select(AdditionalParameter).where(
        AdditionalParameter.reseller_id == sub.id, AdditionalParameter.key == "vat")).all()
    assert vat.source_id is None and vat.client_type_id == kept.id
    assert db.session.get(AdditionalParameter, parameter.id) is None
    # Now local, the sub-reseller may edit it.
    update_client_type(kept, name="Our business")


def test_detached_copy_keeps_its_own_copies_below(db, tree):
    root, dist, sub = tree["root"], tree["dist"], tree["sub"]
    business = make_client_type(root, key="business")
    [dist_copy] = by_key(db, dist, "business")
    make_client(dist_copy, db)
    delete_client_type(business)
    [sub_copy] = by_key(db, sub, "business")
    assert sub_copy.is_delegated and sub_copy.source_id == dist_copy.id
    update_client_type(dist_copy, name="Renamed at the distributor")
    db.session.expire_all()
    assert sub_copy.name == "Renamed at the distributor"


def test_deleted_default_is_replaced_by_the_lowest_id(db, tree):
    dist = tree["dist"]
    own = make_client_type(dist, is_default=True)
    lowest = types_of(db, dist)[0]
    delete_client_type(own)
    db.session.expire_all()
    assert [t.id for t in types_of(db, dist) if t.is_default] == [lowest.id]


def test_deleted_type_that_was_a_copys_default_hands_it_on(db, tree):
    root, sub = tree["root"], tree["sub"]
    business = make_client_type(root, key="business")
    [sub_copy] = by_key(db, sub, "business")
    update_client_type(sub_copy, is_default=True)
    delete_client_type(business)
    db.session.expire_all()
    defaults = [t for t in types_of(db, sub) if t.is_default]
    assert len(defaults) == 1 and defaults[0].id == types_of(db, sub)[0].id
