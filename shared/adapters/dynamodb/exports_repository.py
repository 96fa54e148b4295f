"""Export records (access pattern 75 in keys.py): the `ExportStore` port on the data table.

An export is written with its audit event in one transaction, and finished (done or failed) with
its own in another, only while it is still queued: a second delivery of its job cannot finish it
twice. The record outlives its CSV object (a day) by a week, then TTL removes it; the audit log
keeps who exported what.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import dynamodb_client, from_item, to_item, transact_or_raise
from shared.domain.errors import Conflict
from shared.domain.exports import Export, ExportFilter, ExportKind, ExportStatus
from shared.ports.storage import TransactItem

RECORD_KEPT = timedelta(days=8)


class _Finished(Conflict):
    """The export was no longer queued."""


@dataclass
class ExportsRepository:
    table_name: str

    def create(self, export: Export, *extra: TransactItem) -> Export:
        put = {"Put": self._put(export) | {"ConditionExpression": "attribute_not_exists(PK)"}}
        transact_or_raise([put, *extra], Conflict)
        return export

    def get(self, firm_id: str, export_id: str) -> Export | None:
        response = dynamodb_client().get_item(
            TableName=self.table_name,
            Key=to_item({"PK": keys.export_pk(firm_id, export_id), "SK": keys.EXPORT}),
            ConsistentRead=True,
        )
        return _export(from_item(response["Item"])) if "Item" in response else None

    def finish(self, export: Export, *extra: TransactItem) -> bool:
        put = self._put(export) | {
            "ConditionExpression": "#status = :queued",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": to_item({":queued": ExportStatus.QUEUED.value}),
        }
        try:
            transact_or_raise([{"Put": put}, *extra], _Finished)
        except _Finished:
            return False
        return True

    def _put(self, export: Export) -> dict[str, Any]:
        item = {
            "PK": keys.export_pk(export.firm_id, export.export_id),
            "SK": keys.EXPORT,
            "type": "export",
            "firm_id": export.firm_id,
            "export_id": export.export_id,
            "kind": export.kind.value,
            "requested_by": export.requested_by,
            "created_at": export.created_at.isoformat(),
            "customer_id": export.customer_id,
            "filter": export.filter.as_details(),
            "status": export.status.value,
            "line_count": export.line_count,
            "finished_at": export.finished_at.isoformat() if export.finished_at else None,
            "error": export.error,
            "expires_at": int((export.created_at + RECORD_KEPT).timestamp()),
            # #103: a customer's exports, found by the customer (its erasure)
            "GSI1PK": keys.customer_exports_gsi1pk(export.firm_id, export.customer_id)
            if export.customer_id
            else None,
            "GSI1SK": export.export_id if export.customer_id else None,
        }
        return {"TableName": self.table_name, "Item": to_item(item)}


def _export(item: dict[str, Any]) -> Export:
    return Export(
        firm_id=item["firm_id"],
        export_id=item["export_id"],
        kind=ExportKind(item["kind"]),
        requested_by=item["requested_by"],
        created_at=datetime.fromisoformat(item["created_at"]),
        customer_id=item.get("customer_id"),
        filter=ExportFilter.of_details(item.get("filter") or {}),
        status=ExportStatus(item["status"]),
        line_count=int(item["line_count"]) if item.get("line_count") is not None else None,
        finished_at=datetime.fromisoformat(item["finished_at"]) if item.get("finished_at") else None,
        error=item.get("error"),
    )
