"""The environment every handler sees: one process hosts every function locally.

It is the union of `infra.spec.function_environment` over all functions (so a handler may
find a variable its function is not granted in AWS: grants are enforced by IAM there, not
here) plus the local values of `COMMON_ENV`. Of those, only the aggregators' base URLs may come
from the environment `make run` starts in (`outer`, passed in by `local/__main__.py`): a firm
points the local system at a provider's sandbox or a staging double; the rest are fixed.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from infra.spec import COMMON_ENV, FUNCTIONS, function_environment
from shared.domain.aggregator import GOCARDLESS_ACCOUNT_CALLS_PER_MINUTE
from shared.settings import DEFAULT_EULA_VERSION

STAGE = "local"
EMAIL_SENDER = "no-reply@example.com"
SES_CONFIGURATION_SET = "local-emails"
DEFAULT_FIRM_TIMEZONE = "Europe/London"
GOCARDLESS_SANDBOX_MOUNT = "/sandbox/gocardless"
PLAID_SANDBOX_MOUNT = "/sandbox/plaid"
APP_PAGES_PREFIX = "/app"
# One process, one Powertools Logger: log lines tell functions apart by their `function_name`
# (from the Lambda context), not by a per-function service name.
LOCAL_SERVICE_NAME = "local-functions"
METRICS_NAMESPACE = "ClientDataSharingLocal"
# The names the outer environment may set (default: the built-in sandboxes); nothing else of it is read.
AGGREGATOR_URL_NAMES = ("GOCARDLESS_BASE_URL", "PLAID_BASE_URL")
# The hosts Plaid's adapter knows by name (`plaid.ENVIRONMENTS`, whose module is not imported here: the
# handlers' modules must load after the handler environment is set, or Powertools misses its namespace).
PLAID_ENVIRONMENT_NAMES = ("sandbox", "production")


class LocalSettingError(ValueError):
    """A value from the outer environment the local system cannot run with."""


def aggregator_urls(outer: Mapping[str, str]) -> dict[str, str]:
    """The aggregator base URLs `outer` sets (blank counts as unset), checked: GoCardless takes an
    http(s) URL (with or without `/api/v2/`), Plaid `sandbox`, `production` or an http(s) URL."""
    chosen = {}
    for name in AGGREGATOR_URL_NAMES:
        value = outer.get(name, "").strip()
        if not value:
            continue
        named_plaid_host = name == "PLAID_BASE_URL" and value.lower() in PLAID_ENVIRONMENT_NAMES
        if not named_plaid_host and not _is_http_url(value):
            # The value is not echoed: a URL may carry credentials.
            expected = (
                "sandbox, production or an http(s) URL" if name == "PLAID_BASE_URL" else "an http(s) URL"
            )
            raise LocalSettingError(f"{name} must be {expected} (a host, no user:password@, no query)")
        chosen[name] = value
    return chosen


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number in range
        userinfo = "@" in parts.netloc
        return parts.scheme in ("http", "https") and bool(parts.hostname) and not userinfo and not parts.query
    except ValueError:  # e.g. an invalid port or IPv6 literal
        return False


def app_base_url(base_url: str) -> str:
    """Where the app's pages are locally (APP_BASE_URL): under /app on the API's own origin."""
    return base_url + APP_PAGES_PREFIX


def common_environment(base_url: str, outer: Mapping[str, str] | None = None) -> dict[str, str]:
    """Local values for every name in `COMMON_ENV`; fails loudly when the spec adds one. The
    aggregator URLs set in `outer` win over the built-in sandboxes."""
    values = {
        "STAGE": STAGE,
        # The web console (web/, served by local/web_app.py) answers the emailed links.
        "APP_BASE_URL": app_base_url(base_url),
        "API_BASE_URL": base_url,
        "EMAIL_SENDER": EMAIL_SENDER,
        "SES_CONFIGURATION_SET": SES_CONFIGURATION_SET,
        "GOCARDLESS_BASE_URL": base_url + GOCARDLESS_SANDBOX_MOUNT,
        "PLAID_BASE_URL": base_url + PLAID_SANDBOX_MOUNT,
        "DEFAULT_FIRM_TIMEZONE": DEFAULT_FIRM_TIMEZONE,
        "CURRENT_EULA_VERSION": DEFAULT_EULA_VERSION,
        "GOCARDLESS_ACCOUNT_CALLS_PER_MINUTE": str(GOCARDLESS_ACCOUNT_CALLS_PER_MINUTE),
    } | aggregator_urls(outer or {})
    missing = set(COMMON_ENV) - set(values)
    if missing:
        raise RuntimeError(f"infra/spec.py COMMON_ENV has no local value for {sorted(missing)}")
    return {name: values[name] for name in COMMON_ENV}


PER_FUNCTION_ONLY = ("AWS_CALL_TIMEOUT_SECONDS",)  # infra.spec.function_environment sets it for one function


def handler_environment(
    resolve: dict[str, str], base_url: str, outer: Mapping[str, str] | None = None
) -> dict[str, str]:
    env: dict[str, str] = {}
    for name in FUNCTIONS:
        env.update(function_environment(name, resolve))
    # One function's own setting would apply to all in one process: the trigger's bound on each AWS
    # call (1 s, for Cognito's 5 s deadline) made every function's moto calls time out under load.
    for name in PER_FUNCTION_ONLY:
        env.pop(name, None)
    env["POWERTOOLS_SERVICE_NAME"] = LOCAL_SERVICE_NAME
    env["POWERTOOLS_METRICS_NAMESPACE"] = METRICS_NAMESPACE  # the stack sets it per function
    return env | common_environment(base_url, outer)
