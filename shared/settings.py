"""The only reader of the process environment.

Every value has the name `infra/spec.py` gives it; the CDK stack and the local system set
them. Read lazily and cached: nothing happens at import time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

from shared.domain.aggregator import GOCARDLESS_ACCOUNT_CALLS_PER_MINUTE

DEFAULT_EULA_VERSION = "2026-01"
GOCARDLESS_API_PATH = "/api/v2"  # the GoCardless adapter adds it to every request path


@dataclass(frozen=True)
class Settings:
    stage: str
    data_table_name: str
    idempotency_table_name: str
    import_queue_url: str
    refresh_queue_url: str
    aggregator_secret_name: str
    app_base_url: str
    api_base_url: str  # this API's public URL: aggregator callbacks and webhooks point here
    email_sender: str
    ses_configuration_set: str
    gocardless_base_url: str  # the host (and any prefix) without /api/v2: see gocardless_root
    plaid_base_url: str  # "sandbox", "production" or a URL (the local sandbox)
    default_firm_timezone: str
    current_eula_version: str  # the Data Refresh EULA customers must have accepted (R-REF-5)
    user_pool_id: str  # the Cognito user pool people sign in through (invitations' accounts, staff)
    export_queue_url: str = ""  # CSV exports to write (issue 16)
    export_bucket_name: str = ""  # the private bucket the CSV files go to
    audit_table_name: str = ""  # the audit log's own table (issue 17)
    erasure_queue_url: str = ""  # customers whose data is erased (issue 17)
    credential_key_id: str = ""  # the KMS key that seals provider credentials (issue 17)
    # Each AWS call's connect and read timeout, with one retry (None: boto3's defaults). Set for a
    # function that must answer within its caller's deadline (the pool waits 5 s for its trigger).
    aws_call_timeout_seconds: float | None = None
    # GoCardless's company-wide limit on its account endpoints, for all of the firm's credentials
    # (documented: 100 a minute); a firm that agreed more with GoCardless sets the agreed figure.
    gocardless_account_calls_per_minute: int = GOCARDLESS_ACCOUNT_CALLS_PER_MINUTE


@cache
def get_settings() -> Settings:
    env = os.environ.get
    return Settings(
        stage=env("STAGE", "local"),
        data_table_name=env("DATA_TABLE_NAME", ""),
        idempotency_table_name=env("IDEMPOTENCY_TABLE_NAME", ""),
        import_queue_url=env("IMPORT_QUEUE_URL", ""),
        refresh_queue_url=env("REFRESH_QUEUE_URL", ""),
        aggregator_secret_name=env("AGGREGATOR_SECRET_NAME", ""),
        app_base_url=env("APP_BASE_URL", "http://127.0.0.1:3000"),
        api_base_url=env("API_BASE_URL", "http://127.0.0.1:3000"),
        email_sender=env("EMAIL_SENDER", "no-reply@example.com"),
        ses_configuration_set=env("SES_CONFIGURATION_SET", ""),
        gocardless_base_url=gocardless_root(
            env("GOCARDLESS_BASE_URL", "https://bankaccountdata.gocardless.com")
        ),
        plaid_base_url=env("PLAID_BASE_URL", "sandbox"),
        default_firm_timezone=env("DEFAULT_FIRM_TIMEZONE", "Europe/London"),
        current_eula_version=env("CURRENT_EULA_VERSION", DEFAULT_EULA_VERSION),
        user_pool_id=env("USER_POOL_ID", ""),
        export_queue_url=env("EXPORT_QUEUE_URL", ""),
        export_bucket_name=env("EXPORT_BUCKET_NAME", ""),
        audit_table_name=env("AUDIT_TABLE_NAME", ""),
        erasure_queue_url=env("ERASURE_QUEUE_URL", ""),
        credential_key_id=env("CREDENTIAL_KEY_ID", ""),
        aws_call_timeout_seconds=float(env("AWS_CALL_TIMEOUT_SECONDS") or 0) or None,
        gocardless_account_calls_per_minute=int(
            env("GOCARDLESS_ACCOUNT_CALLS_PER_MINUTE") or GOCARDLESS_ACCOUNT_CALLS_PER_MINUTE
        ),
    )


def gocardless_root(url: str) -> str:
    """GoCardless documents its base URL both as the host and as `<host>/api/v2/`: either is
    accepted, and the adapter (which adds `api/v2/...` to every path) gets the part before."""
    root = url.strip().rstrip("/")
    return root.removesuffix(GOCARDLESS_API_PATH).rstrip("/")
