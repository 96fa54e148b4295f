"""Data Refresh storage: the dashboard's engagement rows (access patterns 37-39 in keys.py) and the
package values in use per scope (70), counted in the rows' own transactions.

Engagement rows mirror the customer rows (customers_repository): one item per scope (the
firm, and each staff member who sees the customer), rewritten together in one transaction
with an optimistic lock on the firm-wide row, so a dashboard page is one Query on an index.
A refresh job changes the rows in its own transactions with `row_change_writes`
(refresh_jobs_repository).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import (
    batch_get,
    batch_write,
    dynamodb_client,
    from_item,
    to_item,
    transact_removals,
    write_chained,
)
from shared.adapters.dynamodb.cursor import decode_cursor, encode_cursor
from shared.adapters.dynamodb.search_index import Indexed, entry_writes, find_page
from shared.domain.errors import (
    Conflict,
    InvalidRequest,
    StaleEngagement,
)
from shared.domain.refresh import (
    Connector,
    DashboardClock,
    Engagement,
    LastRefresh,
    Package,
    PackageInUse,
    PackageKind,
    RefreshFilters,
    RefreshState,
    RefreshStatus,
    package_key,
)
from shared.domain.search import first_match, search_prefix
from shared.ports.refresh import EngagementPage, RowChange
from shared.ports.storage import TransactItem

MAX_QUERIES_PER_PAGE = 5  # a very selective filter returns a short page and a cursor, never a long wait


@dataclass(frozen=True)
class _Segment:
    index: str  # GSI1 (a scope's rows) or GSI2 (a scope's rows in one stored status)
    partition: str
    row_scope: str | None  # whose row the partition holds: builds the start key of a cursor


@dataclass
class EngagementRowsRepository:
    """The `EngagementRowStore` port on the data table."""

    table_name: str

    def get_engagement(self, firm_id: str, customer_id: str) -> Engagement | None:
        response = dynamodb_client().get_item(
            TableName=self.table_name,
            Key=to_item(
                {"PK": keys.customer_collection_pk(firm_id, customer_id), "SK": keys.refresh_row_sk(None)}
            ),
            ConsistentRead=True,
        )
        return _engagement(from_item(response["Item"])) if "Item" in response else None

    def save_engagement(self, engagement: Engagement, previous: Engagement | None, bucket: str) -> Engagement:
        saved = replace(engagement, version=(previous.version + 1) if previous else 1)
        self._transact(row_writes(self.table_name, saved, previous, bucket), StaleEngagement)
        return saved

    def rows_absent_op(self, firm_id: str, customer_id: str) -> TransactItem:
        key = {"PK": keys.customer_collection_pk(firm_id, customer_id), "SK": keys.refresh_row_sk(None)}
        return {
            "ConditionCheck": {
                "TableName": self.table_name,
                "Key": to_item(key),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }

    def row_change_ops(self, rows: RowChange) -> list[TransactItem]:
        """The writes of `rows` as transaction items, for a change that also writes the customer."""
        return row_change_writes(self.table_name, rows)

    def remove_rows(self, engagement: Engagement) -> None:
        """After the customer's end, whatever its number of scopes: each adviser's row with its
        package counts (one group per row, up to 100 items a transaction, a row already gone
        skipped), the search entries (BatchWriteItem), then the firm-wide row with its counts, locked
        on its version: until that one is gone a retry finds the engagement and finishes."""
        counts = {
            write["Update"]["Key"]["SK"]["S"]: write
            for write in _package_count_writes(self.table_name, engagement.firm_id, None, engagement)
        }
        collection = keys.customer_collection_pk(engagement.firm_id, engagement.customer_id)

        def removal(scope: str | None) -> list[TransactItem]:
            delete: dict[str, Any] = {
                "TableName": self.table_name,
                "Key": to_item({"PK": collection, "SK": keys.refresh_row_sk(scope)}),
                "ConditionExpression": "attribute_exists(PK)",
            }
            if scope is None:
                delete["ConditionExpression"] = "version = :version"
                delete["ExpressionAttributeValues"] = {":version": {"N": str(engagement.version)}}
            count = counts.get(keys.refresh_packages_sk(scope))
            return [{"Delete": delete}, *([count] if count else [])]

        transact_removals([removal(scope) for scope in engagement.staff_ids])
        entries = entry_writes(
            self.table_name,
            keys.refresh_find_pk,
            engagement.firm_id,
            engagement.customer_id,
            _indexed(engagement),
            None,
        )
        batch_write(self.table_name, [{"DeleteRequest": {"Key": e["Delete"]["Key"]}} for e in entries])
        self._transact(removal(None), StaleEngagement)

    def visible_engagements(
        self, firm_id: str, staff_scope: str | None, customer_ids: Iterable[str]
    ) -> dict[str, Engagement]:
        """The engagements among `customer_ids` that this scope sees: its own rows, read by key,
        so an id of another firm or one the adviser does not see is simply absent (R-ROLE-1)."""
        wanted = list(dict.fromkeys(customer_ids))
        scope_sk = keys.refresh_row_sk(staff_scope)
        items = batch_get(
            self.table_name,
            [{"PK": keys.customer_collection_pk(firm_id, c), "SK": scope_sk} for c in wanted],
            consistent=True,
        )
        return {engagement.customer_id: engagement for engagement in map(_engagement, items)}

    def packages_in_use(self, firm_id: str, staff_scope: str | None) -> list[PackageInUse]:
        """The package values the scope's engagements use, with how many use each (#70: one GetItem).
        Values no engagement uses any more are removed from the item then (one conditional update,
        only when there are some), so it holds what is in use, not every bank the firm ever had."""
        key = to_item({"PK": keys.firm_pk(firm_id), "SK": keys.refresh_packages_sk(staff_scope)})
        response = dynamodb_client().get_item(TableName=self.table_name, Key=key)
        item = from_item(response.get("Item", {}))
        counts = {
            name.removeprefix(keys.PACKAGE_COUNT_PREFIX): int(count)
            for name, count in item.items()
            if name.startswith(keys.PACKAGE_COUNT_PREFIX)
        }
        self._drop_unused(key, [name for name, count in counts.items() if count <= 0])
        found = [
            PackageInUse(_package(item[keys.PACKAGE_SHOWN_PREFIX + key]), count)
            for key, count in counts.items()
            if count > 0 and keys.PACKAGE_SHOWN_PREFIX + key in item
        ]
        return sorted(
            found, key=lambda p: (p.package.kind.value, package_key(p.package.name), p.package.value)
        )

    def _drop_unused(self, key: dict[str, Any], unused: list[str]) -> None:
        """Remove values whose count is still 0; a row counting one again meanwhile keeps them all."""
        if not unused:
            return
        names: dict[str, str] = {}
        removes, conditions = [], []
        for n, value in enumerate(sorted(unused)[:_DROP_AT_ONCE]):
            names[f"#n{n}"], names[f"#p{n}"] = (
                keys.PACKAGE_COUNT_PREFIX + value,
                keys.PACKAGE_SHOWN_PREFIX + value,
            )
            removes += [f"#n{n}", f"#p{n}"]
            conditions.append(f"#n{n} <= :zero")
        try:
            dynamodb_client().update_item(
                TableName=self.table_name,
                Key=key,
                UpdateExpression=f"REMOVE {', '.join(removes)}",
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item({":zero": 0}),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def page(
        self,
        firm_id: str,
        staff_scope: str | None,
        filters: RefreshFilters,
        clock: DashboardClock,
        *,
        cursor: str | None,
        limit: int,
    ) -> EngagementPage:
        """Newest upload first. One or two index partitions (see keys.py #38/#39), read in turn;
        the other filters narrow the rows read from them. A search (`q`, `contact`) reads the
        scope's search entries (#55) instead: in the order of what matched, see search_index."""
        searched, contact = search_prefix(filters.q), search_prefix(filters.contact)
        if searched or contact:
            return self._search_page(firm_id, staff_scope, filters, clock, searched, contact, cursor, limit)
        segments = _segments(firm_id, staff_scope, filters)
        segment_no, last_sort = _position(cursor, len(segments))
        rows: list[Engagement] = []
        for _ in range(MAX_QUERIES_PER_PAGE):
            if segment_no >= len(segments):
                return EngagementPage(rows, None)
            segment = segments[segment_no]
            query = self._page_query(firm_id, segment, filters, clock, last_sort, limit - len(rows))
            response = dynamodb_client().query(**query)
            items = [from_item(raw) for raw in response["Items"]]
            take = items[: limit - len(rows)]
            rows += [_engagement(item) for item in take]
            evaluated = response.get("LastEvaluatedKey")
            sort_name = "GSI1SK" if segment.index == "GSI1" else "GSI2SK"
            if len(take) < len(items):
                last_sort = take[-1][sort_name]
            elif evaluated:
                last_sort = evaluated[sort_name]["S"]
            else:
                segment_no, last_sort = segment_no + 1, None
            if len(rows) >= limit:
                break
        more = segment_no < len(segments)
        return EngagementPage(rows, encode_cursor(f"{segment_no}|{last_sort or ''}") if more else None)

    def _search_page(
        self,
        firm_id: str,
        staff_scope: str | None,
        filters: RefreshFilters,
        clock: DashboardClock,
        query: str | None,
        contact: str | None,
        cursor: str | None,
        limit: int,
    ) -> EngagementPage:
        """The engagements found by `query` (else `contact`) in the scope's entries that match the
        other filters: an admin filtering by owner reads that owner's entries, as `_segments` does."""
        row_scope = staff_scope or filters.owner_id
        prefix = query or contact or ""

        def rows_of(customer_ids: list[str]) -> dict[str, Engagement]:
            return self.visible_engagements(firm_id, row_scope, customer_ids)

        def keep(engagement: Engagement) -> bool:
            by_contact = contact is None or first_match(_indexed(engagement).tokens, contact) is not None
            return by_contact and _admits(engagement, filters, clock)

        partition = keys.refresh_find_pk(firm_id, row_scope)
        rows, next_cursor = find_page(
            self.table_name, partition, prefix, rows_of, _indexed, keep, cursor=cursor, limit=limit
        )
        return EngagementPage(rows, next_cursor)

    def _page_query(
        self,
        firm_id: str,
        segment: _Segment,
        filters: RefreshFilters,
        clock: DashboardClock,
        last_sort: str | None,
        wanted: int,
    ) -> dict[str, Any]:
        pk_name, sk_name = ("GSI1PK", "GSI1SK") if segment.index == "GSI1" else ("GSI2PK", "GSI2SK")
        values: dict[str, Any] = {":pk": segment.partition}
        key_condition = f"{pk_name} = :pk"
        if filters.last_upload_from or filters.last_upload_to:
            # Served by the sort key (<last upload>#<id>); never-uploaded rows ("-") fall outside.
            values[":from"], values[":to"] = keys.refresh_uploads_between(
                _utc(filters.last_upload_from) if filters.last_upload_from else None,
                _utc(filters.last_upload_to) if filters.last_upload_to else None,
            )
            key_condition += f" AND {sk_name} BETWEEN :from AND :to"
        conditions, names = _filter_conditions(filters, clock, values)
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": segment.index,
            "KeyConditionExpression": key_condition,
            "ScanIndexForward": False,
            "Limit": max(wanted, 1) * 2 if conditions else wanted,
        }
        if conditions:
            query["FilterExpression"] = " AND ".join(conditions)
        if names:
            query["ExpressionAttributeNames"] = names
        query["ExpressionAttributeValues"] = to_item(values)
        if last_sort:
            customer_id = keys.refresh_row_sort_customer(last_sort)
            query["ExclusiveStartKey"] = to_item(
                {
                    "PK": keys.customer_collection_pk(firm_id, customer_id),
                    "SK": keys.refresh_row_sk(segment.row_scope),
                    pk_name: segment.partition,
                    sk_name: last_sort,
                }
            )
        return query

    def _transact(self, items: list[TransactItem], conflict: type[Conflict]) -> None:
        try:
            write_chained(items)
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                raise conflict() from None
            raise


# the rows' writes (a refresh job's transactions include them) --------------------------------
def row_change_writes(table_name: str, rows: RowChange | None) -> list[TransactItem]:
    """The writes of `rows` (their version moved on), locked on the previous version; none if None."""
    if rows is None:
        return []
    return row_writes(
        table_name, replace(rows.new, version=rows.previous.version + 1), rows.previous, rows.bucket
    )


def row_writes(
    table_name: str, engagement: Engagement, previous: Engagement | None, bucket: str
) -> list[TransactItem]:
    """Every scope's row of the engagement; the firm-wide row carries the optimistic lock."""
    items: list[TransactItem] = []
    for scope in (None, *engagement.staff_ids):
        put: TransactItem = {
            "TableName": table_name,
            "Item": to_item(_row_values(engagement, scope, bucket)),
        }
        if scope is None:
            if previous:
                put["ConditionExpression"] = "version = :version"
                put["ExpressionAttributeValues"] = {":version": {"N": str(previous.version)}}
            else:
                put["ConditionExpression"] = "attribute_not_exists(PK)"
        items.append({"Put": put})
    items += _package_count_writes(table_name, engagement.firm_id, engagement, previous)
    items += entry_writes(
        table_name,
        keys.refresh_find_pk,
        engagement.firm_id,
        engagement.customer_id,
        _indexed(previous) if previous else None,
        _indexed(engagement),
    )
    for gone in set(previous.staff_ids if previous else ()) - set(engagement.staff_ids):
        items.append(
            {
                "Delete": {
                    "TableName": table_name,
                    "Key": to_item(
                        {
                            "PK": keys.customer_collection_pk(engagement.firm_id, engagement.customer_id),
                            "SK": keys.refresh_row_sk(gone),
                        }
                    ),
                }
            }
        )
    return items


_DROP_AT_ONCE = 50  # values removed per listing (an expression stays well within its limits)


def _package_count_writes(
    table_name: str, firm_id: str, engagement: Engagement | None, previous: Engagement | None
) -> list[TransactItem]:
    """Per scope whose packages change: one update moving the counts of #70 (a row stored before the
    counts existed counted nothing yet: all of its packages are added; `engagement` None: removed)."""
    before = previous.packages() if previous and previous.packages_counted else {}
    after = engagement.packages() if engagement else {}
    old_scopes = {None, *previous.staff_ids} if previous else set()
    new_scopes = {None, *engagement.staff_ids} if engagement else set()
    writes: list[TransactItem] = []
    for scope in sorted(old_scopes | new_scopes, key=lambda s: s or ""):
        had = before if scope in old_scopes else {}
        has = after if scope in new_scopes else {}
        moves = {key: 1 for key in has.keys() - had.keys()} | {key: -1 for key in had.keys() - has.keys()}
        if not moves:
            continue
        names: dict[str, str] = {"#type": "type"}
        values: dict[str, Any] = {":type": "refresh_packages"}
        adds, sets = [], ["#type = :type"]
        for n, (key, move) in enumerate(sorted(moves.items())):
            names[f"#n{n}"], values[f":n{n}"] = keys.PACKAGE_COUNT_PREFIX + key, move
            adds.append(f"#n{n} :n{n}")
            if move > 0:
                shown = has[key]
                names[f"#p{n}"] = keys.PACKAGE_SHOWN_PREFIX + key
                values[f":p{n}"] = {"kind": shown.kind.value, "value": shown.value, "name": shown.name}
                sets.append(f"#p{n} = :p{n}")
        writes.append(
            {
                "Update": {
                    "TableName": table_name,
                    "Key": to_item({"PK": keys.firm_pk(firm_id), "SK": keys.refresh_packages_sk(scope)}),
                    "UpdateExpression": f"ADD {', '.join(adds)} SET {', '.join(sets)}",
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": to_item(values),
                }
            }
        )
    return writes


def _package(shown: dict[str, Any]) -> Package:
    return Package(PackageKind(shown["kind"]), shown["value"], shown["name"])


# dashboard queries ---------------------------------------------------------------------------
def _segments(firm_id: str, staff_scope: str | None, filters: RefreshFilters) -> list[_Segment]:
    """Where a page is read from. An admin filtering by owner reads that owner's rows only."""
    row_scope = staff_scope or filters.owner_id
    status = filters.status
    if status is None or status is RefreshStatus.INACTIVE:
        # Inactive depends on today's clock and configured EULA: read the scope, filtered.
        return [_Segment("GSI1", keys.refresh_rows_gsi1pk(firm_id, row_scope), row_scope)]
    buckets = (
        [RefreshStatus.SUCCEEDED.value, RefreshStatus.FAILED.value]
        if status is RefreshStatus.CAPPED_TODAY
        else [status.value]
    )
    return [
        _Segment("GSI2", keys.refresh_status_gsi2pk(firm_id, row_scope, bucket), row_scope)
        for bucket in buckets
    ]


def _filter_conditions(
    filters: RefreshFilters, clock: DashboardClock, values: dict[str, Any]
) -> tuple[list[str], dict[str, str]]:
    conditions: list[str] = []
    names: dict[str, str] = {}
    if filters.owner_id:
        conditions.append("owner_id = :owner")
        values[":owner"] = filters.owner_id
    if filters.package:
        conditions.append("contains(packages, :package)")
        values[":package"] = package_key(filters.package)
    status = filters.status
    if status is None:
        return conditions, names
    values[":eula"] = clock.current_eula
    values[":now"] = clock.now.astimezone(UTC).isoformat()
    if status is RefreshStatus.INACTIVE:
        conditions.append(
            "(attribute_not_exists(eula_version) OR eula_version <> :eula"
            " OR attribute_not_exists(consent_valid_until) OR consent_valid_until <= :now)"
        )
        return conditions, names
    conditions.append("eula_version = :eula AND consent_valid_until > :now")
    if status in (RefreshStatus.SUCCEEDED, RefreshStatus.FAILED, RefreshStatus.CAPPED_TODAY):
        values[":today"] = clock.today.isoformat()
        comparison = "=" if status is RefreshStatus.CAPPED_TODAY else "<>"
        conditions.append(f"last_refresh_day {comparison} :today")
    return conditions, names


def _admits(engagement: Engagement, filters: RefreshFilters, clock: DashboardClock) -> bool:
    """The filters other than the search, on a row a search found (as `_filter_conditions` and
    the key conditions select them on a partition)."""
    if filters.owner_id and engagement.owner_id != filters.owner_id:
        return False
    if filters.package:
        connectors = engagement.connectors
        named = {p.lower() for c in connectors for p in (c.provider, c.institution_id, c.institution_name)}
        if filters.package.strip().lower() not in named:
            return False
    if filters.last_upload_from or filters.last_upload_to:
        uploaded = _utc(engagement.last_upload_at) if engagement.last_upload_at else None
        first = _utc(filters.last_upload_from) if filters.last_upload_from else None
        last = _utc(filters.last_upload_to) if filters.last_upload_to else None
        if uploaded is None or (first and uploaded < first) or (last and uploaded > last):
            return False
    status = filters.status
    return status is None or engagement.status(clock.now, clock.today, clock.current_eula) is status


def _indexed(engagement: Engagement) -> Indexed:
    return Indexed.of(engagement.customer_name, engagement.contact_email, engagement.staff_ids)


def _position(cursor: str | None, segments: int) -> tuple[int, str | None]:
    decoded = decode_cursor(cursor)
    if decoded is None:
        return 0, None
    number, _, last_sort = decoded.partition("|")
    if not number.isdigit() or int(number) >= segments:
        raise InvalidRequest("The page cursor is not valid.", code="invalid_cursor")
    return int(number), last_sort or None


# items ---------------------------------------------------------------------------------------
def _row_values(engagement: Engagement, scope: str | None, bucket: str) -> dict[str, Any]:
    firm_id, customer_id = engagement.firm_id, engagement.customer_id
    last_upload = _utc(engagement.last_upload_at) if engagement.last_upload_at else None
    sort = keys.refresh_row_sort(last_upload, customer_id)
    valid_until = [
        _utc(c.consent_expires_at) if c.consent_expires_at else "9999"
        for c in engagement.connectors
        if c.importable
    ]
    last = engagement.last_refresh
    connectors_text = " ".join(
        f"{c.provider} {c.institution_id} {c.institution_name}" for c in engagement.connectors
    )
    return {
        "PK": keys.customer_collection_pk(firm_id, customer_id),
        "SK": keys.refresh_row_sk(scope),
        "type": "refresh_row",
        "firm_id": firm_id,
        "customer_id": customer_id,
        "customer_name": engagement.customer_name,
        "contact_email": engagement.contact_email,
        "customer_user_id": engagement.customer_user_id,
        "owner_id": engagement.owner_id,
        "staff_ids": list(engagement.staff_ids),
        "connectors": [
            {
                "connection_id": c.connection_id,
                "provider": c.provider,
                "institution_id": c.institution_id,
                "institution_name": c.institution_name,
                "importable": c.importable,
                "consent_expires_at": _utc(c.consent_expires_at) if c.consent_expires_at else None,
            }
            for c in engagement.connectors
        ],
        "search_text": f"{engagement.customer_name} {engagement.contact_email} {connectors_text}".lower(),
        "contact_search": f"{engagement.customer_name} {engagement.contact_email}".lower(),
        "packages": sorted(engagement.package_keys()),
        "packages_counted": True,  # its packages are in the counts of #70
        "consent_valid_until": max(valid_until) if valid_until else None,
        "eula_version": engagement.eula_version,
        "last_upload_at": last_upload,
        "last_refresh": {
            "job_id": last.job_id,
            "day": last.day.isoformat(),
            "state": last.state.value,
            "error": last.error,
        }
        if last
        else None,
        "last_refresh_day": last.day.isoformat() if last else None,
        "bucket": bucket,
        "version": engagement.version,
        "GSI1PK": keys.refresh_rows_gsi1pk(firm_id, scope),
        "GSI1SK": sort,
        "GSI2PK": keys.refresh_status_gsi2pk(firm_id, scope, bucket),
        "GSI2SK": sort,
    }


def _engagement(item: dict[str, Any]) -> Engagement:
    last = item.get("last_refresh")
    return Engagement(
        firm_id=item["firm_id"],
        customer_id=item["customer_id"],
        customer_name=item["customer_name"],
        contact_email=item["contact_email"],
        owner_id=item["owner_id"],
        staff_ids=tuple(item.get("staff_ids", [])),
        connectors=tuple(
            Connector(
                connection_id=c["connection_id"],
                provider=c["provider"],
                institution_id=c["institution_id"],
                institution_name=c["institution_name"],
                importable=bool(c["importable"]),
                consent_expires_at=_dt(c.get("consent_expires_at")),
            )
            for c in item.get("connectors", [])
        ),
        customer_user_id=item.get("customer_user_id"),
        eula_version=item.get("eula_version"),
        last_upload_at=_dt(item.get("last_upload_at")),
        last_refresh=LastRefresh(
            job_id=last["job_id"],
            day=date.fromisoformat(last["day"]),
            state=RefreshState(last["state"]),
            error=last.get("error"),
        )
        if last
        else None,
        version=int(item["version"]),
        packages_counted=bool(item.get("packages_counted", False)),
    )


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
