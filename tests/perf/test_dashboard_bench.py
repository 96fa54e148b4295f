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
- `package` is a text filter on the partition read.
Searches (`q`, `contact`, the customer list's `q`, issue 16) read the scope's search entries under
the typed prefix (keys.py #55, #56) and the rows they name by key: at most 2 Queries and
ScannedCount/Count <= 1.5 are asserted for prefixes of 3+ characters, with every match (up to a
page) on the first page; `items_read_per_row` adds the BatchGetItem's rows to the entries read.

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
from shared.adapters.dynamodb import keys
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
    # The page's reads are the Queries on an index or on a search partition (#55, #56) and the
    # BatchGetItem of the rows a search found; the other Query is the caller's memberships (every
    # staff route reads them first), counted apart.
    queries = [c.response or {} for c in trace.of("Query") if _page_query(c.params)]
    count = sum(r.get("Count", 0) for r in queries)
    scanned = sum(r.get("ScannedCount", 0) for r in queries)
    batch_read = sum(
        len(items)
        for c in trace.of("BatchGetItem")
        for items in (c.response or {}).get("Responses", {}).values()
    )
    rows = len(body["items"])
    return {
        "rows": rows,
        "queries": len(queries),
        "scans": len(trace.of("Scan")),
        "other_queries": len(trace.of("Query")) - len(queries),
        "count": count,
        "scanned": scanned,
        "ratio": scanned / count if count else (1.0 if scanned == 0 else math.inf),
        # every item read (entries and rows) per row returned: what a search page costs in all
        "read_per_row": (scanned + batch_read) / rows
        if rows
        else (0.0 if scanned + batch_read == 0 else math.inf),
    }


def _page_query(params: dict[str, Any]) -> bool:
    partition = params["ExpressionAttributeValues"][":pk"]["S"]
    return "IndexName" in params or not partition.startswith(keys.user_pk(""))


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
        "package": {"package": "plaid"},
        "all_filters": {"q": "client", "package": "demo bank", "status": "active", **upload_range},
    }
    # Searches read the scope's search entries (#55): (filter, the prefix every match starts with).
    searched = {
        "q": ({"q": "client 0012"}, "client 0012"),
        "q_email": ({"q": "client-00042@"}, "client-00042@"),
        "q_broad": ({"q": "Client 01"}, "client 01"),
        "contact": ({"contact": "client-0042"}, "client 0042"),
        "contact_email": ({"contact": "CLIENT-0777"}, "client 0777"),
    }
    refresh_pages: dict[str, dict[str, Any]] = {}
    for user_name, user in (("admin", ADMIN), ("adviser", ADVISER)):
        queries = {**indexed, **filtered, **{name: query for name, (query, _) in searched.items()}}
        for name, query in queries.items():
            refresh_pages[f"{user_name}_{name}"] = _page(
                refresh_api, "/data-refresh/engagements", user, query
            )
    customer_pages: dict[str, dict[str, Any]] = {}
    for user_name, user in (("admin", ADMIN), ("adviser", ADVISER)):
        for section in ("customers", "pending", "invited"):
            customer_pages[f"{user_name}_{section}"] = _page(
                invitations_api, "/customers", user, {"section": section}
            )
        for name, query in (("q", "client 0012"), ("q_email", "client-00042@ex")):
            customer_pages[f"{user_name}_{name}"] = _page(
                invitations_api, "/customers", user, {"section": "customers", "q": query}
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
    searches = {
        **{
            f"refresh_{u}_{name}": refresh_pages[f"{u}_{name}"]
            for u in ("admin", "adviser")
            for name in searched
        },
        **{f"customers_{key}": page for key, page in customer_pages.items() if "_q" in key},
    }
    bar(
        "B5 search",
        engagements=N,
        legend="queries/scanned_per_returned/items_read_per_row/rows",
        max_queries=max(p["queries"] for p in searches.values()),
        max_ratio=f"{max(p['ratio'] for p in searches.values()):.2f}",
        **{
            key: f"{p['queries']}q/{p['ratio']:.2f}/{p['read_per_row']:.2f}/{p['rows']}r"
            for key, p in searches.items()
        },
    )

    every = [*refresh_pages.values(), *customer_pages.values()]
    assert sum(p["scans"] for p in every) == 0
    assert max(p["queries"] for p in every) <= MAX_QUERIES
    key_served = [f"{u}_{name}" for u in ("admin", "adviser") for name in indexed]
    for key in key_served:
        page = refresh_pages[key]
        assert (page["queries"], page["ratio"], page["rows"]) == (1, 1.0, 25), (key, page)
    for key, page in customer_pages.items():
        if "_q" not in key:  # a section is a partition: one Query, nothing read in vain
            assert (page["queries"], page["ratio"]) == (1, 1.0), (key, page)
    assert customer_pages["admin_customers"]["rows"] == customer_pages["adviser_customers"]["rows"] == 25
    # A search of 3+ characters: at most 2 Queries, ScannedCount/Count <= 1.5, every match (up to a
    # page of 25) on the first page.
    for key, page in searches.items():
        assert page["queries"] <= 2 and page["ratio"] <= 1.5, (key, page)
    for user_name, user in (("admin", ADMIN), ("adviser", ADVISER)):
        for name, (_, prefix) in searched.items():
            expected = min(25, _matches(prefix, user))
            assert refresh_pages[f"{user_name}_{name}"]["rows"] == expected, (user_name, name)
        assert customer_pages[f"{user_name}_q"]["rows"] == _matches("client 0012", user)
        assert customer_pages[f"{user_name}_q_email"]["rows"] == _matches("client-00042@ex", user)


def _matches(prefix: str, user: Any) -> int:
    """The seeded engagements whose name or email starts with `prefix` that `user` sees."""
    return sum(
        1
        for n in range(N)
        if (f"client {n:05d}".startswith(prefix) or f"client-{n:05d}@example.org".startswith(prefix))
        and (user is ADMIN or n % 4 in (0, 1))
    )
