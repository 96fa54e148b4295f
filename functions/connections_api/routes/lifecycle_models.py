"""Bodies and answers of the data-lifecycle routes (issue 17)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from functions.connections_api.routes.models import StrictBody
from shared.domain.customers import Customer
from shared.domain.lifecycle import MAX_RETENTION_YEARS, MIN_RETENTION_YEARS, FirmSettings


class FirmSettingsIn(StrictBody):
    retention_years: int = Field(
        ge=MIN_RETENTION_YEARS,
        le=MAX_RETENTION_YEARS,
        description="Years an ended relationship's data is kept (admins read it) before it is erased",
    )


class FirmSettingsOut(BaseModel):
    retention_years: int

    @classmethod
    def of(cls, settings: FirmSettings) -> FirmSettingsOut:
        return cls(retention_years=settings.retention_years)


class LeaveIn(StrictBody):
    erase: bool = Field(default=False, description="Also ask the firm to erase my data (an admin approves)")


class RelationshipOut(BaseModel):
    """Where a customer's relationship with the firm stands (R-PRIV-2, R-PRIV-3)."""

    customer_id: str
    firm_id: str
    ended_at: datetime | None = None
    ended_by: str | None = Field(default=None, description="firm or customer")
    erasure_due: date | None = Field(default=None, description="The firm-local day its data is erased from")
    erasure_requested: bool

    @classmethod
    def of(cls, customer: Customer) -> RelationshipOut:
        return cls(
            customer_id=customer.customer_id,
            firm_id=customer.firm_id,
            ended_at=customer.ended_at,
            ended_by=customer.ended_by,
            erasure_due=customer.erasure_due,
            erasure_requested=customer.erasure_requested_by is not None,
        )
