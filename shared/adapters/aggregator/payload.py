"""Reading provider JSON without crashing: every missing or mistyped field is one clear
`MalformedAggregatorResponse` naming the field (never the value: it may be personal data)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.domain.aggregator import MalformedAggregatorResponse


class Payload:
    """A JSON object from `provider`, read field by field; `where` locates it in errors."""

    def __init__(self, data: Any, provider: str, where: str) -> None:
        if not isinstance(data, dict):
            raise malformed(provider, f"{where} is not a JSON object")
        self._data = data
        self.provider = provider
        self.where = where

    def _fail(self, key: str, expected: str) -> MalformedAggregatorResponse:
        return malformed(self.provider, f"{self.where}.{key} is missing or not {expected}")

    def has(self, key: str) -> bool:
        return self._data.get(key) is not None

    def text(self, key: str) -> str:
        value = self._data.get(key)
        if not isinstance(value, str) or not value:
            raise self._fail(key, "a string")
        return value

    def identifier(self, key: str) -> str:
        """An id we key on or send back: trimmed; empty or whitespace is missing."""
        value = self.opt_identifier(key)
        if value is None:
            raise self._fail(key, "an id")
        return value

    def opt_identifier(self, key: str) -> str | None:
        """An optional id: trimmed, and None when empty or whitespace (a blank id is no id:
        two lines stored under " " would overwrite each other)."""
        value = self._data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._fail(key, "an id")
        return value.strip() or None

    def identifiers(self, key: str) -> list[str]:
        """A list of ids, blanks left out."""
        return [value.strip() for value in self.strings(key) if value.strip()]

    def string(self, key: str) -> str:
        """A string that may be empty (Plaid's `next_cursor` is "" until data is ready)."""
        value = self._data.get(key)
        if not isinstance(value, str):
            raise self._fail(key, "a string")
        return value

    def scalar(self, key: str) -> str | None:
        """A string, number or boolean as text (fingerprint fields); None for anything else."""
        value = self._data.get(key)
        if isinstance(value, str | int | Decimal) and value != "":
            return str(value)
        return None

    def opt_text(self, key: str) -> str | None:
        value = self._data.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self._fail(key, "a string")
        return value

    def opt_int(self, key: str) -> int | None:
        """An integer, also when the provider sends it as a string ("540")."""
        value = self._data.get(key)
        if value is None or value == "":
            return None
        try:
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        except (TypeError, ValueError):
            raise self._fail(key, "an integer") from None

    def flag(self, key: str) -> bool:
        value = self._data.get(key)
        if not isinstance(value, bool):
            raise self._fail(key, "a boolean")
        return value

    def decimal(self, key: str) -> Decimal:
        value = self.opt_decimal(key)
        if value is None:
            raise self._fail(key, "a number")
        return value

    def opt_decimal(self, key: str) -> Decimal | None:
        """An exact Decimal from a JSON string ("-5.50") or number (parsed as Decimal)."""
        value = self._data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raise self._fail(key, "a number")
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise self._fail(key, "a number") from None
        if not number.is_finite():
            raise self._fail(key, "a number")
        return number

    def opt_date(self, key: str) -> date | None:
        """An ISO date, or the date part of an ISO date-time."""
        value = self.opt_text(key)
        if value is None:
            return None
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            raise self._fail(key, "an ISO date") from None

    def opt_datetime(self, key: str) -> datetime | None:
        value = self.opt_text(key)
        if value is None:
            return None
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise self._fail(key, "an ISO date-time") from None

    def obj(self, key: str) -> Payload:
        return Payload(self._data.get(key), self.provider, f"{self.where}.{key}")

    def opt_obj(self, key: str) -> Payload | None:
        return self.obj(key) if self.has(key) else None

    def array(self, key: str) -> list[Any]:
        value = self._data.get(key)
        if not isinstance(value, list):
            raise self._fail(key, "a list")
        return value

    def opt_array(self, key: str) -> list[Any]:
        return self.array(key) if self.has(key) else []

    def objects(self, key: str) -> list[Payload]:
        return [
            Payload(item, self.provider, f"{self.where}.{key}[{i}]") for i, item in enumerate(self.array(key))
        ]

    def opt_objects(self, key: str) -> list[Payload]:
        return self.objects(key) if self.has(key) else []

    def strings(self, key: str) -> list[str]:
        values = self.opt_array(key)
        if not all(isinstance(value, str) for value in values):
            raise self._fail(key, "a list of strings")
        return values


def malformed(provider: str, what: str) -> MalformedAggregatorResponse:
    return MalformedAggregatorResponse(
        f"The bank data provider sent a response we could not read: {what}.", provider=provider
    )
