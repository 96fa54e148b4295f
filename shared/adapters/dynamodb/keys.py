"""Every key string of the data table (and of the audit table), and the access patterns they serve.

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
| 7 | append an audit event (AUDIT table:    | audit | PK=FIRM#<firm>#AUDIT#LANE#<0..7>, SK=<position, 12  |
|   | the next position of one of the firm's |       | digits> (put if not exists, built from #95's tip)   |
|   | chains; see "The audit table" below)   |       |                                                     |
| 8 | list a firm's audit log, newest first  | audit | GSI1PK=FIRM#<firm>#AUDIT, GSI1SK=<event ulid>, desc |
|   |                                        | GSI1  |                                                     |
| 9 | a customer's audit events, newest first | audit | GSI2PK=FIRM#<firm>#AUDIT#CUSTOMER#<cust>, GSI2SK=  |
|   |                                        | GSI2  | <event ulid>, desc (sparse: events with a customer) |
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
|   | (GSI1SK=TX#<date>#<key>)               |       |                                                     |
|20 | a person's notifications, newest first | table | PK=USER#<sub>, SK begins NOTIFICATION#              |
|21 | a customer's connections               | table | PK=FIRM#<firm>#CUSTOMER#<cust>, SK begins CONNECTION#|
|22 | where a connection lives (by its id)   | table | PK=CONNECTION#<id>, SK=CONNECTION                   |
|23 | the connection of a callback reference | table | PK=CONSENTREF#<sha256>, SK=CONSENTREF (1 use; TTL)  |
|24 | the connection of a Plaid item         | table | PK=PLAIDITEM#<item_id>, SK=PLAIDITEM                |
|25 | active connections (daily import)      | GSI2  | GSI2PK=ACTIVE_CONNECTIONS#<00..15>, GSI2SK=<ids>    |
|   | (GSI2SK=<firm>#<cust>#<connection>)    |       |                                                     |
|26 | a client file, whole (file = customer) | table | PK=FIRM#<firm>#CUSTOMER#<cust>, SK begins FILE#     |
|   | (members, advisers, patrimony, donations, documents, grants)                                 |
|27 | one file item (member, grant, ...)     | table | PK=FIRM#<firm>#CUSTOMER#<cust>, SK=FILE#<S>#<id>    |
|28 | a file grant by its invitation token   | table | PK=FILE_INVITE#<sha256(token)>, SK=INVITE           |
|29 | file grants due for a reminder/expiry  | GSI2  | GSI2PK=FILE_INVITATION_DUE, GSI2SK <= <today>#...   |
|   |                                        |       | GSI2SK=<yyyy-mm-dd>#<firm>#<cust>#<type>#<id>       |
|30 | the files a person was granted         | table | PK=USER#<sub>, SK begins FILE_ACCESS#               |
|   | (one per file: SK=FILE_ACCESS#<firm>#<cust>, put if not exists)                             |
|31 | the account of a grantee by email      | table | PK=ACCOUNT_EMAIL#<sha256(email)>, SK=ACCOUNT        |
|32 | an import feed's state (cursor, dates) | table | PK=FIRM#<firm>#CUSTOMER#<cust>, SK=IMPORT#<feed>    |
|33 | an account's calls today (budget)      | table | PK=BUDGET#<provider account>#<day>, SK=BUDGET (TTL) |
|50 | a provider's company-wide calls in one | table | PK=RATE#<provider>#<resource>, SK=<UTC minute>      |
|   | minute (the pace, before each request) |       | (conditional ADD below the limit; TTL: minutes)     |
|34 | a firm's assignment rules              | table | PK=FIRM#<firm>, SK begins RULE#                     |
|35 | a customer's unassigned booked lines   | GSI2  | GSI2PK=FIRM#<firm>#CUSTOMER#<cust>#UNASSIGNED       |
|   | (sparse: only while unassigned)        |       | GSI2SK=TX#<date>#<acct>#<key>                       |
|36 | a person's EULA acceptances            | table | PK=USER#<sub>, SK=EULA#<version> (time, version)    |
|37 | an engagement's Data Refresh rows      | table | PK=FIRM#<firm>#CUSTOMER#<cust>, SK=REFRESH#ROW#...  |
|   | (one per scope: ALL, STAFF#<sub>)      |       | (SK=REFRESH#ROW#ALL or REFRESH#ROW#STAFF#<sub>)     |
|38 | refresh dashboard, a scope's rows by   | GSI1  | GSI1PK=FIRM#<firm>[#STAFF#<sub>]#REFRESH            |
|   | last upload (admins / an adviser)      |       | GSI1SK=<last upload iso or ->#<cust>                |
|39 | refresh dashboard, one stored status   | GSI2  | GSI2PK=FIRM#<firm>[#STAFF#<sub>]#REFRESH#<bucket>   |
|   | (bucket: active, inactive, queued, running, succeeded, failed); GSI2SK as GSI1SK              |
|40 | the daily cap: one refresh per         | table | PK=FIRM#<firm>#ENGAGEMENT#<cust>#REFRESH_DAY#<day>  |
|   | engagement per firm-local day          |       | SK=REFRESH_CAP (put if not exists; TTL)             |
|41 | a refresh job and its counters         | table | PK=FIRM#<firm>#REFRESH_JOB#<job>, SK=JOB            |
|42 | a refresh job's outcome per engagement | table | PK=FIRM#<firm>#REFRESH_JOB#<job>, SK=ENGAGEMENT#... |
|43 | every firm (operator: tools.firms)     | GSI2  | GSI2PK=FIRMS, GSI2SK=<firm> (on the firm items)     |
|44 | a firm's refresh jobs, newest first    | GSI1  | GSI1PK=FIRM#<firm>#REFRESH_JOBS, GSI1SK=<job ulid>  |
|   | (admins; one listing item per job: SK=LISTED, written once with the job, never updated)      |
|45 | the refresh jobs one person started    | GSI2  | GSI2PK=FIRM#<firm>#STAFF#<sub>#REFRESH_JOBS         |
|   | (advisers), newest first               |       | GSI2SK=<job ulid> (same listing item)               |
|46 | a firm's staff invitations             | table | PK=FIRM#<firm>, SK begins STAFF_INVITE#<id ulid>    |
|   | (one: SK=STAFF_INVITE#<id>)            |       |                                                     |
|47 | a firm's staff invitation by email     | table | PK=FIRM#<firm>, SK=STAFF_EMAIL#<sha256(email)>      |
|   | (one per email; put if not exists)     |       | (holds the invitation id)                           |
|48 | a staff invitation by its token's hash | table | PK=STAFF_TOKEN#<sha256(token)>, SK=INVITE (TTL)     |
|49 | staff invitations due for a reminder   | GSI2  | GSI2PK=STAFF_INVITATION_DUE, GSI2SK <= <today>#...  |
|   | or expiry                              |       | GSI2SK=<yyyy-mm-dd>#<firm>#<id>                     |
|65 | connections awaiting their consent-    | GSI1  | GSI1PK=CONSENT_EXPIRY#<expiry's UTC day>,           |
|   | expiry reminder, by expiry day (sparse: |       | GSI1SK >= <now iso> (one Query per day, today..+8)  |
|   | importable, expiry known, not reminded) |       | GSI1SK=<expiry iso>#<firm>#<cust>#<connection>      |
|60 | a person's marker of an event they     | table | PK=USER#<sub>, SK=NOTICE_EVENT#<sha256(event key)>  |
|   | were notified of (once per event)      |       | (put if not exists, with the notification; TTL)     |
|61 | a person's notifications since a time  | table | PK=USER#<sub>, SK BETWEEN NOTIFICATION#<ulid(since)>|
|   | (the daily digest), newest first       |       | AND NOTIFICATION#<max>                              |
|62 | a staff member's digest preference     | table | PK=USER#<sub>, SK=DIGEST_PREFERENCE                 |
|63 | digests due (sparse: only while opted  | GSI2  | GSI2PK=DIGEST_DUE, GSI2SK <= <utc iso now>#<max>    |
|   | in; claimed by moving GSI2SK on)       |       | GSI2SK=<next due, utc iso>#<sub>                    |
|64 | (retired: a refresh job's "finished" notice is written once by its marker #60, after a     |
|   | consistent read of the job #41 shows it final; nothing is claimed before the write)         |


|75 | an export (status, filter, lines)      | table | PK=FIRM#<firm>#EXPORT#<export>, SK=EXPORT (TTL)     |
|76 | a firm's audit log between two days    | audit | GSI1PK=FIRM#<firm>#AUDIT, GSI1SK BETWEEN <ulid of   |
|   | (the audit export; newest first)       | GSI1  | day 1 00:00 UTC, no randomness> AND <day 2 end, 1s> |
|77 | a customer's audit events between two  | audit | GSI2PK=FIRM#<firm>#AUDIT#CUSTOMER#<cust>, GSI2SK    |
|   | days (the audit export)                | GSI2  | BETWEEN the bounds of #76                           |

|95 | the tip of one of a firm's audit       | audit | PK=FIRM#<firm>#AUDIT#LANE#<l>, descending, Limit 1, |
|   | chains (the writer, before #7)         |       | ConsistentRead (its SK and hash only)               |
|96 | one audit chain whole, in order        | audit | PK=FIRM#<firm>#AUDIT#LANE#<l>, ascending,           |
|   | (tools.audit verify)                   |       | ConsistentRead, a page per Query                    |
|97 | a firm's audit events of one kind,     | audit | GSI3PK=FIRM#<firm>#AUDIT#KIND#<kind>, GSI3SK=<event |
|   | newest first (GET /audit?kind=)        | GSI3  | ulid>, desc; a day range as #76                     |
|98 | a customer's audit events of one kind, | audit | GSI4PK=FIRM#<firm>#AUDIT#CUSTOMER#<cust>#KIND#<kind>|
|   | newest first (?customer_id=&kind=)     | GSI4  | GSI4SK=<event ulid>, desc (sparse, as #9)           |
|99 | the keys of every event the firm's log | audit | #8 with ProjectionExpression PK, SK: each listed    |
|   | lists (verify: each is in a chain)     | GSI1  | event must sit in one of the chains #96 read        |
|85 | an abuse limit's counter: one limit,   | table | PK=LIMIT#<limit>#<subject>#<window start, epoch s>, |
|   | subject (user, firm, email SHA-256 or  |       | SK=LIMIT (conditional ADD in one transaction per    |
|   | connection) and fixed window           |       | spend, all limits or none; TTL: a window later)     |


|90 | a person's MFA enrolment (read on every | table | PK=USER#<sub>, SK=MFA (put if not exists, in one    |
|   | staff request: R-ID-4)                 |       | transaction with its audit events)                  |
|106| remove a person's MFA enrolment (lapsed | table | PK=USER#<sub>, SK=MFA (delete if enrolled_at is     |
|   | at a token issue, or an admin's reset) |       | unchanged, in one transaction with its audit events)|


|70 | the package values in use in a scope   | table | PK=FIRM#<firm>, SK=REFRESH_PACKAGES#ALL or          |
|   | (a count per value, kept in the rows'  |       | REFRESH_PACKAGES#STAFF#<sub>                        |
|   | transactions: one GetItem lists them)  |       |                                                     |
|71 | one ledger account of the firm         | table | PK=FIRM#<firm>, SK=LEDGER#<casefolded code>         |
|72 | the firm's chart of accounts           | table | PK=FIRM#<firm>, SK begins LEDGER#                   |


|100| a firm's lifecycle settings (retention) | table | PK=FIRM#<firm>, SK=SETTINGS                         |
|101| ended relationships due for erasure    | GSI2  | GSI2PK=ERASURE_DUE, GSI2SK <= <today>#...           |
|   | (sparse: on ended customers' items #10) |       | GSI2SK=<yyyy-mm-dd>#<firm>#<cust> (firm-local day)  |
|102| the notifications about a customer     | GSI1  | GSI1PK=FIRM#<firm>#CUSTOMER#<cust>#NOTICES          |
|   | (staff's and the customer's own)       |       | GSI1SK=<user>#<notification ulid>                   |
|103| a customer's exports (erasure)         | GSI1  | GSI1PK=FIRM#<firm>#CUSTOMER#<cust>#EXPORTS,         |
|   |                                        |       | GSI1SK=<export ulid>                                |
|104| a customer's whole collection (erasure)| table | PK=FIRM#<firm>#CUSTOMER#<cust> (every SK), and      |
|   |                                        |       | PK=FIRM#<firm>#CUSTOMER#<cust>#TX (every SK)        |
|105| a customer's items kept elsewhere      | GSI2  | GSI2PK=FIRM#<firm>#CUSTOMER#<cust>#TRACES           |
|   | (erasure): lookups #22-#24, tokens #16 |       | GSI2SK=<the item's PK>                              |
|   | and #28, grantees' links #30, refresh outcomes #42 and caps #40                               |


|110| ended relationships, latest end first  | GSI1  | GSI1PK=FIRM#<firm>#SECTION#ended                    |
|   | (admins; on the customer item #10 once |       | GSI1SK=<ended_at, UTC iso>#<cust>                   |
|   | ended; its count: `ended` on #14 ALL)   |       | (one Query a page; no visibility items, no search)  |
|111| a customer's visibility rows (#13's    | table | PK=FIRM#<firm>#CUSTOMER#<cust>, SK begins STAFF#    |
|   | items), cleared after its end          |       | (each deleted with its adviser's #14 counter)       |

|55 | a scope's engagements by name/email    | table | PK=FIRM#<firm>[#STAFF#<sub>]#REFRESH_FIND           |
|   | token (dashboard `q`, `contact`)       |       | SK begins_with <prefix> (SK=<token>#<cust>)         |
|56 | a scope's customers by name/email      | table | PK=FIRM#<firm>[#STAFF#<sub>]#CUSTOMER_FIND          |
|   | token (customer list `q`)              |       | SK begins_with <prefix> (SK=<token>#<cust>)         |
|57 | the rows a search page found, by key   | table | BatchGetItem of #37 (the scope's row), or of #10    |
|   |                                        |       | (admins) / visibility items #13 (an adviser)        |

Customer rows are denormalised into one visibility item per staff member who may see the
customer (owner and assignees): every customer write rewrites them in the same transaction,
so an adviser's page is one Query with no per-row lookups. Section counts are counters
updated in that same transaction, so they never disagree with the lists.
A relationship's end (#110, #111) is one small transaction whatever the customer's size: the customer
item moves to the ended list, the firm's counters (`ended` +1) and the audit event; then its visibility
rows go, each with its adviser's counter in the same transaction (up to 50 a transaction; a row already
gone is skipped, so a retry counts nothing twice), its search entries and Data Refresh rows in batches,
and last the person's link (#6): until then a retry of the end, or of the customer's leave, finds it and
finishes the job.
A client file's items live in its customer's collection (#26), so one Query reads the
whole file and a transaction changes a grant with its token, its person's link (#30) and
the member it is for. The grantee index (#31) maps the email a person signed in with to
their identity; it is written when they accept a file invitation, and a grant to that
email later binds to the account at once (R-ACC-3).
Data Refresh rows (#37) mirror the customer rows: one per scope (the firm, and each staff
member who may see the customer), rewritten together with an optimistic lock on the ALL row,
so a page of the dashboard is one Query on GSI1 (by last upload) or GSI2 (by stored status).
A refresh claims its engagement-day (#40) in the same transaction that moves the job's
counters (#41) and writes the outcome (#42), so the counters always add up. A job is listed
(#44, #45) through a second item written once with it: the counters, updated on every claim,
stay off the indexes (no GSI write per counter change); a page of the list is one Query and
one BatchGetItem of the jobs themselves.
The consent-expiry index (#65) lives on the connection item (#21) itself, so every write that sets,
changes or clears a connection's expiry or status moves it in the same write; claiming the reminder
(an optimistic-locked save that records the expiry reminded of) takes the connection out of it, and a
new expiry puts it back. One partition per expiry day, not one for all: the daily imports rewrite
every connection, and a single partition would take all those index writes.
Staff notifications (#60, #20) are written one transaction per event: each person's notification
with their marker of the event, put only if absent, so a retried worker notifies nobody twice. The
digest index (#63) holds only the people who opted in, each under the time their next digest is due.


The packages in use (#70) are one item per scope holding a count per package value (`n:<kind>:<value>`,
ADDed) and how to show it (`p:<kind>:<value>`); every write of the rows (#37) that changes a scope's
packages moves those counts in the same transaction, so `GET /data-refresh/packages` is one GetItem
and never drifts from the rows. Rows written before the counts existed are counted at their next
write (they carry no `packages_counted` marker). A value whose count fell to 0 is removed when the
list is next read (one conditional update), so the item holds the values in use.
A ledger account (#71) is marked `used` in the transaction that links an account to it or saves a
rule naming it (a condition there refuses an archived or deleted one); a used account is archived,
not deleted.


Search (#55, #56): a row's name and email tokens (shared/domain/search.py) are index entries
in each scope that sees it, written, moved and deleted in the transaction that writes its rows
(only the entries that change), so the index cannot drift; a search page is one or two Queries
on the token prefix and one BatchGetItem of the rows they name (#57).
A staff invitation (#46) is accepted in one transaction that consumes its token (#48) and puts
the person's membership (#3, #4) only if they have none in the firm.
The audit table (#7, #8, #9, #76, #77, #95-#99) is apart from the data table: the functions that
write events may only PutItem there (and Query a chain's tip), never update or delete (infra/spec.py
"append"). Each event takes the next position of one of its firm's chains and carries the SHA-256 of
its fields and of the previous position's hash (shared/domain/audit_chain.py), so a removed, altered,
inserted or reordered event breaks the chain (`python -m tools.audit verify`). A writer reads the
chain's tip (#95), builds the put at the next position, put only if absent: two writers cannot take
one position, and the loser (its transaction cancelled only by that condition) rebuilds the put from
the new tip and sends again (`client.write_chained`, the one place). Lanes: each firm has 8 chains,
the writer picks one at random per attempt. One chain per firm would serialise every write of the
firm (each write holds the tip from its read to its put: a few tens of ms, estimated, not measured),
while staff reads are to be audited one event per request and the Data Refresh workers write status
events at a high rate; 8 lanes make a collision 8 times rarer and cost only verify (8 Queries, not 1).
The price: the order across lanes is the event ids' (time) order, not a chained one. The listing
indexes (GSI1-GSI4) sort by event id (a ULID of the event's time), so listing newest first, by
customer, by kind (the action's family, the part before its first dot) and by both, each with a day
range, is one Query a page, as before.
An export (#75) is written with its `export.requested` audit event (#7) in one transaction, and
marked done with its `export.completed` event in another; its worker reads a customer's
transactions a page at a time with #18/#19 (one Query per page) and the audit log with #76/#77.
An audited read (issue 17 item 2: a staff page of accounts, transactions or unassigned lines, a client
file read by anyone but its customer, an export's download link) adds no access pattern: its one
`read.<what>` event is appended alone after the data's own reads, #95 then #7 (one Query and one
PutItem per request), and "who read this customer's data?" is #98 with kind `read`.
The lifecycle (issue 17): ending a relationship rewrites the customer (#10) with its end and the
day its data is due for erasure (#101, which replaces the reminders index #15 on that item: an ended
relationship has no invitation out), in one transaction with its rows, counters, search entries,
Data Refresh rows, the person's customer link (#6) and the audit event. Erasure reads what is the
customer's by key or Query only: the whole collection and transactions (#104), the lookups those
items kept elsewhere carry (#105: connection pointers, consent references, Plaid items, invitation
and file tokens, grantees' links, refresh outcomes and caps), the notifications (#102) and exports
(#103) about the customer, and the person's link (#6); it deletes them in BatchWriteItem calls, and
the customer item and its email claim (#11) last, in one transaction with its audit event.
Later issues add their rows here: this table is the data model's documentation.
Every key string -- whole keys, the bounds of a key condition, and the pieces read back from
a sort key to resume a page -- is built here and nowhere else (tests/unit/test_keys.py
fails on a key prefix such as "TX#" in a string literal of any other module).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from ulid import ULID

PROFILE = "PROFILE"
MFA = "MFA"  # #90: the person's second factor, beside their profile
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


FIRMS = "FIRMS"


def customer_link_sk(firm_id: str, customer_id: str) -> str:
    return f"CUSTOMER#{firm_id}#{customer_id}"


CUSTOMER_LINK_PREFIX = "CUSTOMER#"


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


VISIBILITY_PREFIX = visibility_sk("")  # #111


def ended_gsi1sk(ended_at_iso: str, customer_id: str) -> str:
    """#110: an ended relationship's place in the list, by the time it ended (UTC ISO)."""
    return f"{ended_at_iso}#{customer_id}"


def ended_gsi1sk_customer(sort_key: str) -> str:
    """The customer id at the end of an ended_gsi1sk (to resume a page)."""
    return sort_key.rsplit("#", 1)[-1]


def counts_sk(staff_id: str | None) -> str:
    return f"COUNTS#STAFF#{staff_id}" if staff_id else "COUNTS#ALL"


INVITATION_DUE = "INVITATION_DUE"


def due_gsi2sk(day: str, firm_id: str, customer_id: str) -> str:
    return f"{day}#{firm_id}#{customer_id}"


def due_through(day: str) -> str:
    """Upper bound of `GSI2SK <= :today` for #15 and #29: everything due by the end of `day`."""
    return f"{day}#\uffff"


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


def account_transaction_gsi1sk(booking_date: str, transaction_key: str) -> str:
    return f"TX#{booking_date}#{transaction_key}"


def account_transaction_gsi1sk_of(sort_key: str) -> str:
    """The GSI1SK (#19) of the transaction whose table SK (#18) is `sort_key`, so a page
    cursor holding the SK can resume either Query. ValueError if it is not such a key."""
    _, booking_date, _account_id, transaction_key = sort_key.split("#", 3)
    return account_transaction_gsi1sk(booking_date, transaction_key)


def account_transactions_since(day: str) -> str:
    """Lower bound of `GSI1SK >= :since` (#19): an account's transactions booked from `day`."""
    return f"TX#{day}"


LAST_BOOKING_DAY = "9999-12-31"


def transactions_between(first_day: str | None, last_day: str | None) -> tuple[str, str]:
    """Bounds of `SK BETWEEN` (#18) or `GSI1SK BETWEEN` (#19), both `TX#<date>#...`:
    transactions booked from `first_day` through `last_day` (None: open on that side)."""
    return f"TX#{first_day or ''}", f"TX#{last_day or LAST_BOOKING_DAY}#\uffff"


def notification_sk(notification_id: str) -> str:
    return f"NOTIFICATION#{notification_id}"


NOTIFICATION_PREFIX = "NOTIFICATION#"


def connection_sk(connection_id: str) -> str:
    return f"CONNECTION#{connection_id}"


CONNECTION_PREFIX = "CONNECTION#"
CONNECTION = "CONNECTION"


def connection_pointer_pk(connection_id: str) -> str:
    return f"CONNECTION#{connection_id}"


def consent_reference_pk(reference_hash: str) -> str:
    return f"CONSENTREF#{reference_hash}"


CONSENT_REFERENCE = "CONSENTREF"


def plaid_item_pk(item_id: str) -> str:
    return f"PLAIDITEM#{item_id}"


PLAID_ITEM = "PLAIDITEM"
ACTIVE_CONNECTION_SHARDS = 16  # spreads the daily import's index over partitions


def active_connections_gsi2pk(shard: int) -> str:
    return f"ACTIVE_CONNECTIONS#{shard:02d}"


def active_connection_gsi2sk(firm_id: str, customer_id: str, connection_id: str) -> str:
    return f"{firm_id}#{customer_id}#{connection_id}"


# Client files (access grants) ----------------------------------------------------------------
FILE_PREFIX = "FILE#"


def file_member_sk(member_id: str) -> str:
    return f"FILE#MEMBER#{member_id}"


def file_adviser_sk(adviser_id: str) -> str:
    return f"FILE#ADVISER#{adviser_id}"


def file_patrimony_sk(item_id: str) -> str:
    return f"FILE#PATRIMONY#{item_id}"


def file_donation_sk(donation_id: str) -> str:
    return f"FILE#DONATION#{donation_id}"


def file_document_sk(document_id: str) -> str:
    return f"FILE#DOCUMENT#{document_id}"


def file_grant_sk(subject_type: str, subject_id: str) -> str:
    return f"FILE#GRANT#{subject_type}#{subject_id}"


def file_invite_token_pk(token_hash: str) -> str:
    return f"FILE_INVITE#{token_hash}"


FILE_INVITATION_DUE = "FILE_INVITATION_DUE"


def file_due_gsi2sk(day: str, firm_id: str, file_id: str, subject_type: str, subject_id: str) -> str:
    return f"{day}#{firm_id}#{file_id}#{subject_type}#{subject_id}"


FILE_ACCESS_PREFIX = "FILE_ACCESS#"


def file_access_sk(firm_id: str, file_id: str) -> str:
    return f"FILE_ACCESS#{firm_id}#{file_id}"


def account_email_pk(email_fingerprint: str) -> str:
    return f"ACCOUNT_EMAIL#{email_fingerprint}"


ACCOUNT = "ACCOUNT"


def import_state_sk(feed_id: str) -> str:
    return f"IMPORT#{feed_id}"


def budget_pk(provider_account_id: str, day: str) -> str:
    return f"BUDGET#{provider_account_id}#{day}"


BUDGET = "BUDGET"


def pace_pk(provider: str, resource: str) -> str:
    """#50: a provider's company-wide pace for one group of endpoints (`gocardless`, `accounts`)."""
    return f"RATE#{provider}#{resource}"


def pace_sk(minute: str) -> str:
    """#50: the UTC minute of the window, `2026-12-06T10:15`."""
    return minute


def rule_sk(rule_id: str) -> str:
    return f"RULE#{rule_id}"


RULE_PREFIX = "RULE#"


def unassigned_gsi2pk(firm_id: str, customer_id: str) -> str:
    return f"FIRM#{firm_id}#CUSTOMER#{customer_id}#UNASSIGNED"


# Data Refresh ----------------------------------------------------------------------------------
def eula_sk(version: str) -> str:
    return f"EULA#{version}"


REFRESH_ROW_PREFIX = "REFRESH#ROW#"


def refresh_row_sk(staff_id: str | None) -> str:
    return f"REFRESH#ROW#STAFF#{staff_id}" if staff_id else "REFRESH#ROW#ALL"


def refresh_rows_gsi1pk(firm_id: str, staff_id: str | None) -> str:
    scope = f"#STAFF#{staff_id}" if staff_id else ""
    return f"FIRM#{firm_id}{scope}#REFRESH"


def refresh_status_gsi2pk(firm_id: str, staff_id: str | None, bucket: str) -> str:
    return f"{refresh_rows_gsi1pk(firm_id, staff_id)}#{bucket}"


NEVER_UPLOADED = "-"  # sorts before every ISO time: never-uploaded rows come last, newest first


def refresh_row_sort(last_upload_iso: str | None, customer_id: str) -> str:
    return f"{last_upload_iso or NEVER_UPLOADED}#{customer_id}"


def refresh_row_sort_customer(sort: str) -> str:
    """The customer id at the end of a refresh_row_sort value (to resume a page)."""
    return sort.rsplit("#", 1)[-1]


def refresh_uploads_between(first_iso: str | None, last_iso: str | None) -> tuple[str, str]:
    """Bounds of a BETWEEN on refresh_row_sort (#38, #39): rows last uploaded from `first_iso`
    through `last_iso` (None: open on that side). Never-uploaded rows ("-") fall outside."""
    return first_iso or "0", (last_iso or "9") + "#\uffff"


def refresh_packages_sk(staff_id: str | None) -> str:
    return f"REFRESH_PACKAGES#STAFF#{staff_id}" if staff_id else "REFRESH_PACKAGES#ALL"


PACKAGE_COUNT_PREFIX = "n:"  # attribute names on a #70 item: the count of a package value
PACKAGE_SHOWN_PREFIX = "p:"  # and how to show it


def refresh_cap_pk(firm_id: str, customer_id: str, day: str) -> str:
    return f"FIRM#{firm_id}#ENGAGEMENT#{customer_id}#REFRESH_DAY#{day}"


REFRESH_CAP = "REFRESH_CAP"


def refresh_job_pk(firm_id: str, job_id: str) -> str:
    return f"FIRM#{firm_id}#REFRESH_JOB#{job_id}"


REFRESH_JOB = "JOB"
REFRESH_JOB_LISTED = "LISTED"  # the job's listing item (#44, #45): its counters stay on JOB


def refresh_jobs_gsi1pk(firm_id: str) -> str:
    return f"FIRM#{firm_id}#REFRESH_JOBS"


def refresh_jobs_by_gsi2pk(firm_id: str, staff_id: str) -> str:
    return f"FIRM#{firm_id}#STAFF#{staff_id}#REFRESH_JOBS"


REFRESH_OUTCOME_PREFIX = "ENGAGEMENT#"


def refresh_outcome_sk(customer_id: str) -> str:
    return f"ENGAGEMENT#{customer_id}"


# Staff invitations ----------------------------------------------------------------------------
STAFF_INVITE_PREFIX = "STAFF_INVITE#"


def staff_invite_sk(invitation_id: str) -> str:
    return f"STAFF_INVITE#{invitation_id}"


def staff_email_sk(email_fingerprint: str) -> str:
    return f"STAFF_EMAIL#{email_fingerprint}"


def staff_token_pk(token_hash: str) -> str:
    return f"STAFF_TOKEN#{token_hash}"


STAFF_INVITATION_DUE = "STAFF_INVITATION_DUE"


def staff_due_gsi2sk(day: str, firm_id: str, invitation_id: str) -> str:
    return f"{day}#{firm_id}#{invitation_id}"


# Consent expiry reminders (issue 16) -----------------------------------------------------------
def consent_expiry_gsi1pk(day: str) -> str:
    return f"CONSENT_EXPIRY#{day}"


def consent_expiry_gsi1sk(expires_iso: str, firm_id: str, customer_id: str, connection_id: str) -> str:
    return f"{expires_iso}#{firm_id}#{customer_id}#{connection_id}"


def consent_expiring_after(instant_iso: str) -> str:
    """Lower bound of `GSI1SK >= :after` (#65): expiries later than `instant_iso` (UTC ISO)."""
    return instant_iso


# Staff notifications and the daily digest (issue 16) ------------------------------------------
def notice_event_sk(event_fingerprint: str) -> str:
    return f"NOTICE_EVENT#{event_fingerprint}"


def notifications_between(first_id: str) -> tuple[str, str]:
    """Bounds of `SK BETWEEN` (#61): a person's notifications from id `first_id` on."""
    return notification_sk(first_id), f"{NOTIFICATION_PREFIX}\uffff"


DIGEST_PREFERENCE = "DIGEST_PREFERENCE"
DIGEST_DUE = "DIGEST_DUE"


def digest_due_gsi2sk(due_iso: str, user_id: str) -> str:
    return f"{due_iso}#{user_id}"


# Exports (issue 16 item 8) ------------------------------------------------------------------------
def export_pk(firm_id: str, export_id: str) -> str:
    return f"FIRM#{firm_id}#EXPORT#{export_id}"


EXPORT = "EXPORT"


def audit_between(first_day: date | None, last_day: date | None) -> tuple[str, str]:
    """Bounds of `SK BETWEEN` (#76) or `GSI1SK BETWEEN` (#77) on audit event ids (ULIDs, whose first
    48 bits are the event's millisecond): events from `first_day` 00:00 UTC through the end of
    `last_day` (None: open on that side)."""

    def ulid_at(day: date, randomness: bytes, at: time) -> str:
        millisecond = int(datetime.combine(day, at, tzinfo=UTC).timestamp() * 1000)
        return str(ULID.from_bytes(millisecond.to_bytes(6, "big") + randomness))

    low = ulid_at(first_day, bytes(10), time.min) if first_day else str(ULID.from_bytes(bytes(16)))
    high = ulid_at(last_day, b"\xff" * 10, time.max) if last_day else str(ULID.from_bytes(b"\xff" * 16))
    return low, high


# The firm's chart of accounts (ledger accounts) ------------------------------------------------
LEDGER_PREFIX = "LEDGER#"


def ledger_sk(code_key: str) -> str:
    return f"LEDGER#{code_key}"


# Search (issue 16) -----------------------------------------------------------------------------
def refresh_find_pk(firm_id: str, staff_id: str | None) -> str:
    """#55: the dashboard's search entries of a scope (the firm, or one staff member)."""
    scope = f"#STAFF#{staff_id}" if staff_id else ""
    return f"FIRM#{firm_id}{scope}#REFRESH_FIND"


def customer_find_pk(firm_id: str, staff_id: str | None) -> str:
    """#56: the customer list's search entries of a scope."""
    scope = f"#STAFF#{staff_id}" if staff_id else ""
    return f"FIRM#{firm_id}{scope}#CUSTOMER_FIND"


def find_entry_sk(token: str, customer_id: str) -> str:
    return f"{token}#{customer_id}"


def find_entry_token(sort_key: str) -> str:
    """The token of a search entry's sort key (tokens hold no "#")."""
    return sort_key.rsplit("#", 1)[0]


# The audit table (issue 17 item 3) -----------------------------------------------------------
AUDIT_LANES = 8  # chains per firm (#7): see the table's notes for the trade-off


def audit_pk(firm_id: str, *scope: str) -> str:
    """The firm's log (#8, #76, #99: GSI1PK), or a part of it named by `scope`, a path under it."""
    return "#".join((f"FIRM#{firm_id}#AUDIT", *scope))


def audit_lane_pk(firm_id: str, lane: int) -> str:
    """#7, #95, #96: one of the firm's chains."""
    return audit_pk(firm_id, "LANE", str(lane))


def audit_lane_of(partition_key: str) -> int:
    """The lane of an audit_lane_pk (ValueError if it is none)."""
    return int(partition_key.rsplit("#LANE#", 1)[1])


def audit_position_sk(position: int) -> str:
    """#7: a chain's position, zero-padded so that the sort key's order is the chain's."""
    return f"{position:012d}"


def audit_customer_pk(firm_id: str, customer_id: str, kind: str | None = None) -> str:
    """One customer's events (#9, #77: GSI2PK), or those of one kind (#98: GSI4PK)."""
    return audit_pk(firm_id, "CUSTOMER", customer_id, *(("KIND", kind) if kind else ()))


def audit_kind_pk(firm_id: str, kind: str) -> str:
    """#97 (GSI3PK): the firm's events of one kind."""
    return audit_pk(firm_id, "KIND", kind)


def audit_cursor(event_id: str, lane: int, position: int) -> str:
    """What a page of the audit log resumes from: the last event's id (the index's sort key) and its
    place in its chain (the table's key); the firm is the caller's, never the cursor's."""
    return f"{event_id}#{lane}#{position}"


def audit_cursor_parts(cursor: str) -> tuple[str, int, int]:
    """(event id, lane, position) of an audit_cursor; ValueError if it is none."""
    event_id, lane, position = cursor.split("#")
    if not event_id or not 0 <= int(lane) < AUDIT_LANES or int(position) < 0:
        raise ValueError(cursor)
    return event_id, int(lane), int(position)


# The data lifecycle (issue 17) -----------------------------------------------------------------
FIRM_SETTINGS = "SETTINGS"
ERASURE_DUE = "ERASURE_DUE"


def erasure_due_gsi2sk(day: str, firm_id: str, customer_id: str) -> str:
    return f"{day}#{firm_id}#{customer_id}"


def customer_notices_gsi1pk(firm_id: str, customer_id: str) -> str:
    return f"FIRM#{firm_id}#CUSTOMER#{customer_id}#NOTICES"


def customer_notice_gsi1sk(user_id: str, notification_id: str) -> str:
    return f"{user_id}#{notification_id}"


def customer_exports_gsi1pk(firm_id: str, customer_id: str) -> str:
    return f"FIRM#{firm_id}#CUSTOMER#{customer_id}#EXPORTS"


def customer_traces_gsi2pk(firm_id: str, customer_id: str) -> str:
    return f"FIRM#{firm_id}#CUSTOMER#{customer_id}#TRACES"


def customer_trace(firm_id: str, customer_id: str, pk: str) -> dict[str, str]:
    """#105: the GSI2 attributes of an item about a customer kept outside its collection (a lookup,
    a token, a grantee's link, a refresh outcome or cap), so that its erasure finds it by Query."""
    return {"GSI2PK": customer_traces_gsi2pk(firm_id, customer_id), "GSI2SK": pk}


# Abuse limits (issue 17 item 7) -------------------------------------------------------------------
def limit_pk(limit: str, subject_id: str, window_start: int) -> str:
    """#85: a limit's counter for one subject (a user, firm, connection id, or an email's SHA-256)
    in the window starting at `window_start` (epoch seconds)."""
    return f"LIMIT#{limit}#{subject_id}#{window_start}"


LIMIT = "LIMIT"
