"""The local system's state across restarts (`make run` keeps it; `make run FRESH=1` starts afresh).

Everything the local system holds lives in its one process: moto's backends (the tables, queues,
user pool, keys, secrets, buckets, sent emails), the aggregator sandboxes' banks and consents, the
pool's demo sign-in details, the business clock's offset. At a clean stop (Ctrl-C, SIGTERM) they are
written to one file with pickle, after the server, the pumps and the scheduler have stopped and under
the DynamoDB request lock, so the snapshot is consistent; the next start with the same file restores
them instead of provisioning and seeding. A crash or `kill -9` saves nothing: the previous snapshot
(if any) stays as it was.

moto offers no persistence of its own; its objects pickle except for their locks and the private keys
of the pool and of KMS, which are rebuilt here (a fresh lock; the key from its PEM). The file is only
restored by the same spec, the same moto and the same API port (the app client's sign-in URLs and the
seeded links name it); otherwise the start says why and how to proceed, and nothing is overwritten.
The file is the local system's own, under .local/ (git-ignored), read only from a path it was told.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle  # nosec B403 # the local system's own file, written by it, under .local/
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import moto
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from moto.backends import get_backend

from local import moto_patches
from local.demo_data import DemoUser
from local.provision import Resources

ROOT = Path(__file__).resolve().parent.parent
FORMAT = 1
# moto's services the local system uses (local/provision.py creates their resources)
SERVICES = ("dynamodb", "sqs", "cognitoidp", "kms", "s3", "ses", "sesv2", "secretsmanager")
# what the saved objects' shapes come from: a change to any makes an older file unrestorable
SPEC_FILES = (
    "infra/spec.py",
    "infra/spec_user_pool.py",
    "local/provision.py",
    "local/demo_data.py",
    "local/state.py",
    "local/moto_patches.py",
    "local/sandbox/gocardless.py",
    "local/sandbox/plaid.py",
)


class StateError(Exception):
    """A saved state that cannot be restored (the message says why and what to do)."""


@dataclass(frozen=True)
class Snapshot:
    fingerprint: str
    base_url: str
    resources: Resources
    users: tuple[DemoUser, ...]
    totp_secret: str
    clock_offset: timedelta
    sandboxes: dict[str, Any]  # mount -> the sandbox's state object
    backends: dict[str, Any]  # moto service -> its BackendDict


def fingerprint() -> str:
    """What a snapshot is only valid for: this format, this moto, this spec and provisioning."""
    digest = hashlib.sha256(f"{FORMAT}:{moto.__version__}".encode())
    for name in SPEC_FILES:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()[:16]


def capture(
    *,
    base_url: str,
    resources: Resources,
    users: tuple[DemoUser, ...],
    totp_secret: str,
    clock_offset: timedelta,
    sandboxes: dict[str, Any],
) -> Snapshot:
    """The state to save: references only (`save` pickles it under the DynamoDB request lock)."""
    return Snapshot(
        fingerprint=fingerprint(),
        base_url=base_url,
        resources=resources,
        users=users,
        totp_secret=totp_secret,
        clock_offset=clock_offset,
        sandboxes=sandboxes,
        backends={service: get_backend(service) for service in SERVICES},  # type: ignore[call-overload]
    )


def save(snapshot: Snapshot, path: Path) -> int:
    """Write the snapshot (to a temporary file, then renamed over the old one); its size in bytes."""
    buffer = io.BytesIO()
    with moto_patches.REQUEST_LOCK:
        _Pickler(buffer).dump(snapshot)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_bytes(buffer.getvalue())
    os.replace(partial, path)
    return buffer.tell()


def load(path: Path, base_url: str) -> Snapshot | None:
    """The snapshot at `path`, None when there is none; StateError when it cannot be restored here."""
    if not path.exists():
        return None
    try:
        snapshot = pickle.loads(path.read_bytes())  # noqa: S301  # nosec B301 # our own file, see above
    except Exception as error:
        raise StateError(f"The saved state in {path} cannot be read ({type(error).__name__}).") from error
    if not isinstance(snapshot, Snapshot) or snapshot.fingerprint != fingerprint():
        raise StateError(
            f"The saved state in {path} was made by another version of the spec or of moto:"
            " it cannot be restored."
        )
    if snapshot.base_url != base_url:
        raise StateError(
            f"The saved state in {path} belongs to the system at {snapshot.base_url}"
            " (its sign-in and invitation links name it): start it on that port again."
        )
    return snapshot


def restore_backends(snapshot: Snapshot) -> None:
    """Put the saved moto backends in place of the empty ones (before any request is served)."""
    for service, saved in snapshot.backends.items():
        live = get_backend(service)  # type: ignore[call-overload]
        live.clear()
        live.update(saved)


def _private_key(pem: bytes) -> Any:
    return serialization.load_pem_private_key(pem, password=None)


class _Pickler(pickle.Pickler):
    """Pickle, with what it cannot pickle rebuilt on load: locks (fresh, unlocked: nothing holds them
    once everything has stopped), conditions, and private keys (from their PEM)."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _LOCK):
            return threading.Lock, ()
        if isinstance(obj, _RLOCK):
            return threading.RLock, ()
        if isinstance(obj, threading.Condition):
            return threading.Condition, ()
        if isinstance(obj, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            pem = obj.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            return _private_key, (pem,)
        return NotImplemented


_LOCK, _RLOCK = type(threading.Lock()), type(threading.RLock())
