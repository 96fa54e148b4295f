"""Composition root: adapters built on first use and cached (nothing at import time).

Tests reset them with `reset()` after changing the environment.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from shared.settings import get_settings

# Every import below is deferred into the builder that needs it: a handler's init loads only
# the capabilities it uses (cold start), never every use case of the application.
if TYPE_CHECKING:
    from shared.adapters.aggregator.plaid_webhooks import PlaidWebhookReader
    from shared.adapters.dynamodb.assignment_repository import AssignmentRepository
    from shared.adapters.dynamodb.audit_log import AuditLog
    from shared.adapters.dynamodb.connections_repository import ConnectionsRepository
    from shared.adapters.dynamodb.identity_repository import IdentityRepository
    from shared.adapters.dynamodb.imports_repository import ImportsRepository
    from shared.adapters.dynamodb.limits_repository import DynamoLimiter
    from shared.adapters.dynamodb.notifications_repository import NotificationsRepository
    from shared.adapters.dynamodb.request_gate import DynamoRequestGate
    from shared.adapters.dynamodb.request_pace import DynamoRequestPace
    from shared.adapters.email import SesEmailSender
    from shared.adapters.kms_vault import KmsCredentialVault
    from shared.domain.identity import StaffContext
    from shared.domain.jobs import ImportJob
    from shared.domain.refresh import FanoutMessage
    from shared.ports.directory import UserDirectory
    from shared.services.connections import ConnectionsPorts
    from shared.services.customers import OnboardingPorts
    from shared.services.engagement_rows import EngagementIndexPorts, EngagementRowsSync
    from shared.services.file_access import FileAccessPorts
    from shared.services.imports import ImportPorts
    from shared.services.notification_digests import DigestPorts
    from shared.services.refresh import RefreshPorts
    from shared.services.staff_notifications import StaffNoticePorts

if TYPE_CHECKING:  # issue 16: exports
    from shared.domain.exports import ExportJob
    from shared.services.exports import ExportPorts

if TYPE_CHECKING:  # issue 16: the firm's chart of accounts
    from shared.services.ledger import LedgerPorts

if TYPE_CHECKING:  # issue 17: the data lifecycle
    from shared.domain.lifecycle import ErasureJob
    from shared.services.lifecycle import LifecyclePorts
    from shared.services.mfa import MfaPorts

if TYPE_CHECKING:  # issue 15: staff administration
    from shared.ports.directory import UserDirectory
    from shared.services.assignees import AssigneesPorts
    from shared.services.staff import StaffPorts
    from shared.services.staff_invitations import StaffInvitationPorts


@cache
def identity_repository() -> IdentityRepository:
    from shared.adapters.dynamodb.identity_repository import IdentityRepository

    return IdentityRepository(get_settings().data_table_name)


@cache
def audit_log() -> AuditLog:
    from shared.adapters.dynamodb.audit_log import AuditLog

    return AuditLog(get_settings().audit_table_name)


@cache
def notifications_repository() -> NotificationsRepository:
    from shared.adapters.dynamodb.notifications_repository import NotificationsRepository

    return NotificationsRepository(get_settings().data_table_name)


@cache
def email_sender() -> SesEmailSender:
    from shared.adapters.email import SesEmailSender

    settings = get_settings()
    return SesEmailSender(settings.email_sender, settings.ses_configuration_set)


@cache
def onboarding() -> OnboardingPorts:
    from shared.adapters.dynamodb.accounts_repository import AccountsRepository
    from shared.adapters.dynamodb.customers_repository import CustomersRepository
    from shared.adapters.queue import JobQueue
    from shared.services.customers import OnboardingPorts

    settings = get_settings()
    return OnboardingPorts(
        customers=CustomersRepository(settings.data_table_name),
        accounts=AccountsRepository(settings.data_table_name),
        connections=connections_repository(),
        identities=identity_repository(),
        notifications=notifications_repository(),
        audit=audit_log(),
        email=email_sender(),
        imports=JobQueue(settings.import_queue_url),
        directory=cast("UserDirectory", _OnFirstUse(user_directory)),
        app_base_url=settings.app_base_url,
        staff_notices=staff_notices(),
        limits=limiter(),
    )


@cache
def limiter() -> DynamoLimiter:
    """The abuse limits' counters (shared/domain/limits.py), spent by the use cases."""
    from shared.adapters.dynamodb.limits_repository import DynamoLimiter

    return DynamoLimiter(get_settings().data_table_name)


@cache
def connections() -> ConnectionsPorts:
    from shared.adapters import aggregator
    from shared.adapters.queue import JobQueue
    from shared.api.idempotency import OncePerKey
    from shared.services.connections import ConnectionsPorts

    settings = get_settings()
    return ConnectionsPorts(
        connections=connections_repository(),
        customers=onboarding().customers,
        accounts=onboarding().accounts,
        identities=identity_repository(),
        notifications=notifications_repository(),
        audit=audit_log(),
        email=email_sender(),
        providers=aggregator.provider,
        credentials=credential_vault(),
        imports=JobQueue(settings.import_queue_url),
        engagements=engagement_rows(),
        webhooks_once=OncePerKey("webhook"),
        redirect_urls={"gocardless": f"{settings.api_base_url}/callbacks/gocardless", "plaid": None},
        api_base_url=settings.api_base_url,
        app_base_url=settings.app_base_url,
        staff_notices=staff_notices(),
        limits=limiter(),
    )


@cache
def imports_repository() -> ImportsRepository:
    from shared.adapters.dynamodb.imports_repository import ImportsRepository

    return ImportsRepository(get_settings().data_table_name)


@cache
def request_gate() -> DynamoRequestGate:
    """Today's requests per provider account (the adapters spend them before each request)."""
    from shared.adapters.dynamodb.request_gate import DynamoRequestGate

    return DynamoRequestGate(get_settings().data_table_name)


@cache
def request_pace() -> DynamoRequestPace:
    """GoCardless's company-wide pace on its account endpoints (the adapter spends one request of
    the minute before each request, before the account's daily budget)."""
    from shared.adapters.dynamodb.request_pace import DynamoRequestPace

    settings = get_settings()
    return DynamoRequestPace(settings.data_table_name, limit=settings.gocardless_account_calls_per_minute)


@cache
def assignment_repository() -> AssignmentRepository:
    from shared.adapters.dynamodb.assignment_repository import AssignmentRepository

    return AssignmentRepository(get_settings().data_table_name)


def ledger_for(staff: StaffContext) -> LedgerPorts:
    """The firm's chart of accounts (and its rules, which name accounts), bound to the caller's firm."""
    from shared.adapters.dynamodb.ledger_repository import LedgerRepository
    from shared.ports.firm_bound import bind_ports
    from shared.services.ledger import LedgerPorts

    ports = LedgerPorts(
        ledger=LedgerRepository(get_settings().data_table_name),
        assignment=assignment_repository(),
        audit=audit_log(),
    )
    return bind_ports(ports, staff.firm_id)


@cache
def imports() -> ImportPorts:
    from shared.adapters import aggregator
    from shared.adapters.dynamodb.accounts_repository import AccountsRepository
    from shared.adapters.queue import JobQueue
    from shared.services.engagement_rows import RefreshProgress
    from shared.services.imports import ImportPorts

    settings = get_settings()
    return ImportPorts(
        connections=connections_repository(),
        accounts=AccountsRepository(settings.data_table_name),
        imports=imports_repository(),
        identities=identity_repository(),
        notifications=notifications_repository(),
        assignment=assignment_repository(),
        providers=aggregator.background_provider,  # leaves a share of GoCardless's pace to people
        credentials=credential_vault(),
        queue=JobQueue(settings.import_queue_url),
        engagements=engagement_rows(),
        progress=RefreshProgress(engagement_index(), staff_notices()),
        default_timezone=settings.default_firm_timezone,
        staff_notices=staff_notices(),
        audit=audit_log(),
    )


@cache
def engagement_index() -> EngagementIndexPorts:
    """The Data Refresh dashboard rows, kept in step with customers, connections and imports."""
    from shared.adapters.dynamodb.connections_repository import ConnectionsRepository
    from shared.adapters.dynamodb.customers_repository import CustomersRepository
    from shared.adapters.dynamodb.engagement_rows_repository import EngagementRowsRepository
    from shared.adapters.dynamodb.eula_repository import EulaRepository
    from shared.adapters.dynamodb.refresh_jobs_repository import RefreshJobsRepository
    from shared.services.engagement_rows import EngagementIndexPorts

    settings = get_settings()
    return EngagementIndexPorts(
        rows=EngagementRowsRepository(settings.data_table_name),
        jobs=RefreshJobsRepository(settings.data_table_name),
        eula=EulaRepository(settings.data_table_name),
        customers=CustomersRepository(settings.data_table_name),
        connections=ConnectionsRepository(settings.data_table_name),
        current_eula_version=settings.current_eula_version,
    )


@cache
def connections_repository() -> ConnectionsRepository:
    from shared.adapters.dynamodb.connections_repository import ConnectionsRepository

    return ConnectionsRepository(get_settings().data_table_name, credential_vault())


@cache
def credential_vault() -> KmsCredentialVault:
    """Seals and opens provider credentials (KMS; its client is built on the first call)."""
    from shared.adapters.kms_vault import KmsCredentialVault

    return KmsCredentialVault(get_settings().credential_key_id)


@cache
def engagement_rows() -> EngagementRowsSync:
    """What connection use cases call after storing a connection (the Data Refresh rows)."""
    from shared.services.engagement_rows import EngagementRowsSync

    return EngagementRowsSync(engagement_index())


@cache
def refresh() -> RefreshPorts:
    from shared.adapters.eula_texts import EulaTexts
    from shared.adapters.queue import JobQueue
    from shared.services.refresh import RefreshPorts

    settings = get_settings()
    return RefreshPorts(
        index=engagement_index(),
        identities=identity_repository(),
        audit=audit_log(),
        fanout=JobQueue(settings.refresh_queue_url),
        imports=JobQueue(settings.import_queue_url),
        default_timezone=settings.default_firm_timezone,
        notices=staff_notices(),
        eula_texts=EulaTexts(settings.current_eula_version),
        limits=limiter(),
    )


@cache
def staff_notices() -> StaffNoticePorts:
    """Who looks after a customer, who is active staff, and where their notifications go (issue 16)."""
    from shared.adapters.dynamodb.customers_repository import CustomersRepository
    from shared.services.staff_notifications import StaffNoticePorts

    settings = get_settings()
    return StaffNoticePorts(
        customers=CustomersRepository(settings.data_table_name),
        identities=identity_repository(),
        notifications=notifications_repository(),
    )


@cache
def digests() -> DigestPorts:
    """Staff members' daily digest: unbound for the hourly run (a person's notifications across firms)."""
    from shared.adapters.dynamodb.digest_preferences_repository import DigestPreferencesRepository
    from shared.services.notification_digests import DigestPorts

    settings = get_settings()
    return DigestPorts(
        preferences=DigestPreferencesRepository(settings.data_table_name),
        notifications=notifications_repository(),
        identities=identity_repository(),
        email=email_sender(),
        app_base_url=settings.app_base_url,
        default_timezone=settings.default_firm_timezone,
    )


def digests_for(staff: StaffContext) -> DigestPorts:
    from shared.ports.firm_bound import bind_ports

    return bind_ports(digests(), staff.firm_id)


@cache
def plaid_webhook_reader() -> PlaidWebhookReader:
    """One per container: its verification-key cache lives as long as the container."""
    from shared.adapters import aggregator
    from shared.adapters.aggregator.plaid import PlaidAdapter
    from shared.adapters.aggregator.plaid_webhooks import (
        PlaidWebhookReader,
        PlaidWebhookVerifier,
        plaid_key_fetcher,
    )

    plaid = cast(PlaidAdapter, aggregator.provider("plaid"))
    return PlaidWebhookReader(PlaidWebhookVerifier(plaid_key_fetcher(plaid), holds_item=holds_plaid_item))


def holds_plaid_item(item_id: str) -> bool:
    """Whether a Plaid item is one of our connections' (access pattern 24): a webhook's key that is
    not cached is fetched only for such an item (plaid_webhooks.py)."""
    return connections_repository().locate_by_item(item_id) is not None


@cache
def file_access() -> FileAccessPorts:
    from shared.adapters.dynamodb.files_repository import FilesRepository
    from shared.adapters.dynamodb.grants_repository import GrantsRepository
    from shared.services.file_access import FileAccessPorts

    settings = get_settings()
    return FileAccessPorts(
        files=FilesRepository(settings.data_table_name),
        grants=GrantsRepository(settings.data_table_name),
        customers=onboarding().customers,
        identities=identity_repository(),
        notifications=notifications_repository(),
        audit=audit_log(),
        email=email_sender(),
        directory=onboarding().directory,
        app_base_url=settings.app_base_url,
        limits=limiter(),
    )


def reset() -> None:
    """Forget cached settings, clients and adapters (tests change the environment)."""
    from shared.adapters import aggregator
    from shared.adapters.aws_clients import aws_client
    from shared.adapters.queue import redrive_of
    from shared.api.idempotency import _persistence_store, _table_store

    for cached in (
        get_settings,
        aws_client,
        identity_repository,
        audit_log,
        notifications_repository,
        email_sender,
        onboarding,
        connections,
        plaid_webhook_reader,
        imports,
        imports_repository,
        assignment_repository,
        file_access,
        staff_invitations,
        engagement_index,
        connections_repository,
        credential_vault,
        refresh,
        staff_notices,
        digests,
        exports,
        lifecycle,
        limiter,
        request_pace,
        _persistence_store,
        _table_store,
    ):
        cached.cache_clear()
    aggregator.reset()
    redrive_of.cache_clear()


# Staff routes get their ports bound to the firm the caller was resolved to (shared/auth.py), so
# a staff use case cannot read or write another firm's items (shared/ports/firm_bound.py). The
# unbound accessors above serve the callers whose firm is not known yet (invitation tokens, a
# customer or file caller being resolved, the daily sweeps); tests/unit/test_layers.py checks that
# no staff route uses them.
def onboarding_for(staff: StaffContext) -> OnboardingPorts:
    from shared.ports.firm_bound import bind_ports

    return bind_ports(onboarding(), staff.firm_id)


def assignment_for(staff: StaffContext) -> AssignmentRepository:
    from shared.ports.firm_bound import bind

    return bind(assignment_repository(), staff.firm_id)


def audit_for(staff: StaffContext) -> AuditLog:
    from shared.ports.firm_bound import bind

    return bind(audit_log(), staff.firm_id)


def refresh_for(staff: StaffContext) -> RefreshPorts:
    from shared.ports.firm_bound import bind_ports

    return bind_ports(refresh(), staff.firm_id)


def connections_for(staff: StaffContext) -> ConnectionsPorts:
    from shared.ports.firm_bound import bind_ports

    return bind_ports(connections(), staff.firm_id)


# A job names its firm (our own message, from our own queue): the worker's use case runs on ports
# bound to it, like a staff route's.
def imports_for_job(job: ImportJob) -> ImportPorts:
    from shared.ports.firm_bound import bind_ports

    return bind_ports(imports(), job.firm_id)


def refresh_for_job(message: FanoutMessage) -> RefreshPorts:
    from shared.ports.firm_bound import bind_ports

    return bind_ports(refresh(), message.firm_id)


# The firm's staff and who looks after each customer (issue 15) --------------------------------
def user_directory() -> UserDirectory:
    """The user pool people sign in through (Cognito; locally the same pool on moto)."""
    from shared.adapters.cognito import CognitoDirectory

    return cast("UserDirectory", CognitoDirectory(get_settings().user_pool_id))


def staff_for(staff: StaffContext) -> StaffPorts:
    from shared.ports.firm_bound import bind_ports
    from shared.services.staff import StaffPorts

    directory = cast("UserDirectory", _OnFirstUse(user_directory))  # reads never reach the pool
    ports = StaffPorts(
        identities=identity_repository(),
        directory=directory,
        audit=audit_log(),
        access_elsewhere=access_elsewhere,
    )
    return bind_ports(ports, staff.firm_id)


def access_elsewhere(user_id: str, firm_id: str) -> bool:
    """Whether a person keeps a use for their account outside `firm_id`: an active membership of
    another firm, a customer link, or a client file granted to them (unbound, person-scoped reads)."""
    from shared.adapters.dynamodb.grants_repository import GrantsRepository

    identities = identity_repository()
    return (
        any(m.active and m.firm_id != firm_id for m in identities.list_memberships(user_id))
        or bool(identities.list_customer_links(user_id))
        or bool(GrantsRepository(get_settings().data_table_name).links_of(user_id))
    )


@cache
def staff_invitations() -> StaffInvitationPorts:
    """Staff invitations: unbound for the token routes and the daily reminders."""
    from shared.adapters.dynamodb.staff_invitations_repository import StaffInvitationsRepository
    from shared.services.staff_invitations import StaffInvitationPorts

    settings = get_settings()
    return StaffInvitationPorts(
        invitations=StaffInvitationsRepository(settings.data_table_name),
        identities=identity_repository(),
        audit=audit_log(),
        email=email_sender(),
        directory=onboarding().directory,
        app_base_url=settings.app_base_url,
        limits=limiter(),
    )


def staff_invitations_for(staff: StaffContext) -> StaffInvitationPorts:
    from shared.ports.firm_bound import bind_ports

    return bind_ports(staff_invitations(), staff.firm_id)


def assignees_for(staff: StaffContext) -> AssigneesPorts:
    from shared.ports.firm_bound import bind_ports
    from shared.services.assignees import AssigneesPorts

    index = engagement_index()
    ports = AssigneesPorts(
        customers=onboarding().customers,
        rows=index.rows,
        identities=identity_repository(),
        audit=audit_log(),
        current_eula_version=index.current_eula_version,
    )
    return bind_ports(ports, staff.firm_id)


class _OnFirstUse:
    """A store built when one of its methods is first called (not for a request that needs none)."""

    def __init__(self, build: Callable[[], object]) -> None:
        self._build = build

    def __getattr__(self, name: str) -> Any:
        return getattr(self._build(), name)


# CSV exports (issue 16 item 8) ------------------------------------------------------------------
@cache
def exports() -> ExportPorts:
    from shared.adapters.dynamodb.exports_repository import ExportsRepository
    from shared.adapters.export_files import S3ExportFiles
    from shared.adapters.queue import JobQueue
    from shared.services.exports import ExportPorts

    settings = get_settings()
    return ExportPorts(
        exports=ExportsRepository(settings.data_table_name),
        files=S3ExportFiles(settings.export_bucket_name),
        customers=onboarding().customers,
        accounts=onboarding().accounts,
        audit=audit_log(),
        queue=JobQueue(settings.export_queue_url),
    )


def exports_for(staff: StaffContext) -> ExportPorts:
    from shared.ports.firm_bound import bind_ports

    return bind_ports(exports(), staff.firm_id)


def exports_for_job(job: ExportJob) -> ExportPorts:
    from shared.ports.firm_bound import bind_ports

    return bind_ports(exports(), job.firm_id)


# The data lifecycle (issue 17) -------------------------------------------------------------------
@cache
def lifecycle() -> LifecyclePorts:
    from shared.adapters.dynamodb.lifecycle_repository import LifecycleRepository
    from shared.adapters.export_files import S3ExportFiles
    from shared.adapters.queue import JobQueue
    from shared.services.lifecycle import LifecyclePorts

    settings = get_settings()
    store = LifecycleRepository(settings.data_table_name)
    return LifecyclePorts(
        connections=connections(),
        rows=engagement_index().rows,
        lifecycle=store,
        erasure=store,
        export_files=S3ExportFiles(settings.export_bucket_name),
        erasures=JobQueue(settings.erasure_queue_url),
        default_timezone=settings.default_firm_timezone,
    )


def lifecycle_for(staff: StaffContext) -> LifecyclePorts:
    from shared.ports.firm_bound import bind_ports

    return bind_ports(lifecycle(), staff.firm_id)


def lifecycle_for_job(job: ErasureJob) -> LifecyclePorts:
    from shared.ports.firm_bound import bind_ports

    return bind_ports(lifecycle(), job.firm_id)


# Staff sign-in's second factor (issue 17 item 6) -----------------------------------------------
def mfa() -> MfaPorts:
    """Person-scoped (the caller's own record, an audit event in each firm they work for): unbound."""
    from shared.services.mfa import MfaPorts

    return MfaPorts(identities=identity_repository(), directory=onboarding().directory, audit=audit_log())


def sign_in_check(user_pool_id: str) -> MfaPorts:
    """The check at each token issue (the pool's trigger): person-scoped like `mfa`, on the pool that
    sent the event (the function's environment cannot name the pool whose configuration names it)."""
    from shared.adapters.cognito import CognitoDirectory
    from shared.services.mfa import MfaPorts

    directory = cast("UserDirectory", CognitoDirectory(user_pool_id))
    return MfaPorts(identities=identity_repository(), directory=directory, audit=audit_log())
