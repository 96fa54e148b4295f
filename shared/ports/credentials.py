"""Port: the credential vault, which seals a provider credential for one connection and opens it.

The connections repository seals a clear credential when it saves the connection; use cases open
it only right before a provider call (`services.credentials.provider_credential`), never to list
or show a connection. `shared/adapters/kms_vault.py` implements it with KMS; tests fake it.
"""

from __future__ import annotations

from typing import Protocol

from shared.domain.connections import SealedCredential


class CredentialVault(Protocol):
    def seal(self, clear: str, *, firm_id: str, connection_id: str) -> SealedCredential:
        """`clear` sealed so that it opens only with the same firm and connection."""
        ...

    def open(self, sealed: SealedCredential, *, firm_id: str, connection_id: str) -> str:
        """The clear credential; `CredentialUnreadable` when it was not sealed for this firm and
        connection (or was altered), `UpstreamUnavailable` when the vault cannot answer."""
        ...
