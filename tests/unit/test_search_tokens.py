"""Search tokens (shared/domain/search.py): what a name and an email are found by, what a typed query
looks for, and how many index entries a row costs (within DynamoDB's 100 actions a transaction)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.customers_repository import CustomersRepository
from shared.adapters.dynamodb.engagement_rows_repository import row_writes
from shared.adapters.dynamodb.search_index import Indexed, entry_writes
from shared.domain.customers import Customer, issue_invitation
from shared.domain.errors import InvalidRequest
from shared.domain.refresh import Connector, Engagement
from shared.domain.search import (
    MAX_TOKEN_LENGTH,
    MAX_TOKENS,
    first_match,
    fold,
    search_prefix,
    token_budget,
    tokens,
    words,
)

NOW = datetime(2026, 3, 1, 9, tzinfo=UTC)
TRANSACTION_LIMIT = 100  # DynamoDB's actions per TransactWriteItems (moto does not check it)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Zoë ÅGÅRD", "zoe agard"),
        ("  José\tMaría  ", "jose maria"),
        ("Straße", "strasse"),
        ("Øystein Ærø", "oystein aero"),
        ("Łukasz Œuvre", "lukasz oeuvre"),
        ("ﬁnn", "finn"),  # a ligature
    ],
)
def test_folding_lowers_case_and_removes_accents(text, folded):
    assert fold(text) == folded


def test_words_split_on_spaces_and_punctuation():
    assert words("O'Brien-Smith, J. (Jr.)") == ["o", "brien", "smith", "j", "jr"]
    assert words("jane_doe+tax@example.org") == ["jane", "doe", "tax", "example", "org"]
    assert words(" -- ") == []


def test_a_name_and_email_give_the_whole_name_the_email_its_local_part_and_the_words():
    assert tokens("Jane Mary Doe", "Jane.Doe@Example.org") == (
        "jane mary doe",
        "jane.doe@example.org",
        "jane doe",
        "doe",
        "mary",
    )


def test_a_token_that_starts_another_one_is_left_out_and_short_ones_too():
    # "ann" starts "ann lee" and "ann-lee@…": any prefix of it finds those; "li" cannot be searched.
    assert tokens("Ann Lee", "ann@example.org") == ("ann lee", "ann@example.org", "lee")
    assert tokens("Li Wu", "li.wu@example.org") == ("li wu", "li.wu@example.org")
    assert tokens("Client 00012", "client-00012@example.org") == (
        "client 00012",
        "client-00012@example.org",
        "00012",
    )


def test_emails_are_folded_whole_and_hold_no_key_separator():
    assert tokens("X", "ÉLODIE#1@Exämple.org") == ("elodie1@example.org", "elodie 1")


def test_tokens_are_capped_in_number_and_length():
    many = tokens("Anna Bella Carla Dora Emma Fiona Greta Hanna Ines", "anna@example.org")
    assert len(many) == MAX_TOKENS
    assert many[:2] == ("anna bella carla dora emma fiona greta hanna ines", "anna@example.org")
    long = tokens("W" * 100, "a@b.org")
    assert long[0] == "w" * MAX_TOKEN_LENGTH
    assert len(tokens("Jane Mary Doe", "jane.doe@example.org", 2)) == 2


def test_the_budget_shrinks_with_the_scopes_that_see_a_row():
    assert [token_budget(n) for n in (1, 2, 7, 8, 10, 12, 15, 20, 22, 40)] == [8, 8, 8, 7, 6, 5, 4, 3, 2, 2]


@pytest.mark.parametrize(
    ("typed", "prefix"),
    [
        ("Zoë Å", "zoe a"),
        ("  DOE,  j ", "doe j"),
        ("client-0042", "client 0042"),
        ("Jane.Doe@EX", "jane.doe@ex"),
        ("jane doe@ex", "janedoe@ex"),
        ("abc", "abc"),
        ("", None),
        ("  ", None),
        (None, None),
        ("x" * 200, "x" * MAX_TOKEN_LENGTH),
    ],
)
def test_a_query_looks_for_its_folded_words_or_the_folded_email(typed, prefix):
    assert search_prefix(typed) == prefix


@pytest.mark.parametrize("typed", ["a", "ab", "é.", "a-b", " x ", "@"])
def test_a_query_under_three_letters_or_digits_is_refused(typed):
    with pytest.raises(InvalidRequest) as refused:
        search_prefix(typed)
    assert refused.value.code == "query_too_short"


def test_a_row_is_listed_at_its_first_matching_token_in_key_order():
    found_by = tokens("Paul Adams", "paul-adams@example.org")
    assert first_match(found_by, "paul") == "paul adams"  # " " sorts before "-" in the key too
    assert first_match(found_by, "paul-") == "paul-adams@example.org"
    assert first_match(found_by, "adam") == "adams"
    assert first_match(found_by, "zed") is None


def test_entry_writes_change_only_what_changed():
    firm, customer = "F1", "C1"
    before = Indexed.of("Jane Doe", "jane@example.org", ("owner",))
    assert entry_writes("data", keys.customer_find_pk, firm, customer, before, before) == []
    moved = Indexed.of("Jane Doe", "jane@example.org", ("other",))
    writes = entry_writes("data", keys.customer_find_pk, firm, customer, before, moved)
    assert sorted(next(iter(w)) for w in writes) == ["Delete"] * 3 + ["Put"] * 3  # one scope's 3 tokens
    gone = entry_writes("data", keys.customer_find_pk, firm, customer, before, None)
    assert len(gone) == 6 and all("Delete" in w for w in gone)


def _customer(staff: int) -> Customer:
    _, invitation = issue_invitation(NOW, None)
    return Customer(
        firm_id="F1",
        customer_id="C1",
        name="Anna Bella Carla Dora Emma Fiona",
        email="anna.bella.carla@example.org",
        owner_id="s0",
        assignee_ids=tuple(f"s{n}" for n in range(1, staff)),
        created_at=NOW,
        invitation=invitation,
        user_id="u1",
        accepted_accounts=1,
    )


def _engagement(customer: Customer) -> Engagement:
    return Engagement(
        firm_id="F1",
        customer_id="C1",
        customer_name=customer.name,
        contact_email=customer.email,
        owner_id=customer.owner_id,
        staff_ids=customer.staff_ids,
        # two banks: every scope's package counts move with its row (issue 16 item 6)
        connectors=(
            Connector("k1", "gocardless", "NORTHWIND", "Northwind Bank", True, None),
            Connector("k2", "plaid", "ins_1", "First Platypus", True, None),
        ),
        version=1,
    )


@pytest.mark.parametrize("staff", range(1, 21))
def test_the_largest_transactions_stay_within_dynamodbs_limit(staff):
    """A first connection writes every scope's row and entries; an assignment writes the customer,
    its rows and counters, the engagement's rows and both indexes' changes in one transaction."""
    customers = CustomersRepository("data")
    before, after = _customer(staff), _customer(staff + 1)
    first_connection = row_writes("data", _engagement(after), None, "active")
    assert len(first_connection) <= TRANSACTION_LIMIT
    assignment = (
        1  # the customer
        + len(after.staff_ids)  # visibility rows
        + len(customers._counter_updates(after, before))
        + len(customers.find_entry_writes(after, before))
        + len(row_writes("data", _engagement(after), _engagement(before), "active"))
    )
    assert assignment <= TRANSACTION_LIMIT
