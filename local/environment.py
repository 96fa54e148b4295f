"""The environment every handler sees: one process hosts every function locally.

It is the union of `infra.spec.function_environment` over all functions (so a handler may
find a variable its function is not granted in AWS: grants are enforced by IAM there, not
here) plus the local values of `COMMON_ENV`.
"""

from __future__ import annotations

from infra.spec import COMMON_ENV, FUNCTIONS, function_environment
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


def common_environment(base_url: str) -> dict[str, str]:
    """Local values for every name in `COMMON_ENV`; fails loudly when the spec adds one."""
    values = {
        "STAGE": STAGE,
        # The local stand-in for the front end (local/app_pages.py) answers the emailed links.
        "APP_BASE_URL": base_url + APP_PAGES_PREFIX,
        "API_BASE_URL": base_url,
        "EMAIL_SENDER": EMAIL_SENDER,
        "SES_CONFIGURATION_SET": SES_CONFIGURATION_SET,
        "GOCARDLESS_BASE_URL": base_url + GOCARDLESS_SANDBOX_MOUNT,
        "PLAID_BASE_URL": base_url + PLAID_SANDBOX_MOUNT,
        "DEFAULT_FIRM_TIMEZONE": DEFAULT_FIRM_TIMEZONE,
        "CURRENT_EULA_VERSION": DEFAULT_EULA_VERSION,
    }
    missing = set(COMMON_ENV) - set(values)
    if missing:
        raise RuntimeError(f"infra/spec.py COMMON_ENV has no local value for {sorted(missing)}")
    return {name: values[name] for name in COMMON_ENV}


def handler_environment(resolve: dict[str, str], base_url: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for name in FUNCTIONS:
        env.update(function_environment(name, resolve))
    env["POWERTOOLS_SERVICE_NAME"] = LOCAL_SERVICE_NAME
    env["POWERTOOLS_METRICS_NAMESPACE"] = METRICS_NAMESPACE  # the stack sets it per function
    return env | common_environment(base_url)
