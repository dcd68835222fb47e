"""The home page's search box (01 R-HOME-1): every area registers what it can find.

An area adds a provider next to its pages, e.g. the clients pages register clients and client
users; subscriptions, orders and payments add theirs the same way when they exist:

    register_search(SearchProvider("orders", _l("Orders"), "orders.view", find_orders))

find(reseller, query, limit) returns SearchHits of the reseller only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MIN_TEXT_LENGTH = 2
HITS_PER_PROVIDER = 10
# "123", "ID123", "id 123", "#123": a record ID (R-FORM-1 shows records as ID<id> - <name>).
_ID_RE = re.compile(r"^(?:id\s*|#)?(\d{1,12})$", re.IGNORECASE)


@dataclass(frozen=True)
class SearchHit:
    label: str
    url: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class SearchProvider:
    key: str
    label: Any                     # the group heading, e.g. _l("Clients")
    permission: str                # who may see these hits, e.g. "clients.view"
    find: Callable[..., list[SearchHit]]  # find(reseller, query, limit) -> hits
    weight: int = 0                # lower comes first


SEARCH_PROVIDERS: dict[str, SearchProvider] = {}


def register_search(provider: SearchProvider) -> SearchProvider:
    SEARCH_PROVIDERS[provider.key] = provider
    return provider


def id_in(query: str) -> int | None:
    """The record ID a query names, if it is one."""
    match = _ID_RE.match((query or "").strip())
    return int(match.group(1)) if match else None


def searchable(query: str) -> bool:
    query = (query or "").strip()
    return id_in(query) is not None or len(query) >= MIN_TEXT_LENGTH


@dataclass
class SearchGroup:
    provider: SearchProvider
    hits: list[SearchHit]


def search_everything(principal, reseller, query: str, *,
                      limit: int = HITS_PER_PROVIDER) -> list[SearchGroup]:
    """The hits of every provider the member may use, in provider order; empty groups left out."""
    query = (query or "").strip()
    if not searchable(query):
        return []
    groups = []
    for provider in sorted(SEARCH_PROVIDERS.values(), key=lambda p: (p.weight, p.key)):
        if not principal.can(provider.permission):
            continue
        hits = provider.find(reseller, query, limit)
        if hits:
            groups.append(SearchGroup(provider, list(hits)[:limit]))
    return groups
