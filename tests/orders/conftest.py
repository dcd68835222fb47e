"""The provisioning tests run queued jobs themselves, in the test's own session."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def in_process_jobs(app):
    """Queue jobs in this process even when REDIS_URL is set (CI's second pass), so a test can
    run them inside its rolled-back transaction; the Redis backend has its own tests."""
    from portal.core.jobs import InProcessBackend

    original = app.extensions["portal_jobs"]
    app.extensions["portal_jobs"] = InProcessBackend()
    yield
    app.extensions["portal_jobs"] = original
