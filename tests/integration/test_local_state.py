"""`make run` keeps its state across a restart (local/state.py, issue 19): what was made before a clean
stop is there after the next start, the demo people still sign in (with their authenticator), the
sandbox bank still answers for the connection made before; `FRESH=1` starts afresh; a state that
cannot be restored stops the start with the reason and leaves the file alone."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from local.state import Snapshot, StateError, fingerprint, load
from tests.local_system_support import (
    ROOT,
    free_port,
    http_get,
    http_post,
    local_token,
    start_local_process,
)

pytestmark = pytest.mark.slow

CUSTOMER_EMAIL = "customer@example.com"  # the demo customer (local/demo_data.py)


def start(log_dir: Path, state_file: Path, port: int, **extra: str):  # type: ignore[no-untyped-def]
    local, _ = start_local_process(log_dir, {"LOCAL_STATE": str(state_file), "PORT": str(port), **extra})
    return local


def test_a_restart_keeps_what_was_made_and_fresh_starts_afresh(tmp_path: Path) -> None:
    state_file, port = tmp_path / "state" / "system.pickle", free_port()
    first = start(tmp_path, state_file, port)
    try:
        admin = local_token(port)
        status, invited = http_post(
            port, "/customers/invitations", {"name": "Kept Person", "email": "kept@example.org"}, admin
        )
        assert status == 201, invited
        customer = local_token(port, CUSTOMER_EMAIL)
        before = connections(port, customer)
        assert before, "the demo customer's bank is connected within the first seconds"
    finally:
        assert first.stop() == 0
    assert "state saved to" in first.output() and state_file.exists()

    second = start(tmp_path, state_file, port)
    try:
        assert "restored from" in second.output()
        admin = local_token(port)  # the pool, its users and their authenticators are back
        status, found = http_get(port, "/customers?section=invited", admin)
        assert status == 200 and "kept@example.org" in json.dumps(found)
        customer = local_token(port, CUSTOMER_EMAIL)
        assert connections(port, customer) == before
        # the sandbox bank still knows the consent given before the restart (asked synchronously)
        status, found = http_post(port, f"/connections/{before[0]}/find-new-accounts", {}, customer)
        assert status == 200, found
    finally:
        assert second.stop() == 0

    fresh = start(tmp_path, state_file, port, FRESH="1")
    try:
        assert "restored from" not in fresh.output()
        status, found = http_get(port, "/customers?section=invited", local_token(port))
        assert status == 200 and "kept@example.org" not in json.dumps(found)
    finally:
        fresh.stop()


def connections(port: int, token: str) -> list[str]:
    status, answer = http_get(port, "/me/connections", token)
    assert status == 200, answer
    return sorted(each["connection_id"] for firm in answer["firms"] for each in firm["connections"])


def test_a_state_that_cannot_be_restored_stops_the_start_and_is_kept(tmp_path: Path) -> None:
    state_file = tmp_path / "system.pickle"
    state_file.write_bytes(b"not a pickle")
    finished = subprocess.run(
        [sys.executable, "-m", "local"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PORT": str(free_port()), "LOCAL_STATE": str(state_file)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 1
    assert "cannot be read" in finished.stderr and "FRESH=1" in finished.stderr
    assert state_file.read_bytes() == b"not a pickle"


def test_only_the_same_spec_moto_and_port_restore_a_snapshot(tmp_path: Path) -> None:
    def saved(**changes: object) -> Path:
        fields = {
            "fingerprint": fingerprint(),
            "base_url": "http://127.0.0.1:3000",
            "resources": None,
            "users": (),
            "totp_secret": "",
            "clock_offset": None,
            "sandboxes": {},
            "backends": {},
            **changes,
        }
        path = tmp_path / "snapshot.pickle"
        path.write_bytes(pickle.dumps(Snapshot(**fields)))  # type: ignore[arg-type]
        return path

    assert load(tmp_path / "none.pickle", "http://127.0.0.1:3000") is None
    assert load(saved(), "http://127.0.0.1:3000") is not None
    with pytest.raises(StateError, match="another version"):
        load(saved(fingerprint="0" * 16), "http://127.0.0.1:3000")
    with pytest.raises(StateError, match="on that port again"):
        load(saved(), "http://127.0.0.1:3001")
