"""The client settings a platform starts with: the parameter group, the four standard client
types with their INN parameter, and the standard service rule (seeds 000, 08 §2.1–2.2).

The names are data in the root's language (Russian); every step skips what already exists, so
running it again changes nothing.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from portal.clients.models import (AdditionalParameter, ClientType, LegalForm, ParameterTarget,
                                   ParameterType, PaymentModel, ServiceRule)
from portal.clients.services.client_types import create_client_type
from portal.clients.services.parameters import create_parameter, ensure_default_group
from portal.clients.services.service_rules import create_service_rule, default_service_rule
from portal.extensions import db
from portal.tenancy.models import Reseller

# key, name, name template, primary-name label, legal form, INN optional
STANDARD_CLIENT_TYPES = (
    ("individual", "Физическое лицо", "%last_name %first_name %middle_name", "",
     LegalForm.INDIVIDUAL, True),
    ("sole_proprietor", "Индивидуальный предприниматель", "ИП %last_name %first_name %middle_name",
     "", LegalForm.SOLE_PROPRIETOR, False),
    ("legal_entity", "Юридическое лицо", "%primary_name", "Название компании",
     LegalForm.ORGANIZATION, False),
    ("legal_entity_no_vat", "Юридическое лицо (без НДС)", "%primary_name", "Название компании",
     LegalForm.ORGANIZATION, False),
)
STANDARD_RULE = {"name": "Стандартное", "key": "default", "payment_model": PaymentModel.PREPAY,
                 "block_threshold": Decimal("0")}


def install_standard_service_rule(reseller: Reseller) -> ServiceRule:
    """The standard service rule "Стандартное" (prepay, threshold 0), the default unless the
    reseller already has one."""
    rule = db.session.scalar(select(ServiceRule).where(ServiceRule.reseller_id == reseller.id,
                                                       ServiceRule.key == STANDARD_RULE["key"]))
    if rule is None:
        rule = create_service_rule(reseller, **STANDARD_RULE,
                                   is_default=default_service_rule(reseller) is None)
    return rule


def install_client_defaults(reseller: Reseller) -> None:
    """Seed a top reseller (the root operator): group, standard types with INN, standard rule.

    The types reach any reseller below as delegated copies (08 CT1), with their parameters.
    """
    ensure_default_group(reseller)
    own = {t.key: t for t in db.session.scalars(select(ClientType).where(
        ClientType.reseller_id == reseller.id, ClientType.is_delegated.is_(False)))}
    for key, name, template, label, legal_form, inn_optional in STANDARD_CLIENT_TYPES:
        client_type = own.get(key)
        if client_type is None:
            client_type = create_client_type(
                reseller, name=name, key=key, name_template=template, primary_name_label=label,
                legal_form=legal_form, is_default=key == "individual" and not own)
        has_inn = db.session.scalar(select(AdditionalParameter.id).where(
            AdditionalParameter.reseller_id == reseller.id,
            AdditionalParameter.client_type_id == client_type.id,
            AdditionalParameter.key == "inn").limit(1))
        if has_inn is None:
            create_parameter(reseller, name="ИНН", key="inn", data_type=ParameterType.INN,
                             applies_to=ParameterTarget.CLIENT, client_type_id=client_type.id,
                             public=True, unique=False, optional=inn_optional)
        if legal_form != LegalForm.INDIVIDUAL:
            _install_bank_details(reseller, client_type)
    install_standard_service_rule(reseller)
    db.session.flush()


# The bank details on the client page (issue 4): optional typed parameters of the types that
# sign contracts as organisations or sole proprietors; key, name, format.
BANK_DETAILS = (("bank_name", "Банк", ""), ("bik", "БИК", r"\d{9}"),
                ("settlement_account", "Расчётный счёт", r"\d{20}"),
                ("correspondent_account", "Корреспондентский счёт", r"\d{20}"))
BANK_GROUP = "Банковские реквизиты"


def _install_bank_details(reseller: Reseller, client_type: ClientType) -> None:
    from portal.clients.models import AdditionalParameterGroup  # noqa: PLC0415
    from portal.clients.services.parameters import create_parameter_group  # noqa: PLC0415

    group = db.session.scalar(select(AdditionalParameterGroup).where(
        AdditionalParameterGroup.reseller_id == reseller.id,
        AdditionalParameterGroup.name == BANK_GROUP))
    if group is None:
        group = create_parameter_group(reseller, name=BANK_GROUP)
    existing = set(db.session.scalars(select(AdditionalParameter.key).where(
        AdditionalParameter.reseller_id == reseller.id,
        AdditionalParameter.client_type_id == client_type.id)))
    for weight, (key, name, pattern) in enumerate(BANK_DETAILS, start=10):
        if key not in existing:
            create_parameter(reseller, name=name, key=key, data_type=ParameterType.STRING,
                             applies_to=ParameterTarget.CLIENT, client_type_id=client_type.id,
                             group_id=group.id, format=pattern, public=True, optional=True,
                             weight=weight)
