"""HTTP API route selection over `infra.spec.ROUTES`.

As API Gateway does: literal segments beat path variables, which beat a greedy `{name+}`
(leftmost difference decides); a route with the request's method beats `ANY`; no match is
a 404.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from urllib.parse import unquote

from infra.spec import Route


class SegmentKind(IntEnum):  # ordered from most to least specific
    LITERAL = 0
    VARIABLE = 1
    GREEDY = 2


@dataclass(frozen=True)
class Segment:
    kind: SegmentKind
    text: str  # the literal, or the variable's name

    @classmethod
    def parse(cls, raw: str) -> Segment:
        if raw.startswith("{") and raw.endswith("+}"):
            return cls(SegmentKind.GREEDY, raw[1:-2])
        if raw.startswith("{") and raw.endswith("}"):
            return cls(SegmentKind.VARIABLE, raw[1:-1])
        return cls(SegmentKind.LITERAL, raw)


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    path_parameters: dict[str, str]

    @property
    def route_key(self) -> str:
        return f"{self.route.method} {self.route.path}"


@dataclass(frozen=True)
class _CompiledRoute:
    route: Route
    segments: tuple[Segment, ...]

    def specificity(self) -> tuple[tuple[int, ...], bool]:
        return tuple(segment.kind for segment in self.segments), self.route.method == "ANY"

    def match(self, method: str, path_segments: list[str]) -> dict[str, str] | None:
        if self.route.method not in (method, "ANY"):
            return None
        parameters: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.kind is SegmentKind.GREEDY:
                rest = path_segments[index:]
                if not any(rest):
                    return None
                parameters[segment.text] = unquote("/".join(rest))
                return parameters
            if index >= len(path_segments):
                return None
            value = path_segments[index]
            if segment.kind is SegmentKind.LITERAL:
                if value != segment.text:
                    return None
            elif not value:
                return None
            else:
                parameters[segment.text] = unquote(value)
        return parameters if len(path_segments) == len(self.segments) else None


class RouteTable:
    def __init__(self, routes: Iterable[Route]):
        compiled = [
            _CompiledRoute(route, tuple(Segment.parse(raw) for raw in _path_segments(route.path)))
            for route in routes
        ]
        for route in compiled:
            if any(segment.kind is SegmentKind.GREEDY for segment in route.segments[:-1]):
                raise ValueError(f"greedy path variable must be last: {route.route.path}")
        # Most specific first: the first match is the one API Gateway selects.
        self._routes = sorted(compiled, key=_CompiledRoute.specificity)

    def match(self, method: str, raw_path: str) -> RouteMatch | None:
        path_segments = _path_segments(raw_path)
        for route in self._routes:
            parameters = route.match(method.upper(), path_segments)
            if parameters is not None:
                return RouteMatch(route.route, parameters)
        return None


def _path_segments(path: str) -> list[str]:
    return path.split("/")[1:]
