"""Request fields shared by the API functions."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, SecretStr


def _email_address(value: str) -> str:
    """email-validator takes ~50 ms to import: loaded on the first address, not at every init."""
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ValueError(f"value is not a valid email address: {error}") from None


EmailAddress = Annotated[
    str,
    Field(max_length=254, json_schema_extra={"format": "email"}),
    AfterValidator(_email_address),
]


# A new account's password (accepting an invitation without an account): the user pool's policy
# decides (`weak_password`). A body with it must not strip whitespace: it is taken as typed.
Password = Annotated[
    SecretStr,
    Field(
        min_length=1,
        max_length=256,
        description=(
            "The password of the new account, for signing in with the invited email. The user pool's "
            "policy applies (at least 12 characters with lower and upper case letters, digits and "
            "symbols): a password it refuses is a 400 weak_password and the link still works. Sent to "
            "the pool as typed; never stored nor logged by us."
        ),
    ),
]
