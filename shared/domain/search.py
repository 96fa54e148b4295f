"""Search by name or email (R-REF-2's search and contact, the customer list's `q`): the tokens a
row is found by, and the prefix a typed query looks for.

A row (a customer, an engagement) is indexed under a few normalised tokens of its name and email,
one index entry per token in each scope that sees the row (keys.py #55, #56); a search reads the
entries whose token starts with the query's prefix. Normalising: lower case (casefold), accents
and ligatures folded (é -> e, ß -> ss, ø -> o), words split on spaces and punctuation.

Tokens of a row, in this order of priority: the whole name (its words joined by one space), the
whole email, the email's local part as words ("jane.doe" -> "jane doe"), then the single words of
the name (last first) and of the local part. A token that is the start of another token of the
row is left out (a prefix search finds the longer one anyway: "jane" of "jane doe"), as is one
shorter than the minimal query; at most `MAX_TOKENS` are kept, fewer when many staff see the row
(`token_budget`): its index entries are written in the same transaction as its rows.

Pure rules: no boto3, no environment.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from shared.domain.errors import InvalidRequest

MIN_PREFIX = 3  # a shorter query would match a large share of any firm: 400 query_too_short
MAX_TOKEN_LENGTH = 64  # characters of a token (and of a query) that count
MAX_TOKENS = 8  # tokens per row
SCOPE_ENTRY_BUDGET = 60  # index entries one row may have over all its scopes (within a transaction)

# letters that do not decompose into a base letter and an accent (\u0131: the dotless i)
_LETTERS = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "\u0131": "i"}
)
_NOT_A_WORD = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """Lower case, accents and ligatures folded, runs of white space made one space."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.translate(_LETTERS).split())


def words(text: str) -> list[str]:
    """The folded words of `text`, split on spaces and punctuation."""
    return [word for word in _NOT_A_WORD.split(fold(text)) if word]


def _whole_email(email: str) -> str:
    return fold(email).replace(" ", "").replace("#", "")


def _cut(token: str) -> str:
    return token[:MAX_TOKEN_LENGTH].rstrip()


def token_budget(scopes: int) -> int:
    """How many tokens a row seen in `scopes` scopes (the firm + each staff member) keeps: 8, fewer
    from 8 scopes on (60 entries in all), at least 2 (the whole name and the email)."""
    return max(2, min(MAX_TOKENS, SCOPE_ENTRY_BUDGET // max(scopes, 1)))


def tokens(name: str, email: str, limit: int = MAX_TOKENS) -> tuple[str, ...]:
    """The tokens a row with this name and email is found by (see the module's docstring)."""
    name_words, local_words = words(name), words(email.partition("@")[0])
    candidates = (
        " ".join(name_words),
        _whole_email(email),
        " ".join(local_words),
        *reversed(name_words),
        *reversed(local_words),
    )
    kept: list[str] = []
    for token in map(_cut, candidates):
        if len(token) < MIN_PREFIX or any(k.startswith(token) for k in kept):
            continue
        kept = [k for k in kept if not token.startswith(k)]
        kept.append(token)
    return tuple(kept[:limit])


def search_prefix(query: str | None) -> str | None:
    """What a typed query looks for: None for no search (absent or blank); an email-like query
    (with "@") as one folded string, anything else as its words joined by one space, so
    "Doe, J" looks for "doe j" and "client-0042" for "client 0042". InvalidRequest
    `query_too_short` under 3 letters or digits."""
    if query is None:
        return None
    folded = fold(query)
    prefix = _cut(_whole_email(query) if "@" in folded else " ".join(words(query)))
    if not prefix:
        return None
    if len(prefix.replace(" ", "")) < MIN_PREFIX:
        raise InvalidRequest(
            f"Type at least {MIN_PREFIX} letters or digits to search.", code="query_too_short"
        )
    return prefix


def first_match(row_tokens: Iterable[str], prefix: str) -> str | None:
    """The row's first token (in key order) that starts with `prefix`: a row found through several
    tokens is listed once, at that one."""
    return min((token for token in row_tokens if token.startswith(prefix)), default=None)
