"""What a caller may send, whatever the route (issue 17 item 8).

- **Bodies**: a JSON request body is at most `MAX_BODY_BYTES` (1 MiB of UTF-8) and nests arrays
  and objects at most `MAX_BODY_DEPTH` (32) deep. The depth is measured on the text before it is
  parsed (Python's JSON parser recurses: a body 1,000 deep would otherwise be a RecursionError).
  Beyond either limit the answer is a 400 `body_too_large` or `body_too_deep`, with nothing logged
  but the refusal. Every API function parses its bodies with `parse_json_body` (shared/api/app.py),
  and so does the Plaid webhook reader before it trusts a body.
- **Human text** (names, labels, messages, free text): no ASCII or C1 control character (U+0000-U+001F,
  U+007F-U+009F) and no Unicode bidirectional override or isolate (U+202A-U+202E, U+2066-U+2069),
  which can make a name read as something else in an email, a list or a log. Free text (messages,
  descriptions, document contents) may hold line breaks and tabs (LF, CR, TAB); single-line text
  may not.
- **Emails** are normalised once, by `shared.domain.customers.normalise_email`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from shared.domain.errors import InvalidRequest

MAX_BODY_BYTES = 1024 * 1024  # a 10,000-engagement Data Refresh trigger is ~450 kB
MAX_BODY_DEPTH = 32  # our deepest body (a trigger's filters) is 2

# A JSON string (escapes included), or one bracket outside strings.
_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_OPENING = frozenset("[{")
_CLOSING = frozenset("]}")

# C0 and C1 controls, DEL, and the bidirectional embeddings, overrides and isolates.
_SINGLE_LINE_REFUSED = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_FREE_TEXT_REFUSED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class BodyTooLarge(InvalidRequest):
    code = "body_too_large"
    default_message = f"The request body is larger than {MAX_BODY_BYTES} bytes."


class BodyTooDeep(InvalidRequest):
    code = "body_too_deep"
    default_message = f"The request body nests arrays and objects more than {MAX_BODY_DEPTH} deep."


def body_depth(text: str, stop_after: int = MAX_BODY_DEPTH) -> int:
    """How deep `text` nests arrays and objects, without parsing it (and without recursion); the
    count stops once it passes `stop_after`. Brackets inside strings do not count."""
    depth = deepest = 0
    for match in _STRUCTURE.finditer(text):
        token = match.group()
        if token in _OPENING:
            depth += 1
            deepest = max(deepest, depth)
            if deepest > stop_after:
                break
        elif token in _CLOSING:
            depth -= 1
    return deepest


def parse_json_body(body: str | bytes | bytearray) -> Any:
    """A request body parsed as JSON within the limits above: `BodyTooLarge`, `BodyTooDeep`, or
    `json.JSONDecodeError` (a ValueError) for text that is not JSON."""
    size = len(body) if isinstance(body, bytes | bytearray) else len(body.encode("utf-8", "surrogatepass"))
    if size > MAX_BODY_BYTES:
        raise BodyTooLarge()
    text = body.decode("utf-8") if isinstance(body, bytes | bytearray) else body
    if body_depth(text) > MAX_BODY_DEPTH:
        raise BodyTooDeep()
    return json.loads(text)


def check_single_line_text(value: str) -> str:
    """A name or label: no control character at all, no bidirectional override (ValueError)."""
    if _SINGLE_LINE_REFUSED.search(value):
        raise ValueError("must not contain control characters, line breaks or bidirectional overrides")
    return value


def check_free_text(value: str) -> str:
    """A message or text: line breaks and tabs allowed, other control characters and
    bidirectional overrides refused (ValueError)."""
    if _FREE_TEXT_REFUSED.search(value):
        raise ValueError(
            "must not contain control characters (other than line breaks and tabs) or bidirectional overrides"
        )
    return value
