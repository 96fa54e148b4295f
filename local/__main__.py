"""`python -m local`: the whole system on 127.0.0.1, in the foreground, until Ctrl-C.

PORT (default 3000) is the API's port; MOTO_PORT (default: any free port) moto's; CLOCK_AT
(an ISO 8601 instant) starts the business clock there instead of at the system's time;
GOCARDLESS_BASE_URL and PLAID_BASE_URL (default: the built-in sandboxes) point the functions at
another aggregator host. LOCAL_STATE (a file; `make run` sets .local/state/system.pickle) keeps the
state across restarts: restored at the start, saved at a clean stop (local/state.py); FRESH=1 deletes
it first. Without LOCAL_STATE (the tests, the soak) everything lives and dies with the process.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from pathlib import Path

from local.clock import ClockError, pin_from_environment
from local.environment import LocalSettingError
from local.state import StateError
from local.system import start_local_system


def main() -> int:
    started = time.perf_counter()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("local").setLevel(logging.INFO)
    # Ctrl-C, and SIGTERM from a process manager or a test's cleanup, stop everything cleanly;
    # SIGINT explicitly too, as a shell starts background jobs with SIGINT ignored.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, signal.default_int_handler)
    port = int(os.environ.get("PORT", "3000"))
    try:
        pin_from_environment(dict(os.environ))
    except ClockError as error:
        print(error, file=sys.stderr)
        return 1
    state_file = Path(os.environ["LOCAL_STATE"]) if os.environ.get("LOCAL_STATE") else None
    if state_file is not None and os.environ.get("FRESH") == "1":
        state_file.unlink(missing_ok=True)
    try:
        system = start_local_system(
            port, int(os.environ.get("MOTO_PORT", "0")), outer=os.environ, state_file=state_file
        )
    except LocalSettingError as error:
        print(error, file=sys.stderr)
        return 1
    except StateError as error:
        print(f"{error} Or start afresh (the saved state is deleted): make run FRESH=1", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"Cannot start the local system on port {port}: {error.strerror}. Set PORT.", file=sys.stderr)
        return 1
    print(system.banner(), flush=True)
    print(f"Started in {time.perf_counter() - started:.1f} s", flush=True)
    try:
        system.serve_forever()
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
    finally:
        system.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
