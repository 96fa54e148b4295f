from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel

router = Router()


class Health(BaseModel):
    status: str


@router.get("/health", tags=["platform"], summary="Liveness check (no authentication)")
def get_health() -> Health:
    return Health(status="ok")
