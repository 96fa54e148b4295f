"""The local HTTP server on 127.0.0.1: hands each request to the app mounted on the longest
matching path prefix (the sandbox, the local console) or to the API gateway."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol
from urllib.parse import parse_qs

from local.http_types import Headers, HttpRequest, HttpResponse, json_response

log = logging.getLogger("local.http")
# An error body's stable code (`{"code": "mfa_required", ...}`): an identifier, never the caller's data.
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")

App = Callable[[HttpRequest], HttpResponse]


class Sandbox(Protocol):
    """What the GoCardless sandbox (local/sandbox/gocardless.py) offers the server."""

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]: ...


def mounted(prefix: str, sandbox: Sandbox) -> App:
    """A sandbox mounted at `prefix`: it sees paths relative to the mount point."""

    def app(request: HttpRequest) -> HttpResponse:
        relative = request.raw_path[len(prefix) :] or "/"
        query = parse_qs(request.raw_query, keep_blank_values=True)
        status, headers, body = sandbox.handle(request.method, relative, query, request.headers, request.body)
        return HttpResponse(status, list(headers.items()), body)

    return app


def dispatcher(mounts: Mapping[str, App], default: App) -> App:
    """Route `/prefix` and `/prefix/...` to the app mounted there, everything else to `default`."""
    by_length = sorted(mounts.items(), key=lambda item: len(item[0]), reverse=True)

    def app(request: HttpRequest) -> HttpResponse:
        path = request.raw_path
        for prefix, mounted_app in by_length:
            if path == prefix or path.startswith(prefix + "/"):
                return mounted_app(request)
        return default(request)

    return app


def _starting(_: HttpRequest) -> HttpResponse:
    return json_response(503, {"message": "Service Unavailable"})


class LocalHttpServer(ThreadingHTTPServer):
    """Bound at once (so a busy port fails the start early); `app` is set once the system is up."""

    daemon_threads = True
    # socketserver's listen backlog is 5: a burst of concurrent requests overflowed it, and requests
    # with a body were reset (ConnectionResetError at 20 concurrent POSTs).
    request_queue_size = 128

    def __init__(self, host: str, port: int):
        self.app: App = _starting
        self._in_flight = 0  # requests being answered (the app running)
        self._idle = threading.Condition()
        super().__init__((host, port), _RequestHandler)

    def answer(self, request: HttpRequest) -> HttpResponse:
        with self._idle:
            self._in_flight += 1
        try:
            return self.app(request)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout_seconds: float) -> bool:
        """Whether every request being answered finished within the timeout (close the socket first)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout_seconds)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _RequestHandler(BaseHTTPRequestHandler):
    server: LocalHttpServer
    protocol_version = "HTTP/1.1"  # keep-alive; every response carries Content-Length
    # Headers and body go out in two writes: with Nagle's algorithm the body waits for the client's
    # delayed ACK of the headers (40 ms on Linux) on every keep-alive request.
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        started = time.perf_counter()
        request = HttpRequest(
            method=self.command,
            target=self.path,
            headers=Headers(self.headers.items()),
            body=self._read_body(),
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )
        try:
            response = self.server.answer(request)
        except Exception:
            log.exception("local server failed on %s", self.command)
            response = json_response(500, {"message": "Internal Server Error"})
        self._write(response)
        # Path only: a query string may carry personal data.
        path = self.path.split("?", 1)[0]
        elapsed_ms = (time.perf_counter() - started) * 1000
        code = f" {error_code(response)}".rstrip()  # a refusal's stable code: "-> 403 mfa_required"
        log.info("%s %s -> %d%s (%.0f ms)", self.command, path, response.status, code, elapsed_ms)

    def _read_body(self) -> bytes:
        if "chunked" not in self.headers.get("transfer-encoding", "").lower():
            return self.rfile.read(int(self.headers.get("content-length") or 0))
        chunks = []
        while size := int(self.rfile.readline().split(b";", 1)[0].strip(), 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()  # the CRLF after each chunk
        while self.rfile.readline().strip():  # trailers, up to the blank line
            pass
        return b"".join(chunks)

    def _write(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:
        """Silenced: `_serve` logs one line per request, without the query string."""

    # The names http.server dispatches to.
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve  # noqa: N815

    def __getattr__(self, name: str) -> Callable[[], None]:
        """Any other method (TRACE, …) reaches the gateway too, which answers 404 for a method no route
        has, as API Gateway does; http.server alone would answer 501, a server error that is not one."""
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)


def error_code(response: HttpResponse) -> str:
    """The stable code of a 4xx answer's JSON body (what the log line says beside the status), or ""."""
    if not 400 <= response.status < 500 or not response.body.startswith(b"{"):
        return ""
    try:
        code = json.loads(response.body).get("code")
    except (ValueError, AttributeError):
        return ""
    return code if isinstance(code, str) and _CODE.fullmatch(code) else ""
