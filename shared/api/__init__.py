"""HTTP conventions shared by every API function: resolver, error body, caller, idempotency."""
