"""System settings: masks, languages, agreements, the platform time zone; document numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from portal.core.clock import clock
from portal.core.errors import DomainError
from portal.settings.models import DocumentType
from portal.settings.services import (next_document_number, system_settings,
                                      update_system_settings)
from tests.factories import Panel, make_reseller, make_root, make_staff


def test_document_numbers_follow_the_mask_per_reseller(db):
    root = make_root()
    acme = make_reseller(root)
    assert next_document_number(root, DocumentType.SALES_ORDER) == "SO000001"
    assert next_document_number(root, DocumentType.SALES_ORDER) == "SO000002"
    assert next_document_number(acme, DocumentType.SALES_ORDER) == "SO000001"
    update_system_settings(acme, number_masks={"payment": "PAY-%8-X"})
    assert next_document_number(acme, DocumentType.PAYMENT) == "PAY-00000001-X"


@pytest.mark.parametrize("mask", ["SO%5", "SO-", "S O%6", ""])
def test_bad_masks_are_refused_and_nothing_changes(db, mask):
    root = make_root()
    with pytest.raises(DomainError):
        update_system_settings(root, number_masks={"sales_order": mask} if mask else
                               {"sales_order": "%"})
    assert system_settings(root).mask_for(DocumentType.SALES_ORDER) == "SO%6"


def test_languages_need_one_ticked_and_a_default_among_them(db):
    root = make_root()
    with pytest.raises(DomainError):
        update_system_settings(root, operator_languages=[])
    with pytest.raises(DomainError):
        update_system_settings(root, operator_languages=["en"], operator_default_language="ru")
    update_system_settings(root, operator_languages=["en"], operator_default_language="en")
    assert system_settings(root).operator_languages == ["en"]


def test_agreement_needs_its_link(db):
    root = make_root()
    with pytest.raises(DomainError) as refused:
        update_system_settings(root, require_terms_consent=True, terms_url="")
    assert refused.value.field == "terms_url"
    update_system_settings(root, require_terms_consent=True, terms_url="https://x.test/terms")
    assert system_settings(root).require_terms_consent


def test_platform_time_zone_decides_today(db, frozen_clock):
    # 22.11.2026 22:30 UTC is already 23.11 in Moscow (UTC+3) but still 22.11 in London.
    frozen_clock.set(datetime(2026, 11, 22, 22, 30, tzinfo=UTC))
    assert clock.today() == date(2026, 11, 23)
    loader = clock._zone_loader
    try:
        clock.set_zone_loader(lambda: "Europe/London")
        assert clock.today() == date(2026, 11, 22)
    finally:
        clock.set_zone_loader(loader)


def test_settings_form_shows_errors_next_to_fields(app, db):
    root = make_root()
    admin = make_staff(root)
    panel = Panel(app, root, admin)
    page = panel.get("/settings/system")
    assert page.status_code == 200
    data = {"time_zone": "Europe/Moscow", "operator_languages": ["ru", "en"],
            "operator_default_language": "ru", "client_languages": ["ru"],
            "client_default_language": "ru", "storefront_url": "",
            "privacy_policy_url": "", "terms_url": ""}
    data.update({f"mask_{d.value}": "X%6" for d in DocumentType})
    data["mask_payment"] = "P%3"
    response = panel.post("/settings/system", data=data)
    assert response.status_code == 422
    assert 'id="field-mask_payment"' in response.get_data(as_text=True)
    assert system_settings(root).mask_for(DocumentType.SALES_ORDER) == "SO%6"
    data["mask_payment"] = "P%6"
    assert panel.post("/settings/system", data=data).status_code == 302
    assert system_settings(root).mask_for(DocumentType.SALES_ORDER) == "X%6"
