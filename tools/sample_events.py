"""Write a sample HTTP API event to events/api/ for every route of infra/spec.py that lacks one.

`python -m tools.sample_events` — existing files are kept (they may be hand-tuned); a test checks
that every route has its file and that each file's routeKey matches its route.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from infra.spec import ROUTES, Route
from local.demo_data import DEMO_FIRM, DEMO_USERS
from tests.conftest import EVENTS, api_event

SAMPLE_VALUES = {
    "customer_id": "01JDEMOCUSTOMER000000000000",
    "account_id": "acct-1",
    "notification_id": "01JDEMONOTIFICATION00000000",
    "connection_id": "01JDEMOCONNECTION0000000000",
    "rule_id": "01JDEMORULE0000000000000000",
    "line_id": "2026-11-20~acct-1~tx-1",
    "file_id": "01JDEMOCUSTOMER000000000000",
    "member_id": "01JDEMOMEMBER00000000000000",
    "item_id": "01JDEMOITEM0000000000000000",
    "donation_id": "01JDEMODONATION000000000000",
    "adviser_id": "01JDEMOADVISER0000000000000",
    "job_id": "01JDEMOREFRESHJOB0000000000",
    "export_id": "01JDEMOEXPORT00000000000000",
    "invitation_id": "01JDEMOSTAFFINVITATION00000",
    "user_id": DEMO_USERS[1].sub,  # the demo adviser
    "code": "512100",  # a ledger account code
    "firm_id": DEMO_FIRM.firm_id,
}


def event_file(route: Route) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "_", route.path.lower()).strip("_") or "root"
    return EVENTS / "api" / f"{route.method.lower()}_{slug}.json"


def main() -> None:
    admin = DEMO_USERS[0]
    for route in ROUTES:
        target = event_file(route)
        if target.exists():
            continue
        names = re.findall(r"{(\w+)}", route.path)
        event = api_event(
            route.method,
            route.path,
            user=None if route.public else admin,
            path_parameters={name: SAMPLE_VALUES[name] for name in names},
        )
        target.write_text(json.dumps(event, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
