"""The customer's own view ("My Data", seeds 000 and 004): the accounts they shared and the
connections they made, per firm they are a customer of, with what each firm decided about each
account (R-INV-6) and when its data was last updated (R-CON-9).

The firms come from the person's customer records (access pattern 6), each checked to be theirs
(one batch read, #10); a firm's accounts (#17) and connections (#21) are read on ports bound to
that firm. Someone with no customer record (firm staff, a grantee) gets an empty page, as every
other `/me/*` list answers them. A page holds at most `MAX_FIRMS_PER_PAGE` firms, in firm-id
order; its cursor is the last firm of the page.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.auth import customer_records
from shared.domain.accounts import SharedAccount
from shared.domain.connections import Connection
from shared.domain.identity import CustomerLink, Principal
from shared.ports.firm_bound import bind_ports
from shared.services.connections import ConnectionsPorts, my_connections

MAX_FIRMS_PER_PAGE = 25  # a firm costs one Query: a page stays well under a second


@dataclass(frozen=True)
class MyFirm:
    firm_id: str
    firm_name: str
    links: tuple[CustomerLink, ...]  # the person's customer record(s) in this firm (normally one)


@dataclass(frozen=True)
class FirmAccounts:
    firm: MyFirm
    accounts: list[SharedAccount]


@dataclass(frozen=True)
class FirmConnections:
    firm: MyFirm
    connections: list[Connection]


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
        MyFirm(firm_id, firms[firm_id].name, tuple(link for link in theirs if link.firm_id == firm_id))
        for firm_id in page
        if firm_id in firms
    ]
    next_cursor = page[-1] if len(firm_ids) > limit else None
    return [firm for firm in found if firm.links], next_cursor


def my_accounts(
    ports: ConnectionsPorts, principal: Principal, *, cursor: str | None, limit: int
) -> tuple[list[FirmAccounts], str | None]:
    """Every account the person shared, per firm, whatever the firm decided (new, accepted or
    declined): one Query per customer record."""
    firms, next_cursor = my_firms(ports, principal, cursor=cursor, limit=limit)
    found = []
    for firm in firms:
        accounts = bind_ports(ports, firm.firm_id).accounts
        shared = [
            a for link in firm.links for a in accounts.list_for_customer(firm.firm_id, link.customer_id)
        ]
        found.append(FirmAccounts(firm, shared))
    return found, next_cursor


def my_connections_by_firm(
    ports: ConnectionsPorts, principal: Principal, *, cursor: str | None, limit: int
) -> tuple[list[FirmConnections], str | None]:
    """The person's connections, per firm: `connections.my_connections` over a page of firms."""
    firms, next_cursor = my_firms(ports, principal, cursor=cursor, limit=limit)
    mine = my_connections(ports, principal, [link for firm in firms for link in firm.links])
    return [
        FirmConnections(firm, [c for c in mine if c.firm_id == firm.firm_id]) for firm in firms
    ], next_cursor
