"""Request fields shared by the API functions."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field


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
