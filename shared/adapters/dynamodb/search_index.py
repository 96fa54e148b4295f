"""The search index (keys.py #55-#57): a row's name and email tokens as entries in each scope that
sees it, and the page of a search read through them.

The repositories that write the rows (customers, the Data Refresh rows) add `entry_writes` to the
transaction that writes them: only the entries that change (a rename, a scope gained or lost, a
row leaving the lists), so an ordinary row update (a status, an upload) writes none. A search page
reads the entries under the query's prefix (one Query, a second if the first left the page short)
and the rows they name by key (one BatchGetItem), and keeps a row once, at its first matching token:
results come in the order of what matched (the name or the email), then the row's id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import from_item, to_item
from shared.adapters.dynamodb.cursor import decode_cursor, encode_cursor, query_page
from shared.domain.errors import InvalidRequest
from shared.domain.search import first_match, token_budget, tokens
from shared.ports.storage import TransactItem

MAX_SEARCH_QUERIES = 2  # a page with few matches left after the other filters ends short, with a cursor
Row = TypeVar("Row")
Partition = Callable[[str, str | None], str]  # (firm, scope) -> the scope's entries' partition key


@dataclass(frozen=True)
class Indexed:
    """A row as the index holds it: the scopes that see it (None: the whole firm) and its tokens."""

    scopes: tuple[str | None, ...]
    tokens: tuple[str, ...]

    @classmethod
    def of(cls, name: str, email: str, staff_ids: Sequence[str]) -> Indexed:
        scopes = (None, *staff_ids)
        return cls(scopes, tokens(name, email, token_budget(len(scopes))))

    def entries(self) -> set[tuple[str | None, str]]:
        return {(scope, token) for scope in self.scopes for token in self.tokens}


def entry_writes(
    table_name: str,
    partition: Partition,
    firm_id: str,
    customer_id: str,
    before: Indexed | None,
    after: Indexed | None,
) -> list[TransactItem]:
    """The puts and deletes that take the row's entries from `before` to `after` (None: none)."""
    old = before.entries() if before else set()
    new = after.entries() if after else set()

    def key(scope: str | None, token: str) -> dict[str, Any]:
        return to_item({"PK": partition(firm_id, scope), "SK": keys.find_entry_sk(token, customer_id)})

    puts: list[TransactItem] = [
        {
            "Put": {
                "TableName": table_name,
                "Item": {**key(scope, token), **to_item({"type": "find_entry", "customer_id": customer_id})},
            }
        }
        for scope, token in sorted(new - old, key=_order)
    ]
    deletes: list[TransactItem] = [
        {"Delete": {"TableName": table_name, "Key": key(scope, token)}}
        for scope, token in sorted(old - new, key=_order)
    ]
    return puts + deletes


def _order(entry: tuple[str | None, str]) -> tuple[str, str]:
    return entry[0] or "", entry[1]


def find_page(
    table_name: str,
    partition_key: str,
    prefix: str,
    rows_of: Callable[[list[str]], Mapping[str, Row]],
    found_by: Callable[[Row], Indexed],
    keep: Callable[[Row], bool],
    *,
    cursor: str | None,
    limit: int,
) -> tuple[list[Row], str | None]:
    """Rows whose entry in `partition_key` starts with `prefix`, in entry order, each once (at its
    first matching token: `found_by` gives a row's tokens), that `keep` admits (the other filters);
    and the cursor of the next page, if any. `rows_of` reads the rows of some customer ids by key
    (absent ones are skipped)."""
    last = decode_cursor(cursor)
    if last is not None and not last.startswith(prefix):
        raise InvalidRequest("The page cursor is not valid.", code="invalid_cursor")
    found: list[Row] = []
    for query_number in range(MAX_SEARCH_QUERIES):
        wanted = limit - len(found)
        query: dict[str, Any] = {
            "TableName": table_name,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": to_item({":pk": partition_key, ":prefix": prefix}),
            "ConsistentRead": True,  # the entries and the rows are written together: read both as written
            "Limit": wanted * (query_number + 1),  # a second read allows for rows the first one skipped
        }
        if last is not None:
            query["ExclusiveStartKey"] = to_item({"PK": partition_key, "SK": last})
        response = query_page(query)
        entries = [from_item(raw) for raw in response["Items"]]
        rows = rows_of(list(dict.fromkeys(entry["customer_id"] for entry in entries))) if entries else {}
        for number, entry in enumerate(entries, start=1):
            last = entry["SK"]
            row = rows.get(entry["customer_id"])
            token = keys.find_entry_token(entry["SK"])
            if row is not None and first_match(found_by(row).tokens, prefix) == token and keep(row):
                found.append(row)
                if len(found) == limit:
                    more = number < len(entries) or "LastEvaluatedKey" in response
                    return found, encode_cursor(last) if more else None
        if "LastEvaluatedKey" not in response:
            return found, None
    return found, encode_cursor(last) if last is not None else None
