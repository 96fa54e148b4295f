"""The system's resources, declared once.

The CDK constructs build the AWS resources from these declarations and the local system
(`local/`) builds the same tables, queues, schedules, secret, routes and function
environments on moto from them, so the two cannot drift. Plain Python: no CDK import,
so the local system and the tests load it in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from infra.spec_user_pool import USER_POOL, USER_POOL_KEY

Access = Literal[
    "read",
    "write",
    "delete",
    "read_write",
    "append",  # the audit table: put new items (and read the chain's tip), never update or delete
    "send",
    "consume",
    "read_secret",
    "create_users",
    "manage_users",
    "read_mfa",
    "encrypt",  # a KEYS key: kms:Encrypt only (seal)
    "decrypt",  # a KEYS key: kms:Decrypt only (open): the functions that call the provider
]


@dataclass(frozen=True)
class Gsi:
    name: str
    partition_key: str
    sort_key: str


@dataclass(frozen=True)
class TableSpec:
    env: str  # environment variable that carries the table name to functions
    partition_key: str
    sort_key: str | None
    ttl_attribute: str | None  # None: no item ever expires (the audit log)
    gsis: tuple[Gsi, ...] = ()
    retain: bool = False  # records of truth: deletion protection, kept when the stack is deleted


@dataclass(frozen=True)
class QueueSpec:
    env: str  # environment variable that carries the queue URL to producers
    consumer: str  # function that processes the queue (SQS event source)
    batch_size: int = 10
    max_batching_window_seconds: int = 1
    max_receive_count: int = 5  # deliveries before the message moves to the dead-letter queue
    max_concurrency: int = 10  # caps the consumer's concurrency (protects the aggregator)


@dataclass(frozen=True)
class BucketSpec:
    """A private S3 bucket: encrypted, TLS only, public access blocked, objects kept `expire_days`."""

    env: str  # environment variable that carries the bucket's name to functions
    expire_days: int  # lifecycle rule: objects (and unfinished multipart uploads) deleted after this


@dataclass(frozen=True)
class ScheduleSpec:
    expression: str  # EventBridge Scheduler expression
    timezone: str
    target: str  # function invoked
    payload: dict[str, str]
    description: str
    maximum_retry_attempts: int = 3
    maximum_event_age_seconds: int = 3600


@dataclass(frozen=True)
class SecretSpec:
    env: str  # environment variable that carries the secret's name
    description: str
    local_value: dict[str, str]  # value the local system stores (sandbox credentials only)


@dataclass(frozen=True)
class KeySpec:
    """A customer-managed KMS key (rotated yearly) that seals values inside items."""

    env: str  # environment variable that carries the key's ARN (locally its alias)
    description: str


@dataclass(frozen=True)
class Grant:
    resource: str  # key in TABLES, QUEUES, BUCKETS, SECRETS or KEYS, USER_POOL_KEY, or "email"
    access: Access


@dataclass(frozen=True)
class FunctionSpec:
    handler: str  # dotted path: functions.<folder>.handler.lambda_handler
    description: str
    service: str  # POWERTOOLS_SERVICE_NAME
    grants: tuple[Grant, ...] = ()
    timeout_seconds: int = 10
    memory_mb: int = 512
    # trigger: invoked by the user pool (its pre token generation trigger), which names the function:
    # the function's environment and IAM policy cannot name the pool back in the same resources (a
    # circular dependency), so the pool's id comes in each event (`function_environment`) and its
    # grant is a policy of its own (infra/constructs/functions.py).
    kind: Literal["api", "worker", "job", "trigger"] = "api"
    # Each AWS call's timeout (connect and read), one retry: for a function whose caller has a deadline.
    aws_call_timeout_seconds: float | None = None


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # HTTP API route path, e.g. /customers/{customer_id}
    function: str
    public: bool = False  # True: no JWT authorizer (health, docs, aggregator callbacks, token checks)
    docs: bool = False  # the API's documentation: deployed only where the stage config says (api_docs)


TABLES: dict[str, TableSpec] = {
    # Single table: the key design and the access-pattern table are in the docstring of
    # shared/adapters/dynamodb/keys.py, which builds every key string.
    "data": TableSpec(
        env="DATA_TABLE_NAME",
        partition_key="PK",
        sort_key="SK",
        ttl_attribute="expires_at",
        gsis=(Gsi("GSI1", "GSI1PK", "GSI1SK"), Gsi("GSI2", "GSI2PK", "GSI2SK")),
        retain=True,
    ),
    # The audit log (R-ROLE-3, R-PRIV-4): append-only, one hash chain per firm and lane, read newest
    # first through its indexes (firm, customer, kind, customer and kind; keys.py #95-#99). Functions
    # get "append" (PutItem, and a Query of the chain's tip) or "read", never Update or Delete.
    "audit": TableSpec(
        env="AUDIT_TABLE_NAME",
        partition_key="PK",
        sort_key="SK",
        ttl_attribute=None,
        gsis=tuple(Gsi(f"GSI{n}", f"GSI{n}PK", f"GSI{n}SK") for n in range(1, 5)),
        retain=True,
    ),
    # Powertools idempotency records (attribute names are Powertools' defaults).
    "idempotency": TableSpec(
        env="IDEMPOTENCY_TABLE_NAME", partition_key="id", sort_key=None, ttl_attribute="expiration"
    ),
}

QUEUES: dict[str, QueueSpec] = {
    "imports": QueueSpec(env="IMPORT_QUEUE_URL", consumer="import_worker", max_concurrency=5),
    # Two fan-out instances (SQS's minimum): every claim moves a count on the job's item, so the job's
    # partition takes each instance's claims; at 10 it took ~600 of its 1,000 write units a second
    # (`make cost`, issue 20) for nothing: two claim a page of 100 in seconds, far ahead of what the
    # imports (and the providers' rate limits) can take.
    "refresh": QueueSpec(env="REFRESH_QUEUE_URL", consumer="refresh_fanout_worker", max_concurrency=2),
    # One export a message: a worker may take minutes on a large one (issue 16 item 8).
    "exports": QueueSpec(
        env="EXPORT_QUEUE_URL", consumer="export_worker", batch_size=1, max_receive_count=3, max_concurrency=5
    ),
    # One customer's erasure a message (issue 17): batch deletes, resumable; parked after 5 tries.
    "erasures": QueueSpec(
        env="ERASURE_QUEUE_URL", consumer="erasure_worker", batch_size=1, max_concurrency=2
    ),
}

BUCKETS: dict[str, BucketSpec] = {
    # CSV exports: written by export_worker, downloaded through presigned GETs for 15 minutes.
    "export-files": BucketSpec(env="EXPORT_BUCKET_NAME", expire_days=1),
}

SCHEDULES: dict[str, ScheduleSpec] = {
    "daily-import": ScheduleSpec(
        expression="cron(30 2 * * ? *)",
        timezone="Europe/London",
        target="import_dispatcher",
        payload={"job": "daily-import"},
        description="Queue one import job per active connection (R-IMP-1)",
    ),
    "invitation-reminders": ScheduleSpec(
        expression="cron(0 9 * * ? *)",
        timezone="Europe/London",
        target="reminders_job",
        payload={"job": "invitation-reminders"},
        description="Send the 7-day and 30-day invitation reminders (R-INV-4)",
    ),
    "consent-reminders": ScheduleSpec(
        expression="cron(30 9 * * ? *)",
        timezone="Europe/London",
        target="reminders_job",
        payload={"job": "consent-reminders"},
        description="Remind customers of bank consents that lapse in 7 days (seed 003)",
    ),
    "notification-digests": ScheduleSpec(
        expression="cron(5 * * * ? *)",  # hourly: each person's digest goes out on their local morning
        timezone="UTC",
        target="digest_job",
        payload={"job": "notification-digests"},
        description="Email opted-in staff their daily digest of unread notifications",
    ),
    "erasure-sweep": ScheduleSpec(
        expression="cron(0 4 * * ? *)",
        timezone="Europe/London",
        target="reminders_job",
        payload={"job": "erasure-sweep"},
        description="Queue the erasure of customers whose retention period ended (R-PRIV-3)",
    ),
}

SECRETS: dict[str, SecretSpec] = {
    "aggregator": SecretSpec(
        env="AGGREGATOR_SECRET_NAME",
        description="Aggregator API credentials (GoCardless secret_id/secret_key, Plaid client_id/secret)",
        local_value={
            "gocardless_secret_id": "sandbox-secret-id",
            "gocardless_secret_key": "sandbox-secret-key",
            "plaid_client_id": "sandbox-plaid-client-id",
            "plaid_secret": "sandbox-plaid-secret",
        },
    ),
}

KEYS: dict[str, KeySpec] = {
    # Provider credentials (Plaid access tokens, GoCardless requisition ids) in connection items,
    # encrypted with the context {firm_id, connection_id} (shared/adapters/kms_vault.py, issue 17).
    "credentials": KeySpec(
        env="CREDENTIAL_KEY_ID", description="Seals aggregator credentials stored in connection items"
    ),
}

_DATA_RW = Grant("data", "read_write")
_IDEMPOTENCY = Grant("idempotency", "read_write")
_EMAIL = Grant("email", "send")
_AGGREGATOR = Grant("aggregator", "read_secret")
_AUDIT_APPEND = Grant("audit", "append")  # every function that writes audit events
_AUDIT_READ = Grant("audit", "read")  # GET /audit, the file access log, audit exports

# Who calls the provider with a connection's credential opens it; whoever saves a connection seals
# a clear one (a new consent, or an item written before sealing).
_SEAL = Grant("credentials", "encrypt")
_OPEN = Grant("credentials", "decrypt")

FUNCTIONS: dict[str, FunctionSpec] = {
    "platform_api": FunctionSpec(
        handler="functions.platform_api.handler.lambda_handler",
        description="Health, who-am-I and the API's OpenAPI document",
        service="platform",
        # read_write: marking notifications read, a staff member's MFA enrolment (read from the pool)
        # with its staff.mfa_enrolled events
        grants=(_DATA_RW, _AUDIT_APPEND, Grant(USER_POOL_KEY, "read_mfa")),
    ),
    "invitations_api": FunctionSpec(
        handler="functions.invitations_api.handler.lambda_handler",
        description="Customer invitations, onboarding and shared-account review",
        service="invitations",
        grants=(
            *(_DATA_RW, _IDEMPOTENCY, _EMAIL, _AUDIT_APPEND, _AUDIT_READ),
            Grant("imports", "send"),  # an account the firm accepts gets its first import at once
            Grant(USER_POOL_KEY, "manage_users"),
        ),
    ),
    "access_api": FunctionSpec(
        handler="functions.access_api.handler.lambda_handler",
        description="Client file access grants for members and external advisers",
        service="access",
        grants=(
            *(_DATA_RW, _IDEMPOTENCY, _EMAIL, _AUDIT_APPEND, _AUDIT_READ),  # read: the file's access log
            Grant(USER_POOL_KEY, "create_users"),
        ),
    ),
    "connections_api": FunctionSpec(
        handler="functions.connections_api.handler.lambda_handler",
        description="Aggregator connections, consent callbacks and webhooks",
        service="connections",
        grants=(
            *(_DATA_RW, _IDEMPOTENCY, _EMAIL, _AGGREGATOR, _AUDIT_APPEND, _SEAL, _OPEN),
            Grant("imports", "send"),
            Grant("erasures", "send"),  # an approved erasure is queued at once (issue 17)
        ),
        timeout_seconds=29,
    ),
    "refresh_api": FunctionSpec(
        handler="functions.refresh_api.handler.lambda_handler",
        description="Data Refresh dashboard and bulk refresh jobs",
        service="refresh",
        grants=(_DATA_RW, _IDEMPOTENCY, _AUDIT_APPEND, Grant("refresh", "send")),
    ),
    "import_dispatcher": FunctionSpec(
        handler="functions.import_dispatcher.handler.lambda_handler",
        description="Daily schedule: queue one import job per active connection",
        service="imports",
        grants=(Grant("data", "read"), Grant("imports", "send")),
        timeout_seconds=300,
        kind="job",
    ),
    "import_worker": FunctionSpec(
        handler="functions.import_worker.handler.lambda_handler",
        description="Import transactions for one connection per job",
        service="imports",
        grants=(_DATA_RW, _EMAIL, _AGGREGATOR, _AUDIT_APPEND, _SEAL, _OPEN, Grant("imports", "consume")),
        timeout_seconds=120,
        memory_mb=1024,
        kind="worker",
    ),
    "refresh_fanout_worker": FunctionSpec(
        handler="functions.refresh_fanout_worker.handler.lambda_handler",
        description="Expand Data Refresh jobs and fan out one import job per engagement",
        service="refresh",
        grants=(
            *(_DATA_RW, _AUDIT_APPEND),
            *(Grant("refresh", "consume"), Grant("refresh", "send"), Grant("imports", "send")),
        ),
        timeout_seconds=120,
        kind="worker",
    ),
    "exports_api": FunctionSpec(
        handler="functions.exports_api.handler.lambda_handler",
        description="CSV exports of transactions and of the audit log: request, status, download URL",
        service="exports",
        # read: presigned GETs of the bucket's objects (signed with this function's role)
        grants=(
            *(_DATA_RW, _IDEMPOTENCY, _AUDIT_APPEND),
            *(Grant("exports", "send"), Grant("export-files", "read")),
        ),
    ),
    "export_worker": FunctionSpec(
        handler="functions.export_worker.handler.lambda_handler",
        description="Write one CSV export to the exports bucket, a page at a time",
        service="exports",
        grants=(
            *(_DATA_RW, _AUDIT_APPEND, _AUDIT_READ),
            *(Grant("exports", "consume"), Grant("export-files", "write")),
        ),
        timeout_seconds=900,  # Lambda's maximum: 100,000 lines take about a hundred Queries
        kind="worker",
    ),
    "erasure_worker": FunctionSpec(
        handler="functions.erasure_worker.handler.lambda_handler",
        description="Erase one customer of one firm: revoke at the provider, then every item and export file",
        service="lifecycle",
        grants=(
            *(_DATA_RW, _AGGREGATOR, _AUDIT_APPEND, _OPEN),  # _OPEN: revoke at the provider first
            *(Grant("erasures", "consume"), Grant("export-files", "delete")),
        ),
        timeout_seconds=300,
        kind="worker",
    ),
    "reminders_job": FunctionSpec(
        handler="functions.reminders_job.handler.lambda_handler",
        description="Daily schedules: invitation reminders (7, 30 days) and expiry; consent-expiry reminders",
        service="invitations",
        # _SEAL: its reminder claim saves the connection; send: the erasure sweep
        grants=(_DATA_RW, _EMAIL, _AUDIT_APPEND, _SEAL, Grant("erasures", "send")),
        timeout_seconds=300,
        kind="job",
    ),
    "digest_job": FunctionSpec(
        handler="functions.digest_job.handler.lambda_handler",
        description="Hourly schedule: staff members' daily notification digests, on their local morning",
        service="notifications",
        grants=(_DATA_RW, _EMAIL),  # read_write: the digest's claim
        timeout_seconds=300,
        kind="job",
    ),
}

# The user pool's pre token generation trigger (wired in infra/constructs/users.py); see FunctionSpec.kind.
SIGN_IN_CHECK = "sign_in_check"
FUNCTIONS[SIGN_IN_CHECK] = FunctionSpec(
    handler="functions.sign_in_check.handler.lambda_handler",
    description="User pool trigger: before each token, a staff member's TOTP record still matches the pool",
    service="identity",
    # read_write: our MFA record (read; removed when it lapsed), the memberships; read_mfa: AdminGetUser
    grants=(_DATA_RW, _AUDIT_APPEND, Grant(USER_POOL_KEY, "read_mfa")),
    timeout_seconds=5,  # Cognito waits 5 seconds for a trigger
    aws_call_timeout_seconds=1.0,  # two calls at most (our record, the pool), each tried twice: 4 s < 5 s
    memory_mb=256,
    kind="trigger",
)

ROUTES: tuple[Route, ...] = (
    Route("GET", "/health", "platform_api", public=True),
    Route("GET", "/openapi.json", "platform_api", public=True, docs=True),
    Route("GET", "/docs", "platform_api", public=True, docs=True),
    Route("GET", "/me", "platform_api"),
    Route("POST", "/me/mfa/confirm", "platform_api"),  # staff: record the pool's TOTP (R-ID-4)
    Route("GET", "/me/notifications", "platform_api"),
    Route("POST", "/me/notifications/{notification_id}/read", "platform_api"),
    Route("GET", "/me/notification-preferences", "platform_api"),
    Route("PUT", "/me/notification-preferences", "platform_api"),
    # Invitations and onboarding (R-INV-*)
    Route("POST", "/customers/invitations", "invitations_api"),
    Route("POST", "/customers/{customer_id}/invitation/resend", "invitations_api"),
    Route("POST", "/customers/{customer_id}/invitation/revoke", "invitations_api"),
    Route("POST", "/invitations/verify", "invitations_api", public=True),
    Route("POST", "/invitations/accept", "invitations_api"),
    Route("POST", "/invitations/create-account", "invitations_api", public=True),
    Route("GET", "/customers", "invitations_api"),
    Route("GET", "/customers/{customer_id}", "invitations_api"),
    Route("GET", "/customers/{customer_id}/accounts", "invitations_api"),
    Route("POST", "/customers/{customer_id}/accounts/{account_id}/accept", "invitations_api"),
    Route("POST", "/customers/{customer_id}/accounts/{account_id}/decline", "invitations_api"),
    Route("GET", "/customers/{customer_id}/transactions", "invitations_api"),
    Route("POST", "/customers/{customer_id}/accounts/{account_id}/link", "invitations_api"),
    Route("POST", "/customers/{customer_id}/accounts/{account_id}/unlink", "invitations_api"),
    # Bank lines and assignment rules (R-IMP-3)
    Route("GET", "/assignment-rules", "invitations_api"),
    Route("POST", "/assignment-rules", "invitations_api"),
    Route("PUT", "/assignment-rules/{rule_id}", "invitations_api"),
    Route("DELETE", "/assignment-rules/{rule_id}", "invitations_api"),
    Route("POST", "/customers/{customer_id}/auto-assign", "invitations_api"),
    Route("GET", "/customers/{customer_id}/unassigned-lines", "invitations_api"),
    Route("POST", "/customers/{customer_id}/lines/{line_id}/assign", "invitations_api"),
    # The firm's chart of accounts (seed 003): links and rules pick from it
    Route("GET", "/ledger-accounts", "invitations_api"),
    Route("POST", "/ledger-accounts", "invitations_api"),
    Route("PATCH", "/ledger-accounts/{code}", "invitations_api"),
    Route("DELETE", "/ledger-accounts/{code}", "invitations_api"),
    Route("GET", "/audit", "invitations_api"),
    Route("GET", "/staff", "invitations_api"),
    Route("PATCH", "/staff/{user_id}", "invitations_api"),
    Route("POST", "/staff/{user_id}/deactivate", "invitations_api"),
    Route("POST", "/staff/{user_id}/reactivate", "invitations_api"),
    Route("POST", "/firm/staff/{user_id}/mfa/reset", "invitations_api"),  # a lost authenticator (R-ID-4)
    Route("PUT", "/customers/{customer_id}/assignees/{user_id}", "invitations_api"),
    Route("DELETE", "/customers/{customer_id}/assignees/{user_id}", "invitations_api"),
    Route("POST", "/customers/{customer_id}/transfer", "invitations_api"),
    Route("POST", "/staff/invitations", "invitations_api"),
    Route("GET", "/staff/invitations", "invitations_api"),
    Route("POST", "/staff/invitations/{invitation_id}/resend", "invitations_api"),
    Route("POST", "/staff/invitations/{invitation_id}/revoke", "invitations_api"),
    Route("POST", "/staff-invitations/verify", "invitations_api", public=True),
    Route("POST", "/staff-invitations/accept", "invitations_api"),
    Route("POST", "/staff-invitations/create-account", "invitations_api", public=True),
    # Client file access grants (R-ACC-*): file = the customer's file; see shared/domain/file_access.py
    Route("GET", "/files/{file_id}", "access_api"),
    Route("POST", "/files/{file_id}/members", "access_api"),
    Route("PUT", "/files/{file_id}/members/{member_id}", "access_api"),
    Route("DELETE", "/files/{file_id}/members/{member_id}", "access_api"),
    Route("POST", "/files/{file_id}/patrimony", "access_api"),
    Route("PUT", "/files/{file_id}/patrimony/{item_id}", "access_api"),
    Route("DELETE", "/files/{file_id}/patrimony/{item_id}", "access_api"),
    Route("POST", "/files/{file_id}/donations", "access_api"),
    Route("PUT", "/files/{file_id}/donations/{donation_id}", "access_api"),
    Route("DELETE", "/files/{file_id}/donations/{donation_id}", "access_api"),
    Route("POST", "/files/{file_id}/simulations", "access_api"),
    Route("POST", "/files/{file_id}/reports", "access_api"),
    Route("GET", "/files/{file_id}/access", "access_api"),
    Route("PUT", "/files/{file_id}/members/{member_id}/access", "access_api"),
    Route("DELETE", "/files/{file_id}/members/{member_id}/access", "access_api"),
    Route("POST", "/files/{file_id}/advisers", "access_api"),
    Route("PUT", "/files/{file_id}/advisers/{adviser_id}/access", "access_api"),
    Route("DELETE", "/files/{file_id}/advisers/{adviser_id}/access", "access_api"),
    Route("GET", "/files/{file_id}/access-log", "access_api"),
    Route("GET", "/me/files", "access_api"),
    Route("POST", "/file-invitations/verify", "access_api", public=True),
    Route("POST", "/file-invitations/accept", "access_api"),
    Route("POST", "/file-invitations/create-account", "access_api", public=True),
    # end of client file access grants
    # Aggregator connections (R-CON-*)
    Route("GET", "/institutions", "connections_api"),
    Route("POST", "/connections", "connections_api"),
    Route("GET", "/connections", "connections_api"),
    Route("GET", "/me/accounts", "connections_api"),  # the customer's own view, every firm
    Route("GET", "/me/connections", "connections_api"),
    Route("POST", "/connections/{connection_id}/complete", "connections_api"),
    Route("POST", "/connections/reauthorise", "connections_api"),
    Route("POST", "/connections/{connection_id}/reauthorise", "connections_api"),
    Route("POST", "/connections/{connection_id}/deauthorise", "connections_api"),
    Route("POST", "/connections/{connection_id}/refresh", "connections_api"),
    Route("POST", "/connections/{connection_id}/find-new-accounts", "connections_api"),
    Route("GET", "/customers/{customer_id}/connections", "connections_api"),
    Route("POST", "/customers/{customer_id}/imports", "connections_api"),
    Route("POST", "/firm/connections/{connection_id}/deauthorise", "connections_api"),
    Route("POST", "/firm/connections/{connection_id}/refresh", "connections_api"),
    Route("GET", "/callbacks/gocardless", "connections_api", public=True),
    Route("POST", "/webhooks/plaid", "connections_api", public=True),
    # Data Refresh (R-REF-*)
    Route("GET", "/data-refresh/engagements", "refresh_api"),
    Route("GET", "/data-refresh/packages", "refresh_api"),
    Route("POST", "/data-refresh/jobs", "refresh_api"),
    Route("GET", "/data-refresh/jobs", "refresh_api"),
    Route("GET", "/data-refresh/jobs/{job_id}", "refresh_api"),
    Route("POST", "/me/eula", "refresh_api"),
    # CSV exports (issue 16 item 8)
    Route("POST", "/customers/{customer_id}/exports", "exports_api"),
    Route("POST", "/audit/exports", "exports_api"),
    Route("GET", "/exports/{export_id}", "exports_api"),
    Route("GET", "/eula", "refresh_api"),
    # The data lifecycle (issue 17, R-PRIV-1..3)
    Route("GET", "/firm/settings", "connections_api"),
    Route("PUT", "/firm/settings", "connections_api"),
    Route("POST", "/customers/{customer_id}/end-relationship", "connections_api"),
    Route("POST", "/me/firms/{firm_id}/leave", "connections_api"),
    Route("POST", "/customers/{customer_id}/erasure-request", "connections_api"),
    Route("POST", "/customers/{customer_id}/erasure-request/approve", "connections_api"),
)

# Abuse limits (issue 17 item 7): the routes whose use case spends an action's limits before it sends
# an email or calls a provider (the actions and their limits: shared/domain/limits.py). Beyond a limit
# the answer is 429 `rate_limited` with Retry-After; the OpenAPI documents it for these routes, and
# tests/reliability/test_abuse_limits.py fails on a route that sends or calls without a limit here.
ROUTE_LIMITS: dict[str, tuple[str, ...]] = {
    "POST /customers/invitations": ("send_invitation",),
    "POST /customers/{customer_id}/invitation/resend": ("send_invitation",),
    "POST /staff/invitations": ("send_invitation",),
    "POST /staff/invitations/{invitation_id}/resend": ("send_invitation",),
    "PUT /files/{file_id}/members/{member_id}/access": ("send_invitation",),
    "PUT /files/{file_id}/advisers/{adviser_id}/access": ("send_invitation",),
    "POST /connections": ("connect",),
    "POST /connections/{connection_id}/complete": ("connection_call",),
    "POST /connections/reauthorise": ("connection_call",),
    "POST /connections/{connection_id}/reauthorise": ("connection_call",),
    "POST /connections/{connection_id}/refresh": ("connection_call",),
    "POST /connections/{connection_id}/find-new-accounts": ("connection_call",),
    "POST /firm/connections/{connection_id}/refresh": ("connection_call",),
    "POST /customers/{customer_id}/imports": ("connection_call",),
    "GET /callbacks/gocardless": ("connection_call",),  # answered by the redirect's `rate_limited` outcome
    "POST /data-refresh/jobs": ("refresh_job",),
}


@dataclass(frozen=True)
class Throttle:
    """API Gateway's token bucket for one route of the stage: steady requests a second and burst."""

    rate: float
    burst: int


# Route-level throttles of the HTTP API stage for the routes without the JWT authorizer (anyone on the
# internet reaches them): far below the stage's default, above what people and providers send.
PUBLIC_ROUTE_THROTTLES: dict[str, Throttle] = {
    "GET /health": Throttle(rate=10, burst=20),
    "GET /openapi.json": Throttle(rate=5, burst=10),
    "GET /docs": Throttle(rate=5, burst=10),
    "POST /invitations/verify": Throttle(rate=5, burst=10),
    "POST /invitations/create-account": Throttle(rate=2, burst=5),
    "POST /staff-invitations/verify": Throttle(rate=5, burst=10),
    "POST /staff-invitations/create-account": Throttle(rate=2, burst=5),
    "POST /file-invitations/verify": Throttle(rate=5, burst=10),
    "POST /file-invitations/create-account": Throttle(rate=2, burst=5),
    "GET /callbacks/gocardless": Throttle(rate=10, burst=20),  # people back from their bank
    "POST /webhooks/plaid": Throttle(rate=50, burst=100),  # Plaid retries in bursts after an outage
}

# Environment every function gets besides its resources (values set by infra or local).
COMMON_ENV = (
    "STAGE",
    "APP_BASE_URL",  # front-end origin used in links sent by email and callback redirects
    "API_BASE_URL",  # this API's URL: aggregator callbacks and webhooks
    "EMAIL_SENDER",
    "SES_CONFIGURATION_SET",
    "GOCARDLESS_BASE_URL",
    "PLAID_BASE_URL",
    "DEFAULT_FIRM_TIMEZONE",
    "CURRENT_EULA_VERSION",  # the Data Refresh EULA customers must have accepted (R-REF-5)
    "GOCARDLESS_ACCOUNT_CALLS_PER_MINUTE",  # the company-wide pace of GoCardless's account endpoints
)


def function_environment(name: str, resolve: dict[str, str]) -> dict[str, str]:
    """Environment variables for one function, given resolved names/URLs of its resources.

    `resolve` maps a resource key (table, queue, bucket, secret, KMS key or USER_POOL_KEY) to its
    physical name, URL, ARN or id.
    """
    spec = FUNCTIONS[name]
    env: dict[str, str] = {"POWERTOOLS_SERVICE_NAME": spec.service}
    if spec.aws_call_timeout_seconds is not None:
        env["AWS_CALL_TIMEOUT_SECONDS"] = str(spec.aws_call_timeout_seconds)
    for grant in spec.grants:
        declared = (
            TABLES.get(grant.resource)
            or QUEUES.get(grant.resource)
            or SECRETS.get(grant.resource)
            or BUCKETS.get(grant.resource)
            or KEYS.get(grant.resource)
            or (USER_POOL if grant.resource == USER_POOL_KEY else None)
        )
        pool_named_by_event = spec.kind == "trigger" and grant.resource == USER_POOL_KEY
        if declared is not None and grant.access != "consume" and not pool_named_by_event:
            env[declared.env] = resolve[grant.resource]
    return env


def create_table_request(key: str, table_name: str) -> dict[str, object]:
    """boto3 `create_table` arguments for TABLES[key] (the local system and tests use moto)."""
    spec = TABLES[key]
    key_names = [spec.partition_key, *([spec.sort_key] if spec.sort_key else [])]
    for gsi in spec.gsis:
        key_names += [gsi.partition_key, gsi.sort_key]

    def schema(partition: str, sort: str | None) -> list[dict[str, str]]:
        return [{"AttributeName": partition, "KeyType": "HASH"}] + (
            [{"AttributeName": sort, "KeyType": "RANGE"}] if sort else []
        )

    request: dict[str, object] = {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": schema(spec.partition_key, spec.sort_key),
        "AttributeDefinitions": [
            {"AttributeName": n, "AttributeType": "S"} for n in dict.fromkeys(key_names)
        ],
    }
    if spec.gsis:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": g.name,
                "KeySchema": schema(g.partition_key, g.sort_key),
                "Projection": {"ProjectionType": "ALL"},
            }
            for g in spec.gsis
        ]
    return request
