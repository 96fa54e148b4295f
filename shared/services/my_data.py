"""The customer's own view ("My Data", seeds 000 and 004): the accounts they shared and the
connections they made, per firm they are a customer of, with what each firm decided about each
account (R-INV-6) and when its data was last updated (R-CON-9).

The firms come from the person's customer records (access pattern 6), each checked to be theirs
(one batch read, #10); a firm's accounts (#17) and connections (#21) are read on ports bound to
that firm. Each account and connection says whether its data is historical: the firm-local day
its consent ended (R-PRIV-1, `consent_history`), from the connections (for accounts, one more
Query per firm with accounts) and the firms' time zones this page read anyway. Someone with no
customer record (firm staff, a grantee) gets an empty page, as every other `/me/*` list answers
them. A page holds at most `MAX_FIRMS_PER_PAGE` firms, in firm-id order; its cursor is the last
firm of the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from shared.auth import customer_records
from shared.domain.accounts import SharedAccount
from shared.domain.connections import Connection, consent_end_days
from shared.domain.identity import CustomerLink, Principal
from shared.ports.firm_bound import bind_ports
from shared.services.connections import ConnectionsPorts, my_connections
from shared.services.consent_history import FALLBACK_TIMEZONE, Listed

MAX_FIRMS_PER_PAGE = 25  # a firm costs one Query: a page stays well under a second


@dataclass(frozen=True)
class MyFirm:
    firm_id: str
    firm_name: str
    links: tuple[CustomerLink, ...]  # the person's customer record(s) in this firm (normally one)
    timezone: str = "UTC"  # the firm's: its days are the days shown


@dataclass(frozen=True)
class FirmAccounts:
    firm: MyFirm
    accounts: list[SharedAccount]
    # connection id -> the firm-local day its consent ended: its accounts are historical (R-PRIV-1)
    ended_on: dict[str, date] = field(default_factory=dict)


@dataclass(frozen=True)
class FirmConnections:
    firm: MyFirm
    connections: list[Connection]
    ended_on: dict[str, date] = field(default_factory=dict)  # as FirmAccounts'


def my_firms(
    ports: ConnectionsPorts, principal: Principal, *, cursor: str | None, limit: int
) -> tuple[list[MyFirm], str | None]:
    """The firms the person is a customer of after `cursor`, `limit` of them, and the next cursor."""
    user_id = principal.user_id
    links = [
        link
        for link in ports.identities.list_customer_links(user_id)
        if cursor is None or link.firm_id > cursor
    ]
    firm_ids = sorted({link.firm_id for link in links})
    page = firm_ids[:limit]
    chosen = [link for link in links if link.firm_id in page]
    theirs = [
        CustomerLink(c.firm_id, c.customer_id) for c in customer_records(principal, ports.customers, chosen)
    ]
    firms = ports.identities.get_firms(page)
    found = [
        MyFirm(
            firm_id,
            firms[firm_id].name,
            tuple(link for link in theirs if link.firm_id == firm_id),
            firms[firm_id].timezone,
        )
        for firm_id in page
        if firm_id in firms
    ]
    next_cursor = page[-1] if len(firm_ids) > limit else None
    return [firm for firm in found if firm.links], next_cursor


def my_accounts(
    ports: ConnectionsPorts, principal: Principal, *, cursor: str | None, limit: int
) -> tuple[list[FirmAccounts], str | None]:
    """Every account the person shared, per firm, whatever the firm decided (new, accepted or
    declined), each historical when its connection's consent ended: one Query per customer record,
    and one for its connections when it has accounts."""
    firms, next_cursor = my_firms(ports, principal, cursor=cursor, limit=limit)
    found = []
    now = ports.clock()
    for firm in firms:
        bound = bind_ports(ports, firm.firm_id)
        shared, feeding = [], []
        for link in firm.links:
            accounts = bound.accounts.list_for_customer(firm.firm_id, link.customer_id)
            shared += accounts
            feeding += bound.connections.list_for_customer(firm.firm_id, link.customer_id) if accounts else []
        found.append(FirmAccounts(firm, shared, consent_end_days(feeding, now, firm.timezone)))
    return found, next_cursor


def my_connections_by_firm(
    ports: ConnectionsPorts, principal: Principal, *, cursor: str | None, limit: int
) -> tuple[list[FirmConnections], str | None]:
    """The person's connections, per firm: `connections.my_connections` over a page of firms."""
    firms, next_cursor = my_firms(ports, principal, cursor=cursor, limit=limit)
    mine = my_connections(ports, principal, [link for firm in firms for link in firm.links])
    now = ports.clock()
    found = []
    for firm in firms:
        theirs = [c for c in mine if c.firm_id == firm.firm_id]
        found.append(FirmConnections(firm, theirs, consent_end_days(theirs, now, firm.timezone)))
    return found, next_cursor


def my_connections_listed(ports: ConnectionsPorts, principal: Principal) -> Listed[Connection]:
    """`GET /connections`: the person's connections in every firm (`connections.my_connections`),
    each historical or live in its firm's calendar (the firms read in one batch, only when a
    consent ended)."""
    mine = my_connections(ports, principal)
    now = ports.clock()
    ended = [c for c in mine if c.consent_ended(now) is not None]
    firms = ports.identities.get_firms(sorted({c.firm_id for c in ended})) if ended else {}
    days: dict[str, date] = {}
    for firm_id in {c.firm_id for c in ended}:
        zone = firms[firm_id].timezone if firm_id in firms else FALLBACK_TIMEZONE
        days |= consent_end_days([c for c in ended if c.firm_id == firm_id], now, zone)
    return Listed(mine, days)
