"""`make run` against other aggregator hosts (issue 13, item 14): GOCARDLESS_BASE_URL and
PLAID_BASE_URL from the environment it starts in win over the built-in sandboxes, nothing else of
that environment does, and the GoCardless base is accepted with or without `/api/v2/`."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from infra.spec import BUCKETS, COMMON_ENV, KEYS, QUEUES, SECRETS, TABLES
from infra.spec_user_pool import USER_POOL_KEY
from local.environment import (
    GOCARDLESS_SANDBOX_MOUNT,
    PLAID_ENVIRONMENT_NAMES,
    PLAID_SANDBOX_MOUNT,
    LocalSettingError,
    common_environment,
    handler_environment,
)
from shared.adapters.aggregator.credentials import static_source
from shared.adapters.aggregator.gocardless import GoCardlessAdapter
from shared.adapters.aggregator.plaid import ENVIRONMENTS, base_url_for
from shared.settings import get_settings
from tests.fixtures.aggregator import documented as doc

LOCAL = "http://127.0.0.1:3000"
STAGING = "https://gocardless-double.staging.example"
# the resources' local names
RESOLVED = {key: f"local-{key}" for key in (*TABLES, *QUEUES, *SECRETS, *BUCKETS, *KEYS, USER_POOL_KEY)}


@pytest.fixture
def fresh_settings():
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_without_outer_values_the_functions_use_the_built_in_sandboxes():
    for outer in (None, {}, {"GOCARDLESS_BASE_URL": "", "PLAID_BASE_URL": "  "}):
        env = common_environment(LOCAL, outer)
        assert env["GOCARDLESS_BASE_URL"] == LOCAL + GOCARDLESS_SANDBOX_MOUNT
        assert env["PLAID_BASE_URL"] == LOCAL + PLAID_SANDBOX_MOUNT


def test_the_outer_aggregator_urls_win_and_nothing_else_of_the_outer_environment_is_read():
    outer = {
        "GOCARDLESS_BASE_URL": f"{STAGING}/api/v2/",
        "PLAID_BASE_URL": "sandbox",
        # Names the local system sets itself: the shell's values must not leak in.
        "STAGE": "prod",
        "APP_BASE_URL": "https://app.example",
        "API_BASE_URL": "https://api.example",
        "EMAIL_SENDER": "someone@example.org",
    }
    env = common_environment(LOCAL, outer)
    assert env["GOCARDLESS_BASE_URL"] == f"{STAGING}/api/v2/"
    assert env["PLAID_BASE_URL"] == "sandbox"
    assert env["STAGE"] == "local" and env["APP_BASE_URL"] == LOCAL + "/app" and env["API_BASE_URL"] == LOCAL
    assert env["EMAIL_SENDER"] == "no-reply@example.com"
    assert list(env) == list(COMMON_ENV)


def test_the_handler_environment_carries_the_outer_urls_through():
    outer = {"GOCARDLESS_BASE_URL": STAGING, "PLAID_BASE_URL": "http://127.0.0.1:4010/plaid-double"}
    env = handler_environment(RESOLVED, LOCAL, outer)
    assert env["GOCARDLESS_BASE_URL"] == STAGING
    assert env["PLAID_BASE_URL"] == "http://127.0.0.1:4010/plaid-double"
    assert handler_environment(RESOLVED, LOCAL)["GOCARDLESS_BASE_URL"] == LOCAL + GOCARDLESS_SANDBOX_MOUNT


def test_one_functions_own_settings_do_not_reach_every_function():
    """The trigger's 1 s bound on AWS calls is its own (infra/spec.py): in the one local process it
    would bound every function's calls (under load their moto calls timed out: 5xx)."""
    from infra.spec import FUNCTIONS, function_environment

    assert any("AWS_CALL_TIMEOUT_SECONDS" in function_environment(name, RESOLVED) for name in FUNCTIONS)
    assert "AWS_CALL_TIMEOUT_SECONDS" not in handler_environment(RESOLVED, LOCAL)


def test_the_plaid_names_are_the_adapters():
    assert set(PLAID_ENVIRONMENT_NAMES) == set(ENVIRONMENTS)


@pytest.mark.parametrize("plaid", ["sandbox", "production", "Production", "https://plaid-double.example/v1"])
def test_plaid_takes_an_environment_name_or_a_url(plaid):
    env = common_environment(LOCAL, {"PLAID_BASE_URL": plaid})
    assert env["PLAID_BASE_URL"] == plaid
    assert base_url_for(env["PLAID_BASE_URL"]).startswith("https://")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GOCARDLESS_BASE_URL", "sandbox"),  # a Plaid name means nothing to GoCardless
        ("GOCARDLESS_BASE_URL", "bankaccountdata.gocardless.com"),  # no scheme
        ("GOCARDLESS_BASE_URL", "ftp://bankaccountdata.gocardless.com"),
        ("GOCARDLESS_BASE_URL", "https://user:hunter2@gocardless.example"),
        ("GOCARDLESS_BASE_URL", "https://gocardless.example:99999"),
        ("PLAID_BASE_URL", "development"),  # retired by Plaid
        ("PLAID_BASE_URL", "https://plaid.example?token=abc"),
        ("PLAID_BASE_URL", "https://"),
    ],
)
def test_a_value_the_system_cannot_use_stops_the_start_without_echoing_it(name, value):
    with pytest.raises(LocalSettingError, match=name) as refused:
        common_environment(LOCAL, {name: value})
    assert "hunter2" not in str(refused.value) and "abc" not in str(refused.value)


@pytest.mark.parametrize("suffix", ["", "/", "/api/v2", "/api/v2/", "/api/v2//"])
def test_the_gocardless_base_with_or_without_api_v2_sends_the_same_requests(
    suffix, monkeypatch, fresh_settings
):
    root = f"{STAGING}/gc"  # a double mounted under a prefix, as the local sandbox is
    monkeypatch.setenv("GOCARDLESS_BASE_URL", root + suffix)
    setting = get_settings().gocardless_base_url

    seen: list[str] = []

    def provider(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        path = request.url.path
        if path == "/gc/api/v2/token/new/":
            return httpx.Response(200, json=doc.gc_token())
        if path == f"/gc/api/v2/institutions/{doc.INSTITUTION_ID}/":
            return httpx.Response(200, json=doc.GC_INSTITUTION)
        return httpx.Response(404, json={"summary": "Not found.", "detail": "Not found.", "status_code": 404})

    adapter = GoCardlessAdapter(
        setting,
        static_source({"gocardless_secret_id": "id-0123456789", "gocardless_secret_key": "key-9876543210"}),
        transport=httpx.MockTransport(provider),
    )
    assert adapter.get_institution(doc.INSTITUTION_ID).name == "Revolut"
    institution_url = f"{root}/api/v2/institutions/{doc.INSTITUTION_ID}/"
    assert seen == [f"{root}/api/v2/token/new/", institution_url]
    assert not any("/api/v2/api/v2" in url or "//api" in urlsplit(url).path for url in seen)
    assert setting == root


def test_the_default_gocardless_host_is_unchanged(monkeypatch, fresh_settings):
    monkeypatch.delenv("GOCARDLESS_BASE_URL", raising=False)
    assert get_settings().gocardless_base_url == "https://bankaccountdata.gocardless.com"
    monkeypatch.setenv("GOCARDLESS_BASE_URL", "https://bankaccountdata.gocardless.com/api/v2/")
    get_settings.cache_clear()
    assert get_settings().gocardless_base_url == "https://bankaccountdata.gocardless.com"
