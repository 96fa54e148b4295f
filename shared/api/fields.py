"""Request fields shared by the API functions: every request model takes its emails, names and
free text through these types (the rules: shared/domain/input_rules.py, README "Conventions")."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, SecretStr

from shared.domain.customers import normalise_email
from shared.domain.input_rules import check_free_text, check_single_line_text

MAX_EMAIL_LENGTH = 254  # RFC 5321's path limit, less the angle brackets
MAX_EMAIL_LOCAL_LENGTH = 64


def _email_address(value: str) -> str:
    """A valid address, normalised (normalise_email: lower case, IDNA ASCII domain) and within the
    lengths SMTP allows. email-validator takes ~50 ms to import: loaded on the first address, not
    at every init."""
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        raise ValueError(f"value is not a valid email address: {error}") from None
    address = normalise_email(value)
    if len(address) > MAX_EMAIL_LENGTH or len(address.rpartition("@")[0]) > MAX_EMAIL_LOCAL_LENGTH:
        raise ValueError(
            f"an email address has at most {MAX_EMAIL_LENGTH} characters, "
            f"{MAX_EMAIL_LOCAL_LENGTH} before the @"
        )
    return address


EmailAddress = Annotated[
    str,
    Field(max_length=MAX_EMAIL_LENGTH, json_schema_extra={"format": "email"}),
    AfterValidator(_email_address),
]

# Names, labels and titles: one line, no control characters or bidirectional overrides.
SingleLineText = Annotated[str, AfterValidator(check_single_line_text)]
# Messages, descriptions and document texts: line breaks and tabs allowed, the rest as above.
FreeText = Annotated[str, AfterValidator(check_free_text)]


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
