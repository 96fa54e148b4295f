"""B5 dashboard page (issues 6 and 8): the Data Refresh page (GET /data-refresh/engagements) and
the customer list (GET /customers) of a firm with 10,000 engagements, for an admin and an
adviser, with no filter and with each filter: Queries per page, Scans (0), and the items DynamoDB
read per item it returned (the `ScannedCount` / `Count` of the page's Query responses, seen on
botocore's `after-call`).

1.0 is the target where the page is served by its key condition alone: no filter, a status
(its own GSI2 partition), the last-upload range (a BETWEEN on the sort key), a customer-list
section. Filters served by a FilterExpression read more than they return, in proportion to
how selective they are on the partition they read; their ratio is printed, not asserted:
- `inactive` reads the scope's GSI1 partition and keeps the inactive rows (a EULA bump or a
  consent lapsing overnight shows at once without rewriting the rows);
- `succeeded`, `failed` and `capped_today` read their status partitions and split them on the
  refresh day (today's are `capped_today`);
- `owner` reads that owner's own partition, which also holds the customers they are assigned to;
- `q`, `contact` and `package` are text filters on the partition read.

The 10,000 engagements (and their customers) are seeded with batch writes of the repositories'
own items; the pages are the real handlers on moto.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from ulid import ULID

from functions.invitations_api import handler as invitations_api
from functions.refresh_api import handler as refresh_api
from local.demo_data import DEMO_FIRM
from shared.domain.customers import Customer, issue_invitation
from shared.domain.refresh import Connector, Engagement, LastRefresh, RefreshState, firm_day
from tests.integration.onboarding_support import ADMIN, ADVISER, call
from tests.integration.test_refresh_dashboard import CURRENT_EULA, refresh_system
from tests.perf.conftest import bulk_put, engagement_row_items, seed_customers, tracing_aws_calls

__all__ = ["refresh_system"]

N = 10_000
MAX_QUERIES = 5  # a page stops after 5 Queries with a cursor (engagement_rows_repository)


def _seed(now) -> None:
    today = firm_day(now, DEMO_FIRM.timezone)
    customers: list[Customer] = []
    engagements: list[Engagement] = []
    for n in range(N):
        _, invitation = issue_invitation(now - timedelta(days=1), None)
        customer = Customer(
            firm_id=DEMO_FIRM.firm_id,
            customer_id=str(ULID.from_datetime(now - timedelta(minutes=n))),
            name=f"Client {n:05d}",
            email=f"client-{n:05d}@example.org",
            owner_id=ADVISER.sub if n % 4 == 0 else ADMIN.sub,
            assignee_ids=(ADVISER.sub,) if n % 4 == 1 else (),
            created_at=now - timedelta(minutes=n),
            invitation=invitation,
            user_id=f"user-{n:05d}",
            accepted_at=now - timedelta(minutes=n),
            accepted_accounts=1,
            version=1,
        )
        plaid = n % 10 >= 7
        last_refresh = None
        if n % 10 == 3:
            last_refresh = LastRefresh("job-today", today, RefreshState.SUCCEEDED)
        elif n % 20 == 5:
            last_refresh = LastRefresh("job-yesterday", today - timedelta(days=1), RefreshState.SUCCEEDED)
        elif n % 10 == 4:
            last_refresh = LastRefresh(
                "job-yesterday", today - timedelta(days=1), RefreshState.FAILED, "bank_error"
            )
        engagements.append(
            Engagement(
                firm_id=DEMO_FIRM.firm_id,
                customer_id=customer.customer_id,
                customer_name=customer.name,
                contact_email=customer.email,
                owner_id=customer.owner_id,
                staff_ids=customer.staff_ids,
                connectors=(
                    Connector(
                        f"conn-{n}",
                        "plaid" if plaid else "gocardless",
                        "ins_1" if plaid else "DEMOBANK_DMBKGB2L",
                        "Plaid Bank" if plaid else "Demo Bank",
                        True,
                        now + (timedelta(days=-1) if n % 20 == 17 else timedelta(days=60)),
                    ),
                ),
                customer_user_id=customer.user_id,
                eula_version=None if n % 20 == 16 else CURRENT_EULA,
                last_upload_at=None if n % 10 == 0 else now - timedelta(hours=n % 2000),
                last_refresh=last_refresh,
                version=1,
            )
        )
        customers.append(customer)
    seed_customers(customers)
    bulk_put(engagement_row_items(engagements, now, CURRENT_EULA))


def _page(handler: Any, route: str, user: Any, query: dict[str, str]) -> dict[str, Any]:
    """One page through the handler: its rows and what its Queries read."""
    with tracing_aws_calls("dynamodb") as trace:
        status, body = call(handler, "GET", route, user, query=query)
    assert status == 200, body
    # The page's reads are the Queries on an index; the other one is the caller's memberships
    # (every staff route reads them first), counted apart.
    queries = [c.response or {} for c in trace.of("Query") if "IndexName" in c.params]
    count = sum(r.get("Count", 0) for r in queries)
    scanned = sum(r.get("ScannedCount", 0) for r in queries)
    return {
        "rows": len(body["items"]),
        "queries": len(queries),
        "scans": len(trace.of("Scan")),
        "other_queries": len(trace.of("Query")) - len(queries),
        "count": count,
        "scanned": scanned,
        "ratio": scanned / count if count else (1.0 if scanned == 0 else math.inf),
    }


def _figure(page: dict[str, Any]) -> str:
    return f"{page['queries']}q/{page['ratio']:.2f}/{page['rows']}r"


def test_b5_dashboard_pages(refresh_system, bar):
    now = refresh_system.now
    _seed(now)
    upload_range = {
        "last_upload_from": (now - timedelta(hours=300)).isoformat(),
        "last_upload_to": (now - timedelta(hours=100)).isoformat(),
    }
    indexed = {
        "none": {},
        "status_active": {"status": "active"},
        "upload_range": upload_range,
    }
    filtered = {
        "status_inactive": {"status": "inactive"},
        "status_succeeded": {"status": "succeeded"},
        "status_failed": {"status": "failed"},
        "status_capped": {"status": "capped_today"},
        "owner": {"owner_id": ADVISER.sub},
        "q": {"q": "client 0012"},
        "contact": {"contact": "client-0042"},
        "package": {"package": "plaid"},
        "all_filters": {"q": "client", "package": "demo bank", "status": "active", **upload_range},
    }
    refresh_pages: dict[str, dict[str, Any]] = {}
    for user_name, user in (("admin", ADMIN), ("adviser", ADVISER)):
        for name, query in {**indexed, **filtered}.items():
            refresh_pages[f"{user_name}_{name}"] = _page(
                refresh_api, "/data-refresh/engagements", user, query
            )
    customer_pages: dict[str, dict[str, Any]] = {}
    for user_name, user in (("admin", ADMIN), ("adviser", ADVISER)):
        for section in ("customers", "pending", "invited"):
            customer_pages[f"{user_name}_{section}"] = _page(
                invitations_api, "/customers", user, {"section": section}
            )
        customer_pages[f"{user_name}_q"] = _page(
            invitations_api, "/customers", user, {"section": "customers", "q": "client 0012"}
        )

    for name, pages in (("B5 refresh dashboard", refresh_pages), ("B5 customer list", customer_pages)):
        bar(
            name,
            engagements=N,
            legend="index_queries/scanned_per_returned/rows",
            scans=sum(p["scans"] for p in pages.values()),
            max_queries=max(p["queries"] for p in pages.values()),
            membership_queries_per_page=max(p["other_queries"] for p in pages.values()),
            **{key: _figure(page) for key, page in pages.items()},
        )

    every = [*refresh_pages.values(), *customer_pages.values()]
    assert sum(p["scans"] for p in every) == 0
    assert max(p["queries"] for p in every) <= MAX_QUERIES
    key_served = [f"{u}_{name}" for u in ("admin", "adviser") for name in indexed]
    for key in key_served:
        page = refresh_pages[key]
        assert (page["queries"], page["ratio"], page["rows"]) == (1, 1.0, 25), (key, page)
    for key, page in customer_pages.items():
        if not key.endswith("_q"):  # a section is a partition: one Query, nothing read in vain
            assert (page["queries"], page["ratio"]) == (1, 1.0), (key, page)
    assert customer_pages["admin_customers"]["rows"] == customer_pages["adviser_customers"]["rows"] == 25
