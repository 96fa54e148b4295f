"""The web console (issue 18) on the local system, at `/app/`: the files `make web` builds into
web/dist, with the single-page app's fallback (a path that is not a file answers index.html, so an
emailed link or the bank's redirect opens its screen) and the runtime configuration at
`/app/config.json` (on AWS the CDK writes the same keys at deploy).

The same response headers as the CloudFront distribution: a Content-Security-Policy without inline
scripts, no framing, no sniffing. Only files under web/dist are served (no path leaves it)."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote

from infra.web_console import content_security_policy
from local.environment import APP_PAGES_PREFIX
from local.http_types import HttpRequest, HttpResponse, json_response

PREFIX = APP_PAGES_PREFIX
DIST = Path(__file__).resolve().parent.parent / "web" / "dist"
CONFIG = f"{PREFIX}/config.json"
# The distribution's headers (infra/constructs/web.py): the API and the hosted pages' stand-in are on
# this same origin locally, so the policy names no other.
SECURITY_HEADERS = [
    ("content-security-policy", content_security_policy()),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
]
_IMMUTABLE = "public, max-age=31536000, immutable"  # hashed file names under assets/
_NO_CACHE = "no-cache"


class WebApp:
    def __init__(self, config: Callable[[], dict[str, Any]], dist: Path = DIST):
        self._config = config
        self._dist = dist

    def handle(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return _text(405, "Method not allowed")
        if request.raw_path == CONFIG:
            response = json_response(200, self._config())
            return _with(response, _NO_CACHE)
        index = self._dist / "index.html"
        if not index.is_file():
            return _text(503, "The web console is not built: run `make web` (`make run` builds it).")
        relative = request.raw_path.removeprefix(PREFIX).lstrip("/")
        found = self._file(relative)
        if found is not None:
            cache = _IMMUTABLE if relative.startswith("assets/") else _NO_CACHE
            return _with(_file_response(found, request.method), cache)
        if "." in PurePosixPath(relative).name:  # a missing file, not a screen
            return _text(404, "Not found")
        return _with(_file_response(index, request.method), _NO_CACHE)

    def _file(self, relative: str) -> Path | None:
        if not relative:
            return None
        candidate = (self._dist / unquote(relative)).resolve()
        if not candidate.is_relative_to(self._dist.resolve()) or not candidate.is_file():
            return None
        return candidate


def _file_response(path: Path, method: str) -> HttpResponse:
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
        kind += "; charset=utf-8"
    body = path.read_bytes()
    headers = [("content-type", kind), ("content-length", str(len(body)))]
    return HttpResponse(200, headers, b"" if method == "HEAD" else body)


def _with(response: HttpResponse, cache: str) -> HttpResponse:
    return HttpResponse(
        response.status, [*response.headers, *SECURITY_HEADERS, ("cache-control", cache)], response.body
    )


def _text(status: int, message: str) -> HttpResponse:
    return HttpResponse(
        status, [("content-type", "text/plain; charset=utf-8"), *SECURITY_HEADERS], message.encode()
    )
