"""Daily schedule: one import job per active connection (R-IMP-1)."""

from typing import Any

from shared import bootstrap
from shared.services.imports import dispatch_daily_imports
from shared.worker import scheduled_handler


def run(_payload: dict[str, Any]) -> dict[str, Any]:
    return {"jobs_queued": dispatch_daily_imports(bootstrap.imports())}


lambda_handler = scheduled_handler(run)
