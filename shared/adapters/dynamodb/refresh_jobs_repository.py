"""Data Refresh storage: refresh jobs, their outcomes and the daily cap (access patterns 40-42
in keys.py).

A refresh's claim of its engagement-day, its outcome item, the job's counters and the rows'
status (engagement_rows_repository.row_change_writes) are one transaction: the counters
always add up and never disagree with the outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import batch_get, dynamodb_client, from_item, to_item, write_chained
from shared.adapters.dynamodb.cursor import decode_cursor, encode_cursor
from shared.adapters.dynamodb.engagement_rows_repository import row_change_writes
from shared.domain.errors import StaleEngagement
from shared.domain.refresh import (
    EngagementOutcome,
    ExclusionReason,
    JobCounts,
    RefreshJob,
    RefreshState,
)
from shared.ports.refresh import Claim, ExclusionEvent, RowChange
from shared.ports.storage import TransactItem

EXCLUSIONS_PER_TRANSACTION = (
    90  # + the job's counters and the audit event: under DynamoDB's 100 items per transaction
)
EXPANSION_DONE = "(done)"  # never a cursor (not base64): the job's last page was expanded
CAP_KEPT = timedelta(days=3)  # the cap item outlives its day in every time zone, then TTL removes it


@dataclass
class RefreshJobsRepository:
    """The `RefreshJobStore` port on the data table."""

    table_name: str

    def create_job(self, job: RefreshJob, *extra: TransactItem) -> None:
        """The job with its counters (#41) and its listing item (#43, #44), together with `extra`
        (its audit event)."""
        c = job.counts
        pk = keys.refresh_job_pk(job.firm_id, job.job_id)
        job_item = {
            "PK": pk,
            "SK": keys.REFRESH_JOB,
            "type": "refresh_job",
            "firm_id": job.firm_id,
            "job_id": job.job_id,
            "requested_by": job.requested_by,
            "requested_at": job.requested_at.isoformat(),
            "selection": job.selection,
            "expanding": job.expanding,
            "expansion_cursor": "",
            "excluded_by_reason": {},
            **{state.value: getattr(c, state.value) for state in RefreshState},
        }
        listing = {
            "PK": pk,
            "SK": keys.REFRESH_JOB_LISTED,
            "type": "refresh_job_listing",
            "job_id": job.job_id,
            "GSI1PK": keys.refresh_jobs_gsi1pk(job.firm_id),
            "GSI1SK": job.job_id,
            "GSI2PK": keys.refresh_jobs_by_gsi2pk(job.firm_id, job.requested_by),
            "GSI2SK": job.job_id,
        }
        write_chained(
            [
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": to_item(item),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                }
                for item in (job_item, listing)
            ]
            + list(extra)
        )

    def delete_job(self, firm_id: str, job_id: str, *extra: TransactItem) -> None:
        """Undo `create_job` for a job whose selection could not be queued (it has no outcomes),
        with `extra` (its audit event)."""
        pk = keys.refresh_job_pk(firm_id, job_id)
        write_chained(
            [
                {"Delete": {"TableName": self.table_name, "Key": to_item({"PK": pk, "SK": sk})}}
                for sk in (keys.REFRESH_JOB, keys.REFRESH_JOB_LISTED)
            ]
            + list(extra)
        )

    def list_jobs(
        self, firm_id: str, requested_by: str | None, *, cursor: str | None, limit: int
    ) -> tuple[list[RefreshJob], str | None]:
        """Newest first: the firm's jobs (`requested_by` None), or one person's. One Query on the
        listing items, one BatchGetItem of the jobs (consistent: the counters as they are now)."""
        index, pk_name, sk_name, pk = (
            ("GSI1", "GSI1PK", "GSI1SK", keys.refresh_jobs_gsi1pk(firm_id))
            if requested_by is None
            else ("GSI2", "GSI2PK", "GSI2SK", keys.refresh_jobs_by_gsi2pk(firm_id, requested_by))
        )
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": index,
            "KeyConditionExpression": f"{pk_name} = :pk",
            "ExpressionAttributeValues": to_item({":pk": pk}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        last = decode_cursor(cursor)
        if last:
            query["ExclusiveStartKey"] = to_item(
                {
                    "PK": keys.refresh_job_pk(firm_id, last),
                    "SK": keys.REFRESH_JOB_LISTED,
                    pk_name: pk,
                    sk_name: last,
                }
            )
        response = dynamodb_client().query(**query)
        job_ids = [from_item(raw)["job_id"] for raw in response["Items"]]
        items = batch_get(
            self.table_name,
            [{"PK": keys.refresh_job_pk(firm_id, job_id), "SK": keys.REFRESH_JOB} for job_id in job_ids],
            consistent=True,
        )
        jobs = {job.job_id: job for job in map(_job, items)}
        found = [jobs[job_id] for job_id in job_ids if job_id in jobs]
        more = response.get("LastEvaluatedKey") and job_ids
        return found, (encode_cursor(job_ids[-1]) if more else None)

    def get_job(self, firm_id: str, job_id: str) -> RefreshJob | None:
        item = self._get(keys.refresh_job_pk(firm_id, job_id), keys.REFRESH_JOB)
        return _job(item) if item else None

    def add_expanded(
        self, firm_id: str, job_id: str, count: int, *, at: str, next_cursor: str | None
    ) -> bool:
        """ "All matching": the page read at cursor `at` adds `count` pending engagements (the sum
        holds), once: a redelivered page finds the job's cursor moved on and adds nothing."""
        try:
            dynamodb_client().update_item(
                TableName=self.table_name,
                Key=to_item({"PK": keys.refresh_job_pk(firm_id, job_id), "SK": keys.REFRESH_JOB}),
                UpdateExpression="ADD pending :n SET expanding = :expanding, expansion_cursor = :next",
                ConditionExpression="expansion_cursor = :at",
                ExpressionAttributeValues=to_item(
                    {
                        ":n": count,
                        ":expanding": next_cursor is not None,
                        ":next": next_cursor or EXPANSION_DONE,
                        ":at": at,
                    }
                ),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def expansion_cursor(self, firm_id: str, job_id: str) -> str:
        item = self._get(keys.refresh_job_pk(firm_id, job_id), keys.REFRESH_JOB)
        return str(item.get("expansion_cursor", "")) if item else ""

    def outcomes(
        self, firm_id: str, job_id: str, *, cursor: str | None, limit: int
    ) -> tuple[list[EngagementOutcome], str | None]:
        pk = keys.refresh_job_pk(firm_id, job_id)
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": to_item({":pk": pk, ":prefix": keys.REFRESH_OUTCOME_PREFIX}),
            "Limit": limit,
        }
        last = decode_cursor(cursor)
        if last:
            query["ExclusiveStartKey"] = to_item({"PK": pk, "SK": keys.refresh_outcome_sk(last)})
        response = dynamodb_client().query(**query)
        found = [_outcome(from_item(raw)) for raw in response["Items"]]
        evaluated = response.get("LastEvaluatedKey")
        return found, (encode_cursor(found[-1].engagement_id) if evaluated and found else None)

    def claim(
        self, job_id: str, day: date, connection_ids: list[str], rows: RowChange, *extra: TransactItem
    ) -> Claim:
        """R-REF-4: take the engagement's day (put if absent), queue its outcome, move one count
        from pending to queued and show it queued on the dashboard, with `extra` (its audit event),
        all or nothing."""
        firm_id, customer_id = rows.new.firm_id, rows.new.customer_id
        cap_expires = datetime.combine(day, datetime.min.time(), UTC) + CAP_KEPT
        items: list[TransactItem] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": to_item(
                        {
                            "PK": keys.refresh_cap_pk(firm_id, customer_id, day.isoformat()),
                            "SK": keys.REFRESH_CAP,
                            **keys.customer_trace(
                                firm_id,
                                customer_id,
                                keys.refresh_cap_pk(firm_id, customer_id, day.isoformat()),
                            ),
                            "type": "refresh_cap",
                            "job_id": job_id,
                            "expires_at": int(cap_expires.timestamp()),
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": to_item(
                        {
                            "PK": keys.refresh_job_pk(firm_id, job_id),
                            "SK": keys.refresh_outcome_sk(customer_id),
                            **keys.customer_trace(firm_id, customer_id, keys.refresh_job_pk(firm_id, job_id)),
                            "type": "refresh_outcome",
                            "engagement_id": customer_id,
                            "state": RefreshState.QUEUED.value,
                            "connection_ids": connection_ids,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            self._move_count(firm_id, job_id, RefreshState.PENDING, RefreshState.QUEUED),
            *row_change_writes(self.table_name, rows),
            *extra,
        ]
        try:
            write_chained(items)
        except ClientError as error:
            reasons = error.response.get("CancellationReasons") or []
            if error.response["Error"]["Code"] == "TransactionCanceledException" and reasons:
                if reasons[0].get("Code") == "ConditionalCheckFailed":
                    return Claim.CAPPED
                raise StaleEngagement() from None
            raise
        return Claim.CLAIMED

    def cap_holder(self, firm_id: str, customer_id: str, day: date) -> str | None:
        """The job that took this engagement-day, if any."""
        item = self._get(keys.refresh_cap_pk(firm_id, customer_id, day.isoformat()), keys.REFRESH_CAP)
        return item["job_id"] if item else None

    def get_outcome(self, firm_id: str, job_id: str, customer_id: str) -> EngagementOutcome | None:
        item = self._get(keys.refresh_job_pk(firm_id, job_id), keys.refresh_outcome_sk(customer_id))
        return _outcome(item) if item else None

    def exclude(
        self,
        firm_id: str,
        job_id: str,
        excluded: list[tuple[str, ExclusionReason]],
        event: ExclusionEvent,
    ) -> None:
        """Up to 90 outcome puts (each if absent), the counters and `event(those exclusions)` a
        TransactWriteItems; a chunk refused because some are already there is written again one
        exclusion (and its event) at a time, the recorded ones refused with their events."""
        for start in range(0, len(excluded), EXCLUSIONS_PER_TRANSACTION):
            chunk = excluded[start : start + EXCLUSIONS_PER_TRANSACTION]
            try:
                write_chained([*self._exclusion_items(firm_id, job_id, chunk), event(chunk)])
            except ClientError as error:
                if error.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                for one in chunk:
                    try:
                        write_chained([*self._exclusion_items(firm_id, job_id, [one]), event([one])])
                    except ClientError as again:
                        if again.response["Error"]["Code"] != "TransactionCanceledException":
                            raise

    def advance(
        self,
        firm_id: str,
        job_id: str,
        customer_id: str,
        to: RefreshState,
        *,
        expected: RefreshState,
        error: str | None = None,
        rows: RowChange | None = None,
    ) -> bool:
        """Move one engagement of the job from `expected` to `to` (its outcome, the counters and
        the dashboard `rows` if given), once: False if it had already moved."""
        outcome: TransactItem = {
            "Update": {
                "TableName": self.table_name,
                "Key": to_item(
                    {"PK": keys.refresh_job_pk(firm_id, job_id), "SK": keys.refresh_outcome_sk(customer_id)}
                ),
                "UpdateExpression": "SET #state = :to" + (", #error = :error" if error else ""),
                "ConditionExpression": "#state = :expected",
                "ExpressionAttributeNames": {"#state": "state", **({"#error": "error"} if error else {})},
                "ExpressionAttributeValues": to_item(
                    {":to": to.value, ":expected": expected.value, **({":error": error} if error else {})}
                ),
            }
        }
        items = [
            outcome,
            self._move_count(firm_id, job_id, expected, to),
            *row_change_writes(self.table_name, rows),
        ]
        try:
            write_chained(items)
        except ClientError as failure:
            reasons = failure.response.get("CancellationReasons") or []
            if failure.response["Error"]["Code"] == "TransactionCanceledException" and reasons:
                if reasons[0].get("Code") == "ConditionalCheckFailed":
                    return False
                raise StaleEngagement() from None
            raise
        return True

    def connection_finished(
        self, firm_id: str, job_id: str, customer_id: str, connection_id: str, error: str | None
    ) -> EngagementOutcome | None:
        """Note one connection's import as finished (a set: a redelivery adds nothing); the
        outcome with `finished_all` says whether every connection of the engagement is done."""
        update = "ADD finished_connections :done" + (" SET #error = :error" if error else "")
        values: dict[str, Any] = {":done": {connection_id}, **({":error": error} if error else {})}
        try:
            response = dynamodb_client().update_item(
                TableName=self.table_name,
                Key=to_item(
                    {"PK": keys.refresh_job_pk(firm_id, job_id), "SK": keys.refresh_outcome_sk(customer_id)}
                ),
                UpdateExpression=update,
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeValues=to_item(values),
                **({"ExpressionAttributeNames": {"#error": "error"}} if error else {}),
                ReturnValues="ALL_NEW",
            )
        except ClientError as failure:
            if failure.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return _outcome(from_item(response["Attributes"]))

    # helpers ---------------------------------------------------------------------------------
    def _exclusion_items(
        self, firm_id: str, job_id: str, excluded: list[tuple[str, ExclusionReason]]
    ) -> list[TransactItem]:
        puts: list[TransactItem] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": to_item(
                        {
                            "PK": keys.refresh_job_pk(firm_id, job_id),
                            "SK": keys.refresh_outcome_sk(customer_id),
                            **keys.customer_trace(firm_id, customer_id, keys.refresh_job_pk(firm_id, job_id)),
                            "type": "refresh_outcome",
                            "engagement_id": customer_id,
                            "state": RefreshState.EXCLUDED.value,
                            "reason": reason.value,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            }
            for customer_id, reason in excluded
        ]
        by_reason: dict[str, int] = {}
        for _, reason in excluded:
            by_reason[reason.value] = by_reason.get(reason.value, 0) + 1
        names = {"#pending": "pending", "#excluded": "excluded", "#by": "excluded_by_reason"}
        sets = []
        values: dict[str, Any] = {":less": -len(excluded), ":more": len(excluded), ":zero": 0}
        for n, (reason_name, count) in enumerate(sorted(by_reason.items())):
            names[f"#r{n}"] = reason_name
            values[f":r{n}"] = count
            sets.append(f"#by.#r{n} = if_not_exists(#by.#r{n}, :zero) + :r{n}")
        counters: TransactItem = {
            "Update": {
                "TableName": self.table_name,
                "Key": to_item({"PK": keys.refresh_job_pk(firm_id, job_id), "SK": keys.REFRESH_JOB}),
                "UpdateExpression": "ADD #pending :less, #excluded :more SET " + ", ".join(sets),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_item(values),
            }
        }
        return [*puts, counters]

    def _move_count(
        self, firm_id: str, job_id: str, source: RefreshState, target: RefreshState
    ) -> TransactItem:
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": to_item({"PK": keys.refresh_job_pk(firm_id, job_id), "SK": keys.REFRESH_JOB}),
                "UpdateExpression": "ADD #from :less, #to :more",
                "ExpressionAttributeNames": {"#from": source.value, "#to": target.value},
                "ExpressionAttributeValues": to_item({":less": -1, ":more": 1}),
            }
        }

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        response = dynamodb_client().get_item(
            TableName=self.table_name, Key=to_item({"PK": pk, "SK": sk}), ConsistentRead=True
        )
        return from_item(response["Item"]) if "Item" in response else None


# items ---------------------------------------------------------------------------------------
def _job(item: dict[str, Any]) -> RefreshJob:
    return RefreshJob(
        firm_id=item["firm_id"],
        job_id=item["job_id"],
        requested_by=item["requested_by"],
        requested_at=datetime.fromisoformat(item["requested_at"]),
        selection=item.get("selection", {}),
        expanding=bool(item.get("expanding")),
        counts=JobCounts(
            pending=int(item.get("pending", 0)),
            queued=int(item.get("queued", 0)),
            running=int(item.get("running", 0)),
            succeeded=int(item.get("succeeded", 0)),
            failed=int(item.get("failed", 0)),
            excluded=int(item.get("excluded", 0)),
            excluded_by_reason={k: int(v) for k, v in item.get("excluded_by_reason", {}).items()},
        ),
    )


def _outcome(item: dict[str, Any]) -> EngagementOutcome:
    return EngagementOutcome(
        engagement_id=item["engagement_id"],
        state=RefreshState(item["state"]),
        reason=ExclusionReason(item["reason"]) if item.get("reason") else None,
        error=item.get("error"),
        connection_ids=tuple(item.get("connection_ids", [])),
        finished_connections=frozenset(item.get("finished_connections", set())),
    )
