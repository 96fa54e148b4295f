"""The audit log's hash chains (R-PRIV-4: a log nobody can alter unnoticed). Pure rules, no storage.

Each event sits at a position of one of its firm's chains (a lane) and carries `prev_hash`, the hash
of the position before it (GENESIS at position 0), and `hash`, the SHA-256 of a canonical
serialisation of its fields (CHAINED_FIELDS, `prev_hash` included). `verify_lane` walks a lane in
position order and reports where it breaks:

- `altered`: the stored fields do not hash to the stored hash (any field changed, or the hash);
- `removed`: positions missing (an event deleted from the start or the middle of the lane);
- `out_of_chain`: the event does not follow the one before it (inserted, reordered, or its
  predecessor replaced), or its position is repeated;
- `truncated`: a position an earlier verify printed (an anchor) is gone or holds another event.

What a chain cannot tell without an external anchor: the removal of a lane's newest events (the
shorter lane is a valid chain) and a rewrite of a lane from some position to its end with hashes
computed again (SHA-256 is public: anyone who can write the table can compute them). `verify` prints
each lane's tip; given earlier tips (`--anchor`), both are detected up to those tips. Appending a
well-formed forged event needs the PutItem the writers have, and is not detectable here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

FORMAT = 1  # the serialisation's version, hashed with the fields
GENESIS = "0" * 64  # the prev_hash of a lane's position 0
CHAINED_FIELDS = (
    "firm_id",
    "lane",
    "position",
    "event_id",
    "actor_id",
    "action",
    "target_type",
    "target_id",
    "customer_id",
    "occurred_at",
    "details",
    "prev_hash",
)


def _plain(value: Any) -> Any:
    """A stored value in a form JSON serialises one way: numbers (int as written, Decimal as read
    back) as {"n": canonical digits}, so 3 and Decimal("3.0") hash alike and "3" does not."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | Decimal):
        number = Decimal(value)
        digits = str(int(number)) if number == number.to_integral_value() else format(number.normalize(), "f")
        return {"n": digits}
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((_plain(item) for item in value), key=repr)
    raise TypeError(f"an audit field cannot hold {type(value).__name__}")


def canonical(fields: Mapping[str, Any]) -> bytes:
    """The bytes an event's hash is computed over: its CHAINED_FIELDS (absent ones as null) and the
    format, as JSON with sorted keys and no spaces."""
    chained = {name: _plain(fields.get(name)) for name in CHAINED_FIELDS}
    document = {"format": FORMAT, **chained}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link_hash(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(fields)).hexdigest()


@dataclass(frozen=True)
class Break:
    lane: int
    position: int | None  # where the chain breaks (None: the lane as a whole)
    kind: str  # altered, removed, out_of_chain, truncated, misplaced (its keys), unchained
    detail: str

    def __str__(self) -> str:
        where = f"lane {self.lane}" + (f" position {self.position}" if self.position is not None else "")
        return f"{where}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class Anchor:
    """A lane's tip as an earlier verify printed it (`<lane>:<position>:<hash>`)."""

    lane: int
    position: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> Anchor:
        lane, position, digest = text.split(":")
        if len(digest) != len(GENESIS):
            raise ValueError(text)
        return cls(int(lane), int(position), digest)

    def __str__(self) -> str:
        return f"{self.lane}:{self.position}:{self.hash}"


def verify_lane(lane: int, links: Sequence[Mapping[str, Any]], anchor: Anchor | None = None) -> list[Break]:
    """The breaks of one lane, whose stored events `links` are in position order (each with its
    CHAINED_FIELDS and `hash`)."""
    breaks: list[Break] = []
    expected, previous = 0, GENESIS
    for link in links:
        position = int(link.get("position", -1))
        if link_hash(link) != link.get("hash"):
            breaks.append(Break(lane, position, "altered", "its fields do not hash to its stored hash"))
        if position > expected:
            missing = f"{expected}" if position == expected + 1 else f"{expected}-{position - 1}"
            breaks.append(Break(lane, position, "removed", f"position(s) {missing} missing before it"))
        elif position < expected or link.get("prev_hash") != previous:
            breaks.append(Break(lane, position, "out_of_chain", "it does not follow the event before it"))
        expected, previous = max(expected, position + 1), str(link.get("hash"))
    if anchor is not None and not any(
        int(link.get("position", -1)) == anchor.position and link.get("hash") == anchor.hash for link in links
    ):
        breaks.append(
            Break(lane, anchor.position, "truncated", "the anchored tip is gone or holds another event")
        )
    return breaks
