"""Domain errors: raised by services and adapters, mapped to HTTP in one place (shared/api)."""

from __future__ import annotations


class DomainError(Exception):
    """An expected failure with a stable machine code and a message safe to show a user."""

    status = 400
    code = "bad_request"
    default_message = "The request cannot be processed."

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        self.message = message or self.default_message
        if code:
            self.code = code
        super().__init__(self.message)


class InvalidRequest(DomainError):
    status = 400
    code = "invalid_request"
    default_message = "The request is not valid."


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"
    default_message = "Sign in to continue."


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    default_message = "You are not allowed to do this."


class NotFound(DomainError):
    """Also what a caller gets for another tenant's ids (R-ROLE-1): one and the same answer."""

    status = 404
    code = "not_found"
    default_message = "Not found."


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = "This conflicts with the current state."


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
    default_message = "Too many requests; try again later."
    default_retry_after_seconds = 60  # when the limit says nothing of its reset

    def __init__(self, message: str | None = None, *, retry_after_seconds: int | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class UpstreamUnavailable(DomainError):
    status = 503
    code = "upstream_unavailable"
    default_message = "A service we depend on is unavailable; try again later."


# Concurrency and delivery failures that storage and queue adapters raise and services catch.


class StaleConnection(Conflict):
    code = "concurrent_update"
    default_message = "This connection changed at the same time; try again."


class ConcurrentChange(Conflict):
    code = "concurrent_update"
    default_message = "This customer changed at the same time; reload and try again."


class FileChanged(Conflict):
    code = "concurrent_update"
    default_message = "This file changed at the same time; reload and try again."


class StaleEngagement(Conflict):
    code = "concurrent_update"
    default_message = "This engagement changed at the same time; try again."


class StaffChanged(Conflict):
    code = "concurrent_update"
    default_message = "This staff member changed at the same time; reload and try again."


class StaffInvitationChanged(Conflict):
    code = "concurrent_update"
    default_message = "This staff invitation changed at the same time; reload and try again."


class LedgerAccountChanged(Conflict):
    code = "concurrent_update"
    default_message = "This ledger account changed at the same time; reload and try again."


class QueueSendFailed(UpstreamUnavailable):
    """Some messages could not be queued (after retries): `unsent` are their positions."""

    code = "queue_unavailable"
    default_message = "The work could not be queued; try again."

    def __init__(self, unsent: list[int]) -> None:
        super().__init__()
        self.unsent = unsent
