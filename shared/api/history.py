"""What every listing of accounts, connections and transactions says about the consent behind its
data (R-PRIV-1): live, or historical since the firm-local day the consent ended
(shared/services/consent_history.py decides; the response models of the API functions carry it)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field


class ConsentHistoryOut(BaseModel):
    historical: bool = Field(
        description="The consent behind this data expired or was revoked: nothing more is imported, "
        "what was imported stays readable for the firm's bookkeeping (R-PRIV-1)"
    )
    consent_ended_on: date | None = Field(
        description="The day the consent ended, in the firm's calendar (its time zone); null while it lasts"
    )


def history(ended_on: date | None) -> dict[str, Any]:
    """The fields of ConsentHistoryOut for a row whose consent ended on `ended_on` (None: live)."""
    return {"historical": ended_on is not None, "consent_ended_on": ended_on}
