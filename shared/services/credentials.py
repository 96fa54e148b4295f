"""A connection's credential as the provider takes it, opened right before the provider call.

Sealing is the repository's (it seals a clear credential when it saves the connection), so a use
case sees a `SealedCredential` and opens it here only where it calls the provider: listing or
showing connections never opens one. A clear credential (the provider's fresh answer, or an item
written before sealing, which its next save seals) is used as it is.
"""

from __future__ import annotations

from shared.domain.connections import Connection, SealedCredential
from shared.domain.errors import Conflict
from shared.ports.credentials import CredentialVault


def provider_credential(vault: CredentialVault, connection: Connection) -> str:
    """The clear credential of `connection` (a 409 `no_consent` when it has none)."""
    credential = connection.credential
    if credential is None:
        raise Conflict("This connection has no consent yet.", code="no_consent")
    if isinstance(credential, SealedCredential):
        return vault.open(credential, firm_id=connection.firm_id, connection_id=connection.connection_id)
    return credential
