"""The credential vault on AWS KMS: each provider credential is encrypted under the customer-managed
key `infra/spec.py` KEYS["credentials"] with the encryption context {firm_id, connection_id}.

Direct `Encrypt`/`Decrypt` rather than envelope encryption (a data key, or the AWS Encryption SDK):
a credential is under 200 bytes (KMS takes up to 4 KB), it is sealed once per consent and opened
once per provider call, so a data key would save no call and add a dependency and a second secret
to manage; the ciphertext names its key, and KMS checks the context, so a ciphertext copied into
another connection's item does not open there. The KMS client is built on first use (cold start:
handlers that never touch a credential never load it).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters.aws_clients import aws_client
from shared.domain.connections import CREDENTIAL_SCHEME, CredentialUnreadable, SealedCredential
from shared.domain.errors import UpstreamUnavailable
from shared.observability import logger

# KMS's answers for a ciphertext that is not one of this key's for this context.
_UNREADABLE = frozenset({"InvalidCiphertextException", "IncorrectKeyException"})


@dataclass(frozen=True)
class KmsCredentialVault:
    key_id: str  # the key's ARN (deployed) or alias (local): Encrypt names it, Decrypt checks it

    def seal(self, clear: str, *, firm_id: str, connection_id: str) -> SealedCredential:
        with _kms_errors("Encrypt"):
            response = aws_client("kms").encrypt(
                KeyId=self.key_id,
                Plaintext=clear.encode(),
                EncryptionContext=encryption_context(firm_id, connection_id),
            )
        return SealedCredential(CREDENTIAL_SCHEME, base64.b64encode(response["CiphertextBlob"]).decode())

    def open(self, sealed: SealedCredential, *, firm_id: str, connection_id: str) -> str:
        if sealed.scheme != CREDENTIAL_SCHEME:
            raise CredentialUnreadable()
        try:
            blob = base64.b64decode(sealed.ciphertext, validate=True)
        except (binascii.Error, ValueError):
            raise CredentialUnreadable() from None
        with _kms_errors("Decrypt"):
            response = aws_client("kms").decrypt(
                KeyId=self.key_id,
                CiphertextBlob=blob,
                EncryptionContext=encryption_context(firm_id, connection_id),
            )
        return bytes(response["Plaintext"]).decode()


@contextmanager
def _kms_errors(operation: str) -> Iterator[None]:
    """KMS's refusals of a ciphertext as `CredentialUnreadable`; anything else (throttling, a
    missing grant, the network) as the 503 of an unavailable dependency, logged by its code only."""
    try:
        yield
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in _UNREADABLE:
            raise CredentialUnreadable() from None
        logger.error("credential vault call failed", extra={"operation": operation, "error_code": code})
        raise UpstreamUnavailable("The key service is unavailable; try again later.") from None
    except BotoCoreError as error:
        logger.error(
            "credential vault call failed", extra={"operation": operation, "error": type(error).__name__}
        )
        raise UpstreamUnavailable("The key service is unavailable; try again later.") from None


def encryption_context(firm_id: str, connection_id: str) -> dict[str, str]:
    """What a credential is sealed for: its firm and its connection (KMS binds the ciphertext to it;
    also in CloudTrail's record of each call, which then names the connection, never the token)."""
    return {"firm_id": firm_id, "connection_id": connection_id}
