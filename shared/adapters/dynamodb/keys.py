"""Every key string of the single data table, and the access patterns they serve.

Generic attributes: PK/SK on the table, GSI1PK/GSI1SK and GSI2PK/GSI2SK on the two
overloaded indexes (declared in infra/spec.py). Tenant ids come first in every firm-owned
key, so a repository cannot read across tenants by accident (R-ROLE-1).

| # | access pattern                         | index | key condition                                       |
|---|----------------------------------------|-------|-----------------------------------------------------|
| 1 | get a user's profile                   | table | PK=USER#<sub>, SK=PROFILE                           |
| 2 | list a user's staff memberships        | table | PK=USER#<sub>, SK begins_with MEMBER#               |
| 3 | get one staff membership (authorize)   | table | PK=USER#<sub>, SK=MEMBER#<firm>                     |
| 4 | list a firm's staff                    | GSI1  | GSI1PK=FIRM#<firm>#STAFF, GSI1SK=<sub>              |
| 5 | get a firm                             | table | PK=FIRM#<firm>, SK=FIRM                             |
| 6 | list the firms a user is a customer of | table | PK=USER#<sub>, SK begins_with CUSTOMER#             |
| 7 | append an audit event                  | table | PK=FIRM#<firm>#AUDIT, SK=<ulid> (put if not exists) |
| 8 | list a firm's audit log, newest first  | table | PK=FIRM#<firm>#AUDIT, descending                    |
| 9 | a customer's audit events, newest first | GSI1 | GSI1PK=FIRM#<firm>#AUDIT#CUSTOMER#<cust>, desc      |
|10 | get a customer                         | table | PK=FIRM#<firm>, SK=CUSTOMER#<cust>                  |
|11 | find a customer by email (uniqueness)  | table | PK=FIRM#<firm>, SK=EMAIL#<sha256(email)>            |
|12 | a section's customers, newest first    | GSI1  | GSI1PK=FIRM#<firm>#SECTION#<s>, GSI1SK=<cust ulid>  |
|   | (admins; customer items)               |       |                                                     |
|13 | a section's customers an adviser sees  | GSI1  | GSI1PK=FIRM#<firm>#STAFF#<sub>#SECTION#<s>          |
|   | (visibility items, one per staff)      |       | GSI1SK=<cust ulid>                                  |
|14 | section counts (firm / per adviser)    | table | PK=FIRM#<firm>, SK=COUNTS#ALL or COUNTS#STAFF#<sub> |
|15 | invitations due for a reminder/expiry  | GSI2  | GSI2PK=INVITATION_DUE, GSI2SK <= <today>#...        |
|   | (due by today, missed runs included)   |       | GSI2SK=<yyyy-mm-dd>#<firm>#<cust>                   |
|16 | an invitation by its token's hash      | table | PK=INVITE#<sha256(token)>, SK=INVITE                |
|17 | a customer's shared accounts           | table | PK=FIRM#<firm>#CUSTOMER#<cust>, SK begins ACCOUNT#  |
|18 | a customer's transactions by date      | table | PK=FIRM#<firm>#CUSTOMER#<cust>#TX, SK=TX#<date>#... |
|19 | an account's transactions by date      | GSI1  | GSI1PK=FIRM#<firm>#ACCOUNT#<acct>#TX, GSI1SK=TX#... |
|20 | a person's notifications, newest first | table | PK=USER#<sub>, SK begins NOTIFICATION#              |

Customer rows are denormalised into one visibility item per staff member who may see the
customer (owner and assignees): every customer write rewrites them in the same transaction,
so an adviser's page is one Query with no per-row lookups. Section counts are counters
updated in that same transaction, so they never disagree with the lists.
Later issues add their rows here: this table is the data model's documentation.
"""

from __future__ import annotations

PROFILE = "PROFILE"
FIRM = "FIRM"


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def membership_sk(firm_id: str) -> str:
    return f"MEMBER#{firm_id}"


MEMBERSHIP_PREFIX = "MEMBER#"


def firm_pk(firm_id: str) -> str:
    return f"FIRM#{firm_id}"


def firm_staff_gsi1pk(firm_id: str) -> str:
    return f"FIRM#{firm_id}#STAFF"


def customer_link_sk(firm_id: str, customer_id: str) -> str:
    return f"CUSTOMER#{firm_id}#{customer_id}"


CUSTOMER_LINK_PREFIX = "CUSTOMER#"


def audit_pk(firm_id: str) -> str:
    return f"FIRM#{firm_id}#AUDIT"


def audit_customer_gsi1pk(firm_id: str, customer_id: str) -> str:
    return f"FIRM#{firm_id}#AUDIT#CUSTOMER#{customer_id}"


def customer_sk(customer_id: str) -> str:
    return f"CUSTOMER#{customer_id}"


def customer_email_sk(email_fingerprint: str) -> str:
    return f"EMAIL#{email_fingerprint}"


def section_gsi1pk(firm_id: str, section: str, staff_id: str | None = None) -> str:
    scope = f"#STAFF#{staff_id}" if staff_id else ""
    return f"FIRM#{firm_id}{scope}#SECTION#{section}"


def customer_collection_pk(firm_id: str, customer_id: str) -> str:
    """Items owned by one customer of one firm: visibility items, shared accounts."""
    return f"FIRM#{firm_id}#CUSTOMER#{customer_id}"


def visibility_sk(staff_id: str) -> str:
    return f"STAFF#{staff_id}"


def counts_sk(staff_id: str | None) -> str:
    return f"COUNTS#STAFF#{staff_id}" if staff_id else "COUNTS#ALL"


INVITATION_DUE = "INVITATION_DUE"


def due_gsi2sk(day: str, firm_id: str, customer_id: str) -> str:
    return f"{day}#{firm_id}#{customer_id}"


def invite_token_pk(token_hash: str) -> str:
    return f"INVITE#{token_hash}"


INVITE = "INVITE"


def account_sk(account_id: str) -> str:
    return f"ACCOUNT#{account_id}"


ACCOUNT_PREFIX = "ACCOUNT#"


def customer_transactions_pk(firm_id: str, customer_id: str) -> str:
    return f"FIRM#{firm_id}#CUSTOMER#{customer_id}#TX"


def account_transactions_gsi1pk(firm_id: str, account_id: str) -> str:
    return f"FIRM#{firm_id}#ACCOUNT#{account_id}#TX"


def transaction_sk(booking_date: str, account_id: str, transaction_key: str) -> str:
    return f"TX#{booking_date}#{account_id}#{transaction_key}"


def notification_sk(notification_id: str) -> str:
    return f"NOTIFICATION#{notification_id}"


NOTIFICATION_PREFIX = "NOTIFICATION#"
