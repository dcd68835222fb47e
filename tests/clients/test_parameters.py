"""Additional parameters and groups (08 §2.15–2.16, R-AP-1..17): validation, copies that
follow a client type's delegated copies, groups and the default group."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.clients.models import (AdditionalParameter, AdditionalParameterGroup,
                                   AdditionalParameterValue, ClientType, ParameterTarget)
from portal.clients.services import ClientsError
from portal.clients.services.client_types import create_client_type
from portal.clients.services.parameters import (create_parameter, create_parameter_group,
                                                delete_parameter, delete_parameter_group,
                                                ensure_default_group, list_parameters,
                                                parameter_copies, rename_parameter_group,
                                                update_parameter)
from portal.clients.services.setup import install_client_defaults
from portal.tenancy.models import SettingsMode
from tests.factories import make_reseller, make_root


@pytest.fixture
def tree(app, db):
    root = make_root()
    install_client_defaults(root)
    dist = make_reseller(root, name="Distributor")
    sub = make_reseller(dist, name="Sub-reseller")
    business = create_client_type(root, name="Business", key="business",
                                  name_template="%primary_name")
    return {"root": root, "dist": dist, "sub": sub, "business": business}


def type_at(db, reseller, key):
    return db.session.scalar(select(ClientType).where(ClientType.reseller_id == reseller.id,
                                                      ClientType.key == key))


def params_of(db, reseller, key=None):
    query = select(AdditionalParameter).where(AdditionalParameter.reseller_id == reseller.id)
    if key:
        query = query.where(AdditionalParameter.key == key)
    return db.session.scalars(query.order_by(AdditionalParameter.id)).all()


def client_param(tree, **kw):
    fields = {"name": "КПП", "key": "kpp", "data_type": "string", "applies_to": "client",
              "client_type_id": tree["business"].id, **kw}
    return create_parameter(tree["root"], **fields)


def refused(call, field=None):
    with pytest.raises(ClientsError) as info:
        call()
    if field is not None:
        assert info.value.field == field, (info.value.field, str(info.value))
    return info.value


def test_parameter_lands_in_the_default_group(db, tree):
    parameter = client_param(tree, format=r"\d{9}", default_value="123456789", weight=5)
    group = ensure_default_group(tree["root"])
    assert parameter.group_id == group.id and group.name == "Default" and group.is_default
    assert (parameter.optional, parameter.public, parameter.unique) == (False, False, False)


def test_client_parameter_follows_the_types_copies_two_levels_down(db, tree):
    parameter = client_param(tree, optional=True, description="Tax registration code")
    dist_copy = params_of(db, tree["dist"], "kpp")[0]
    sub_copy = params_of(db, tree["sub"], "kpp")[0]
    assert (dist_copy.source_id, sub_copy.source_id) == (parameter.id, dist_copy.id)
    assert dist_copy.client_type_id == type_at(db, tree["dist"], "business").id
    assert sub_copy.client_type_id == type_at(db, tree["sub"], "business").id
    assert sub_copy.group_id == ensure_default_group(tree["sub"]).id
    assert sub_copy.optional and sub_copy.description == "Tax registration code"
    assert [c.id for c in parameter_copies(parameter)] == [dist_copy.id, sub_copy.id]

    update_parameter(parameter, name="КПП организации", optional=False, weight=3)
    db.session.expire_all()
    assert (sub_copy.name, sub_copy.optional, sub_copy.weight) == ("КПП организации", False, 3)

    db.session.add(AdditionalParameterValue(reseller_id=tree["sub"].id,
                                            parameter_id=sub_copy.id, entity_type="client",
                                            entity_id=1, value="x"))
    db.session.flush()
    delete_parameter(parameter)
    assert params_of(db, tree["dist"], "kpp") == [] and params_of(db, tree["sub"], "kpp") == []
    assert db.session.scalars(select(AdditionalParameterValue).where(
        AdditionalParameterValue.reseller_id == tree["sub"].id)).all() == []


def test_copies_are_read_only_below(db, tree):
    client_param(tree)
    copy = params_of(db, tree["dist"], "kpp")[0]
    refused(lambda: update_parameter(copy, name="Mine"), "name")
    refused(lambda: delete_parameter(copy))
    update_parameter(copy, name=copy.name)  # nothing changes: nothing to refuse


def test_parameter_of_a_new_reseller_arrives_with_the_type(db, tree):
    client_param(tree)
    late = make_reseller(tree["dist"], settings_mode=SettingsMode.COPY_STANDARD)
    [copy] = params_of(db, late, "kpp")
    assert copy.client_type_id == type_at(db, late, "business").id and copy.is_delegated


def test_own_parameter_on_a_delegated_type_reaches_further_down(db, tree):
    dist_business = type_at(db, tree["dist"], "business")
    own = create_parameter(tree["dist"], name="Manager code", key="manager_code",
                           data_type="string", applies_to="client",
                           client_type_id=dist_business.id)
    assert not own.is_delegated
    [copy] = params_of(db, tree["sub"], "manager_code")
    assert copy.source_id == own.id
    assert params_of(db, tree["root"], "manager_code") == []


@pytest.mark.parametrize(("change", "field"), [
    ({"name": ""}, "name"),
    ({"key": " "}, "key"),
    ({"key": "k" * 65}, "key"),
    ({"data_type": "colour"}, "data_type"),
    ({"applies_to": "plan"}, "applies_to"),
    ({"client_type_id": None}, "client_type_id"),
    ({"client_type_id": 10**9}, "client_type_id"),
    ({"format": "([a-z"}, "format"),
    ({"format": r"\d+", "default_value": "abc"}, "default_value"),
    ({"data_type": "list", "options": []}, "options"),
    ({"data_type": "list", "options": [{"name": "A", "key": "a"}, {"name": "B", "key": "a"}]},
     "options"),
    ({"data_type": "list", "options": [{"name": "", "key": "a"}]}, "options"),
    ({"data_type": "list", "options": [{"name": "A", "key": "a"}], "format": ".*"}, "format"),
    ({"data_type": "list", "options": [{"name": "A", "key": "a"}],
      "first_option_is_default": True, "optional": False}, "first_option_is_default"),
    ({"data_type": "list", "options": [{"name": "A", "key": "a"}], "default_value": "b"},
     "default_value"),
    ({"data_type": "boolean", "default_value": "yes"}, "default_value"),
    ({"data_type": "date", "default_value": "31.12.2026"}, "default_value"),
    ({"optional": "no"}, "optional"),
    ({"weight": "heavy"}, "weight"),
    ({"group_id": 10**9}, "group_id"),
])
def test_bad_parameter_is_refused_with_the_field_named(db, tree, change, field):
    before = len(params_of(db, tree["root"]))
    refused(lambda: client_param(tree, **change), field)
    assert len(params_of(db, tree["root"])) == before


def test_client_type_of_another_reseller_is_refused(db, tree):
    sibling = make_reseller(tree["root"])
    foreign = create_client_type(sibling, name="Theirs", key="theirs", name_template="%last_name")
    refused(lambda: client_param(tree, client_type_id=foreign.id), "client_type_id")


def test_key_is_unique_per_target_and_type(db, tree):
    client_param(tree)
    refused(lambda: client_param(tree, name="Again"), "key")
    individual = type_at(db, tree["root"], "individual")
    assert client_param(tree, client_type_id=individual.id).key == "kpp"
    user = create_parameter(tree["root"], name="KPP", key="kpp", data_type="string",
                            applies_to="user", client_type_id=tree["business"].id)
    assert user.client_type_id is None and user.applies_to == ParameterTarget.USER


def test_ex32_list_with_a_default_first_option(db, tree):
    options = [{"name": "default", "key": "default"}, {"name": "first", "key": "first"},
               {"name": "second", "key": "second"}]
    parameter = client_param(tree, data_type="list", options=options, optional=True,
                             first_option_is_default=True, key="choice")
    assert [o["key"] for o in parameter.options] == ["default", "first", "second"]
    # Required again: the default option must go (R-AP-5).
    refused(lambda: update_parameter(parameter, optional=False), "first_option_is_default")
    update_parameter(parameter, optional=False, first_option_is_default=False)
    assert parameter.optional is False


def test_type_and_target_are_fixed_after_creation(db, tree):
    parameter = client_param(tree)
    refused(lambda: update_parameter(parameter, data_type="text"), "data_type")
    refused(lambda: update_parameter(parameter, applies_to="user"), "applies_to")
    update_parameter(parameter, data_type="string", applies_to="client")


def test_list_is_in_weight_order(db, tree):
    heavy = client_param(tree, key="heavy", weight=10)
    light = client_param(tree, key="light", weight=-1)
    ids = [p.id for p in list_parameters(tree["root"], client_type_id=tree["business"].id)]
    assert ids == [light.id, heavy.id]


# -- groups (R-AP-15) --------------------------------------------------------------------------

def test_deleting_a_group_moves_its_parameters_to_the_default(db, tree):
    root = tree["root"]
    microsoft = create_parameter_group(root, name="Microsoft")
    parameter = client_param(tree, key="tenant_id", group_id=microsoft.id)
    rename_parameter_group(microsoft, name="Microsoft CSP")
    assert microsoft.name == "Microsoft CSP"
    refused(lambda: rename_parameter_group(microsoft, name=" "), "name")
    delete_parameter_group(microsoft)
    assert db.session.get(AdditionalParameter, parameter.id).group_id == \
        ensure_default_group(root).id
    assert db.session.get(AdditionalParameterGroup, microsoft.id) is None


def test_default_group_cannot_be_deleted(db, tree):
    default = ensure_default_group(tree["root"])
    assert refused(lambda: delete_parameter_group(default)).code == "default_group"


def test_copy_provider_copies_groups_and_user_parameters(db, tree):
    root = tree["root"]
    microsoft = create_parameter_group(root, name="Microsoft")
    create_parameter(root, name="Telegram", key="telegram", data_type="string",
                     applies_to="user", group_id=microsoft.id, optional=True)
    client_param(tree, key="tenant_id", group_id=microsoft.id)
    child = make_reseller(root, settings_mode=SettingsMode.COPY_PROVIDER)
    groups = {g.name: g for g in db.session.scalars(select(AdditionalParameterGroup).where(
        AdditionalParameterGroup.reseller_id == child.id))}
    # The root's own groups: its default one, the installed bank details, and Microsoft.
    assert set(groups) == {"Default", "Банковские реквизиты", "Microsoft"}
    assert groups["Default"].is_default
    [telegram] = params_of(db, child, "telegram")
    assert telegram.group_id == groups["Microsoft"].id and telegram.source_id is None
    [tenant] = params_of(db, child, "tenant_id")
    assert tenant.group_id == groups["Microsoft"].id and tenant.is_delegated

    plain = make_reseller(root, settings_mode=SettingsMode.COPY_STANDARD)
    assert params_of(db, plain, "telegram") == []
    assert len(params_of(db, plain, "tenant_id")) == 1  # it follows the client type
