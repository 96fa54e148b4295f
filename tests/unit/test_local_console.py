"""The /_local/ routes and the path-prefix dispatch of the local server."""

from __future__ import annotations

import json
import threading

from infra.spec import ScheduleSpec
from local.console import LocalConsole
from local.http_types import Headers, HttpRequest, HttpResponse, json_response
from local.outbox import Email
from local.scheduler import Scheduler
from local.server import dispatcher, mounted

SCHEDULE = ScheduleSpec("cron(0 9 * * ? *)", "Europe/London", "reminders_job", {"job": "x"}, "test")


def console(invoke=lambda name, event: {"ran": name}):
    scheduler = Scheduler(
        {"reminders": SCHEDULE},
        invoke=invoke,
        sqs=None,
        dead_letter_queue_url="",
        stop=threading.Event(),
    )
    emails = [Email("m-1", "no-reply@example.com", ["a@example.com"], "Hi", "Go http://x/1", ["http://x/1"])]
    return LocalConsole(
        scheduler=scheduler, emails=lambda: emails, jwks={"keys": [{"kid": "k"}]}, user_pool=USER_POOL
    )


USER_POOL = {"aws_endpoint_url": "http://127.0.0.1:5000", "user_pool_id": "eu-west-2_x", "client_id": "c"}


def call(handle, method, target):
    response = handle(HttpRequest(method, target))
    return response.status, json.loads(response.body)


def test_the_outbox_lists_emails_with_their_links():
    status, body = call(console().handle, "GET", "/_local/outbox")
    assert status == 200
    assert body == {
        "emails": [
            {
                "message_id": "m-1",
                "from": "no-reply@example.com",
                "to": ["a@example.com"],
                "subject": "Hi",
                "body": "Go http://x/1",
                "links": ["http://x/1"],
            }
        ]
    }


def test_the_schedules_are_listed_with_their_next_fire_time():
    status, body = call(console().handle, "GET", "/_local/schedules")
    (schedule,) = body["schedules"]
    assert status == 200 and schedule["name"] == "reminders" and schedule["next_fire_time"]


def test_a_schedule_runs_now_and_returns_the_handler_result():
    assert call(console().handle, "POST", "/_local/schedules/reminders/run") == (
        200,
        {"schedule": "reminders", "result": {"ran": "reminders_job"}},
    )


def test_running_an_unknown_schedule_is_404():
    assert call(console().handle, "POST", "/_local/schedules/nope/run")[0] == 404


def test_a_failing_schedule_run_is_a_500_with_the_error():
    def invoke(name, event):
        raise RuntimeError("boom")

    status, body = call(console(invoke).handle, "POST", "/_local/schedules/reminders/run")
    assert status == 500 and body["error"] == {"type": "RuntimeError", "message": "boom"}


def test_the_jwks_is_served():
    assert call(console().handle, "GET", "/_local/.well-known/jwks.json") == (200, {"keys": [{"kid": "k"}]})


def test_where_the_user_pool_is_is_served():
    assert call(console().handle, "GET", "/_local/user-pool") == (200, USER_POOL)


def test_unknown_local_paths_are_404():
    assert call(console().handle, "GET", "/_local/nope")[0] == 404
    assert call(console().handle, "GET", "/_local/schedules/reminders/run")[0] == 404


class RecordingSandbox:
    def __init__(self):
        self.calls = []

    def handle(self, method, path, query, headers, body):
        self.calls.append((method, path, query, headers.get("authorization"), body))
        return 201, {"Content-Type": "application/json"}, b"{}"


def test_requests_go_to_the_app_mounted_on_their_path_prefix():
    def tagged(tag):
        return lambda request: json_response(200, {"app": tag})

    app = dispatcher({"/_local": tagged("console"), "/sandbox/gocardless": tagged("sandbox")}, tagged("api"))
    assert call(app, "GET", "/_local/outbox")[1] == {"app": "console"}
    assert call(app, "GET", "/sandbox/gocardless")[1] == {"app": "sandbox"}
    assert call(app, "GET", "/sandbox/gocardlessx")[1] == {"app": "api"}
    assert call(app, "GET", "/me")[1] == {"app": "api"}


def test_the_sandbox_sees_paths_relative_to_its_mount_point():
    sandbox = RecordingSandbox()
    app = mounted("/sandbox/gocardless", sandbox)
    request = HttpRequest(
        "POST",
        "/sandbox/gocardless/api/v2/token/new/?a=1&a=2&b=",
        Headers([("Authorization", "Bearer t")]),
        b'{"x":1}',
    )
    response: HttpResponse = app(request)
    assert response.status == 201 and response.headers == [("Content-Type", "application/json")]
    assert sandbox.calls == [
        ("POST", "/api/v2/token/new/", {"a": ["1", "2"], "b": [""]}, "Bearer t", b'{"x":1}')
    ]
