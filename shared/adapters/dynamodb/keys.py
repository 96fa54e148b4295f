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
