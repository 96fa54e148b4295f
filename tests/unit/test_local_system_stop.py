"""`LocalSystem.stop()` (local/system.py): the server loop runs in its own thread and ends before the
workers are joined, so a worker's request to the server is refused at once rather than left
unanswered; a system stopped before it served stops too (a failed start)."""

from __future__ import annotations

import http.client
import threading

from local.server import LocalHttpServer
from local.system import LocalSystem


class _StoppedAws:
    stopped = False

    def stop(self) -> None:
        self.stopped = True


class _AskingWorker:
    """A worker that asks the server something once the stop has begun (as the demo connection did)."""

    def __init__(self, port: int, stop: threading.Event) -> None:
        self.port, self.stop = port, stop
        self.outcome = ""
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        self.stop.wait(10)
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            connection.request("GET", "/health")
            self.outcome = str(connection.getresponse().status)
        except OSError as error:
            self.outcome = type(error).__name__

    def join(self) -> None:
        self._thread.join()


def system() -> LocalSystem:
    return LocalSystem(_StoppedAws(), LocalHttpServer("127.0.0.1", 0))  # type: ignore[arg-type]


def test_a_system_stopped_before_it_served_stops() -> None:
    stopped = system()
    done = threading.Thread(target=stopped.stop, daemon=True)
    done.start()
    done.join(timeout=5)
    assert not done.is_alive() and stopped.fake_aws.stopped  # type: ignore[attr-defined]


def test_a_workers_request_during_the_stop_is_refused_at_once() -> None:
    serving = system()
    worker = _AskingWorker(serving.server.port, serving.stop_signal)
    serving.workers = [worker]  # type: ignore[list-item]
    worker.start()
    loop = threading.Thread(target=serving.serve_forever, daemon=True)
    loop.start()
    for _ in range(100):  # bounded: the loop's thread is up within a few milliseconds
        if serving.serving is not None:
            break
        threading.Event().wait(0.01)
    done = threading.Thread(target=serving.stop, daemon=True)
    done.start()
    done.join(timeout=8)
    assert not done.is_alive(), "the stop waited for the worker's unanswered request"
    assert worker.outcome in ("ConnectionRefusedError", "ConnectionResetError"), worker.outcome
