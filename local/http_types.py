"""Plain request/response values between the socket server and the local routes, so the
gateway, the console routes and the sandbox mount are tested without sockets."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


class Headers(Mapping[str, str]):
    """Case-insensitive request headers; a repeated header's values are comma-joined."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()):
        self._values: dict[str, str] = {}
        for name, value in pairs:
            key = name.lower()
            self._values[key] = f"{self._values[key]},{value}" if key in self._values else value

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str  # path and query string exactly as sent, e.g. /customers?x=1
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"

    @property
    def raw_path(self) -> str:
        return urlsplit(self.target).path

    @property
    def raw_query(self) -> str:
        return urlsplit(self.target).query


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def json_response(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> HttpResponse:
    return HttpResponse(
        status=status,
        headers=[("content-type", "application/json"), *headers],
        body=json.dumps(payload, separators=(",", ":")).encode(),
    )
