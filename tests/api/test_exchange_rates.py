"""/api/v1/exchange-rates and /api/v1/currencies: dated rates per reseller, set at the root,
overridden and reverted below it (04b §4.14; DECISIONS D10; API.md "exchange-rates")."""

from __future__ import annotations

import pytest

from tests.api.conftest import assert_error

TODAY = "2026-11-22"  # the frozen clock's day


def post(api, token, **body):
    return api.as_(token).post("/exchange-rates", json=body)


def rates(api, token, query="base_currency=RUB") -> dict[str, dict]:
    response = api.as_(token).get(f"/exchange-rates?{query}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == {"items", "total", "page", "per_page"}
    return {item["quote_currency"]: item for item in body["items"]}


def test_currencies_are_listed(api, tree):
    response = api.as_(tree.root_token).get("/currencies")
    assert response.status_code == 200
    body = response.get_json()
    codes = {item["code"]: item["precision"] for item in body["items"]}
    assert codes["RUB"] == 2 and codes["USD"] == 2 and body["total"] == len(codes)


def test_unset_rates_default_to_one_for_every_other_currency(api, tree):
    listed = rates(api, tree.alpha_token)
    assert "RUB" not in listed and {"USD", "EUR"} <= set(listed)
    assert listed["USD"] == {"base_currency": "RUB", "quote_currency": "USD", "units": 1,
                             "rate": "1.0000", "display_rate": "1.00", "valid_from": None,
                             "source": "default"}


def test_root_sets_a_rate_and_every_level_inherits_it(api, tree):
    response = post(api, tree.root_token, base_currency="RUB", quote_currency="USD",
                    rate="92.5")
    assert response.status_code == 201, response.get_json()
    row = response.get_json()
    assert row["units"] == 1 and row["rate"] == "92.5000"
    assert row["valid_from"] == TODAY and row["inherit"] is False and row["level"] == "own"
    assert isinstance(row["id"], int)

    assert rates(api, tree.root_token)["USD"]["source"] == "own"
    for token in (tree.alpha_token, tree.beta_token):
        usd = rates(api, token)["USD"]
        assert (usd["rate"], usd["source"], usd["valid_from"]) == ("92.5000", "root", TODAY)


def test_child_overrides_only_for_itself_then_reverts(api, tree):
    assert post(api, tree.root_token, base_currency="RUB", quote_currency="USD", rate="90",
                valid_from="2026-11-01").status_code == 201
    response = post(api, tree.alpha_token, base_currency="RUB", quote_currency="USD",
                    units=100, rate="9500")
    assert response.status_code == 201
    assert rates(api, tree.alpha_token)["USD"] == {
        "base_currency": "RUB", "quote_currency": "USD", "units": 100, "rate": "9500.0000",
        "display_rate": "95.0000", "valid_from": TODAY, "source": "own"}
    # the sibling and the root keep the root's rate
    assert rates(api, tree.beta_token)["USD"]["rate"] == "90.0000"
    assert rates(api, tree.root_token)["USD"]["rate"] == "90.0000"

    reverted = post(api, tree.alpha_token, base_currency="RUB", quote_currency="USD",
                    inherit=True, valid_from="2026-12-01")
    assert reverted.status_code == 201
    assert reverted.get_json()["inherit"] is True and reverted.get_json()["rate"] is None
    assert rates(api, tree.alpha_token)["USD"]["source"] == "own"  # not yet
    december = rates(api, tree.alpha_token, "base_currency=RUB&on=2026-12-01")["USD"]
    assert (december["rate"], december["source"]) == ("90.0000", "root")


def test_rates_on_a_past_day(api, tree):
    post(api, tree.root_token, base_currency="RUB", quote_currency="EUR", rate="100",
         valid_from="2026-11-10")
    post(api, tree.root_token, base_currency="RUB", quote_currency="EUR", rate="105",
         valid_from="2026-11-20")
    assert rates(api, tree.alpha_token, "base_currency=RUB&on=2026-11-15")["EUR"]["rate"] == \
        "100.0000"
    assert rates(api, tree.alpha_token, "base_currency=RUB&on=2026-11-09")["EUR"]["source"] == \
        "default"
    assert rates(api, tree.alpha_token, "base_currency=RUB&quote_currency=EUR")["EUR"][
        "rate"] == "105.0000"


def test_base_currency_defaults_to_the_resellers(api, tree):
    # make_reseller gives RUB
    listed = rates(api, tree.alpha_token, "")
    assert all(item["base_currency"] == tree.alpha.currency for item in listed.values())


def test_same_day_twice_replaces(api, tree):
    first = post(api, tree.root_token, base_currency="RUB", quote_currency="USD", rate="90")
    second = post(api, tree.root_token, base_currency="RUB", quote_currency="USD", rate="91")
    assert first.get_json()["id"] == second.get_json()["id"]
    history = api.as_(tree.root_token).get("/exchange-rates/history?quote_currency=USD")
    assert [i["rate"] for i in history.get_json()["items"]] == ["91.0000"]


def test_history_shows_own_and_root_rows_marked(api, tree):
    post(api, tree.root_token, base_currency="RUB", quote_currency="USD", rate="90",
         valid_from="2026-11-01")
    post(api, tree.alpha_token, base_currency="RUB", quote_currency="USD", rate="95")
    post(api, tree.beta_token, base_currency="RUB", quote_currency="USD", rate="77")
    response = api.as_(tree.alpha_token).get(
        "/exchange-rates/history?base_currency=RUB&quote_currency=USD")
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [(i["rate"], i["level"]) for i in items] == [("95.0000", "own"), ("90.0000", "root")]
    # the sibling's override is nowhere to be seen
    assert "77.0000" not in response.get_data(as_text=True)
    root_items = api.as_(tree.root_token).get("/exchange-rates/history").get_json()["items"]
    assert [(i["rate"], i["level"]) for i in root_items] == [("90.0000", "own")]
    oldest_first = api.as_(tree.alpha_token).get("/exchange-rates/history?sort=valid_from")
    assert [i["rate"] for i in oldest_first.get_json()["items"]] == ["90.0000", "95.0000"]


@pytest.mark.parametrize(("body", "field"), [
    ({"quote_currency": "USD", "rate": "2"}, "base_currency"),
    ({"base_currency": "RUB", "rate": "2"}, "quote_currency"),
    ({"base_currency": "XYZ", "quote_currency": "USD", "rate": "2"}, "base_currency"),
    ({"base_currency": "RUB", "quote_currency": "RUB", "rate": "2"}, "quote_currency"),
    ({"base_currency": 5, "quote_currency": "USD", "rate": "2"}, "base_currency"),
    ({"base_currency": "RUB", "quote_currency": "USD"}, "rate"),
    ({"base_currency": "RUB", "quote_currency": "USD", "rate": 2.5}, "rate"),
    ({"base_currency": "RUB", "quote_currency": "USD", "rate": 2.0}, "rate"),
    ({"base_currency": "RUB", "quote_currency": "USD", "rate": "0"}, "rate"),
    ({"base_currency": "RUB", "quote_currency": "USD", "rate": "-1"}, "rate"),
    ({"base_currency": "RUB", "quote_currency": "USD", "rate": "1.23456"}, "rate"),
    ({"base_currency": "RUB", "quote_currency": "USD", "rate": "lots"}, "rate"),
    ({"base_currency": "RUB", "quote_currency": "USD", "rate": "1e400"}, "rate"),
    ({"base_currency": "RUB", "quote_currency": "USD", "rate": True}, "rate"),
    ({"base_currency": "RUB", "quote_currency": "USD", "rate": ["2"]}, "rate"),
    ({"base_currency": "RUB", "quote_currency": "USD", "rate": "2", "units": 0}, "units"),
    ({"base_currency": "RUB", "quote_currency": "USD", "rate": "2", "units": 1.5}, "units"),
    ({"base_currency": "RUB", "quote_currency": "USD", "rate": "2", "units": "x"}, "units"),
    ({"base_currency": "RUB", "quote_currency": "USD", "rate": "2", "units": 10 ** 12}, "units"),
    ({"base_currency": "RUB", "quote_currency": "USD", "rate": "2",
      "valid_from": "22.11.2026"}, "valid_from"),
    ({"base_currency": "RUB", "quote_currency": "USD", "rate": "2",
      "valid_from": "2026-02-30"}, "valid_from"),
    ({"base_currency": "RUB", "quote_currency": "USD", "rate": "2", "valid_from": 20261122},
     "valid_from"),
    ({"base_currency": "RUB", "quote_currency": "USD", "rate": "2", "inherit": "yes"}, "inherit"),
])
def test_bad_input_is_422_and_stores_nothing(api, tree, body, field):
    assert_error(post(api, tree.alpha_token, **body), 422, fields=[field])
    history = api.as_(tree.alpha_token).get("/exchange-rates/history")
    assert history.get_json()["total"] == 0


def test_a_float_rate_is_refused_with_its_own_message(api, tree):
    as_float = assert_error(post(api, tree.root_token, base_currency="RUB", quote_currency="USD",
                                 rate=92.5), 422, fields=["rate"])
    as_list = assert_error(post(api, tree.root_token, base_currency="RUB", quote_currency="USD",
                                rate=["92.5"]), 422, fields=["rate"])
    assert as_float["fields"]["rate"] != as_list["fields"]["rate"]
    assert "92.5000" in as_float["fields"]["rate"][0]  # it shows how to send it


def test_the_root_cannot_inherit(api, tree):
    assert_error(post(api, tree.root_token, base_currency="RUB", quote_currency="USD",
                      inherit=True), 422, fields=["inherit"])


def test_inherit_takes_no_rate(api, tree):
    assert_error(post(api, tree.alpha_token, base_currency="RUB", quote_currency="USD",
                      inherit=True, rate="2"), 422, fields=["rate"])


@pytest.mark.parametrize("query", ["base_currency=XYZ", "on=2026-13-01", "on=yesterday",
                                   "quote_currency=ABC", "page=x"])
def test_bad_list_queries_are_422(api, tree, query):
    assert_error(api.as_(tree.alpha_token).get(f"/exchange-rates?{query}"), 422)


@pytest.mark.parametrize("query", ["base_currency=XYZ", "sort=rate", "per_page=x"])
def test_bad_history_queries_are_422(api, tree, query):
    assert_error(api.as_(tree.alpha_token).get(f"/exchange-rates/history?{query}"), 422)


def test_permissions(api, tree):
    # a sales manager has no "currencies" section (08 matrix)
    for path in ("/currencies", "/exchange-rates", "/exchange-rates/history"):
        assert_error(api.as_(tree.sales_token).get(path), 403, code="forbidden")
    assert_error(post(api, tree.sales_token, base_currency="RUB", quote_currency="USD",
                      rate="2"), 403, code="forbidden")
    assert_error(api.as_(None).get("/exchange-rates"), 401)
    assert_error(api.as_("nope").post("/exchange-rates", json={}), 401)


def test_idempotent_post(api, tree):
    headers = {"Idempotency-Key": "rate-1"}
    body = {"base_currency": "RUB", "quote_currency": "USD", "rate": "90"}
    first = api.as_(tree.root_token).post("/exchange-rates", json=body, headers=headers)
    again = api.as_(tree.root_token).post("/exchange-rates", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == first.get_json()


def test_openapi_documents_the_endpoints(api, tree):
    paths = api.get("/openapi.json").get_json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/exchange-rates"])
    assert "get" in paths["/api/v1/exchange-rates/history"]
    assert "get" in paths["/api/v1/currencies"]
