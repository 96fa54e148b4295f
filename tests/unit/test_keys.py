"""Every key string is built in shared/adapters/dynamodb/keys.py (issue 14).

The guard walks the string literals (plain strings and the literal parts of f-strings, not
comments or docstrings) of every Python module under shared/, functions/ and local/ except
keys.py, and fails on anything that looks like a piece of a key: an upper-case key prefix
("TX#", "FIRM#"), an upper-case key segment ("#STAFF") or the U+FFFF that closes a key range.
The other tests pin the helpers that replaced strings built in the repositories, byte for
byte, so items already stored are still found.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from shared.adapters.dynamodb import keys
from tests.conftest import ROOT

SCANNED = ("shared", "functions", "local")
KEYS_MODULE = Path("shared/adapters/dynamodb/keys.py")
KEY_PIECE = re.compile(r"(?<![A-Za-z0-9_])[A-Z][A-Z0-9_]*#|#[A-Z][A-Z_]{2,}|\uffff")


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def key_pieces(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """(line, literal) of each string literal in `source` that holds a piece of a key."""
    tree = ast.parse(source, filename)
    docstrings = _docstrings(tree)
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and KEY_PIECE.search(node.value)
    ]


def test_no_key_string_is_built_outside_keys_py() -> None:
    offenders = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative == KEYS_MODULE:
                continue
            for line, literal in key_pieces(path.read_text(encoding="utf-8"), str(relative)):
                offenders.append(f"{relative}:{line}: {literal!r}")
    assert not offenders, (
        "Key strings are built only in shared/adapters/dynamodb/keys.py; add a named "
        "function or constant there for:\n" + "\n".join(offenders)
    )


@pytest.mark.parametrize(
    "source",
    [
        'sk = f"TX#{day}"',
        'pk = "FIRM#" + firm_id',
        'pk = f"{firm}#STAFF"',
        'high = f"{day}#\\uffff"',
        'def f():\n    return {"GSI1SK": f"TX#{booking}#{key}"}',
    ],
)
def test_the_guard_sees_key_pieces_in_literals_and_f_strings(source: str) -> None:
    assert key_pieces(source)


@pytest.mark.parametrize(
    "source",
    [
        '# built as f"TX#{day}" in keys.py\nx = 1',
        'def f():\n    """Reads PK=FIRM#<firm>, SK=TX#<date> (keys.py #18)."""',
        'x = "see keys.py #18"',
        "colour = f\"fill='#{colour}'\"",
        'names = {f"#{s}": s for s in changed}',
    ],
)
def test_the_guard_ignores_comments_docstrings_and_other_hashes(source: str) -> None:
    assert not key_pieces(source)


# The strings the repositories used to build themselves, byte for byte -----------------------
def test_account_transaction_index_keys_are_unchanged() -> None:
    assert keys.account_transaction_gsi1sk("2024-03-01", "k1") == "TX#2024-03-01#k1"
    assert keys.account_transactions_since("2024-03-01") == "TX#2024-03-01"
    sort_key = keys.transaction_sk("2024-03-01", "acct", "key#with#hashes")
    assert keys.account_transaction_gsi1sk_of(sort_key) == "TX#2024-03-01#key#with#hashes"


@pytest.mark.parametrize("cursor", ["", "TX#2024-03-01", "TX#2024-03-01#acct"])
def test_a_malformed_transaction_cursor_is_a_value_error(cursor: str) -> None:
    with pytest.raises(ValueError):
        keys.account_transaction_gsi1sk_of(cursor)


def test_transaction_date_bounds_are_unchanged() -> None:
    assert keys.transactions_between(None, None) == ("TX#", "TX#9999-12-31#\uffff")
    assert keys.transactions_between("2024-01-01", "2024-01-31") == (
        "TX#2024-01-01",
        "TX#2024-01-31#\uffff",
    )


def test_due_bound_active_connection_and_refresh_sort_keys_are_unchanged() -> None:
    assert keys.due_through("2024-03-01") == "2024-03-01#\uffff"
    assert keys.active_connection_gsi2sk("f", "c", "n") == "f#c#n"
    assert keys.refresh_uploads_between(None, None) == ("0", "9#\uffff")
    assert keys.refresh_uploads_between("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z") == (
        "2024-01-01T00:00:00Z",
        "2024-02-01T00:00:00Z#\uffff",
    )
    sort = keys.refresh_row_sort("2024-01-01T00:00:00Z", "cust1")
    assert keys.refresh_row_sort_customer(sort) == "cust1"
    assert keys.refresh_row_sort_customer(keys.refresh_row_sort(None, "cust2")) == "cust2"
