"""Staff without a second factor (R-ID-4, issue 17 item 6), on every route of infra/spec.py.

Generated from the routes and the role matrix's rules (tests/reliability/test_role_matrix.py, written
in terms of shared/auth.py FIRM_POLICY and the file policy): each staff role of firm A's world, with
their MFA enrolment removed from our records, calls every route. Where the role matrix allows the
role only because they are staff (the same person without their staff membership would be refused),
the answer must be 403 `mfa_required`; where anyone signed in is allowed (`GET /me`, their own lists),
it must still succeed; the enrolment route itself must answer, so the app can guide them. A new route
or a new staff role is covered without editing this test.
"""

from __future__ import annotations

from dataclasses import replace

from infra.spec import ROUTES
from shared import bootstrap
from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import dynamodb_client, to_item
from shared.domain.file_access import CallerKind
from tests.integration.aggregator_sandboxes import sandboxes
from tests.reliability.matrix_support import Checkpoint, ask, build_world, key, matrix_directory
from tests.reliability.test_role_matrix import ROLES, RULES, Role

__all__ = ["matrix_directory", "sandboxes"]

ENROLMENT = "POST /me/mfa/confirm"  # answers without the second factor: it is how one gets it on record


def as_not_staff(role: Role) -> Role:
    """The same person without a staff membership: what they may do just by being signed in."""
    return replace(
        role, staff_role=None, sees_customer=False, requested_job=False, file_kind=CallerKind.STRANGER
    )


def test_staff_without_a_second_factor_reach_only_what_they_reach_as_anyone(sandboxes, bar, matrix_directory):
    world = build_world(sandboxes)
    staff_roles = [role for role in ROLES if role.staff_role is not None]
    pool = bootstrap.onboarding().directory  # the user pool in memory (build_world)
    for role in staff_roles:
        assert role.person is not None
        key_of = {"PK": keys.user_pk(role.person.sub), "SK": keys.MFA}
        dynamodb_client().delete_item(TableName="data", Key=to_item(key_of), ReturnValues="ALL_OLD")[
            "Attributes"
        ]
        pool.add(role.person.sub, role.person.email)
        pool.totp.add(role.person.sub)  # enrolled in the pool: confirming works
    checkpoint = Checkpoint(sandboxes)
    wrong: list[str] = []
    refused = answered = 0
    for route in (r for r in ROUTES if not r.public):
        k = key(route)
        for role in staff_roles:
            answer = ask(world.a, route, role.person)
            if k == ENROLMENT:
                expected = "2xx"
            elif RULES[k](as_not_staff(role)):
                expected = "2xx"  # open to anyone signed in: staff without a second factor too
            elif RULES[k](role):
                expected = "mfa_required"  # staff-only, and allowed to this role once enrolled
            else:
                expected = "refused"  # refused to this role anyway (the reason may now be mfa_required)
            code = (answer.json or {}).get("code") if not answer.ok else None
            if expected == "mfa_required":
                refused += 1
                if (answer.status, code) != (403, "mfa_required"):
                    wrong.append(f"{role.name} {k}: {answer.status} {answer.body[:200]}")
            elif (expected == "2xx") != answer.ok:
                wrong.append(f"{role.name} {k}: expected {expected}, got {answer.status} {answer.body[:200]}")
            answered += expected == "2xx"
            checkpoint.after(route, answer)
    bar(
        "staff mfa",
        staff_roles=len(staff_roles),
        routes=len(ROUTES),
        refused_mfa_required=refused,
        answered_without_mfa=answered,
        unexpected=len(wrong),
    )
    assert refused > 0 and answered > 0
    assert not wrong, "\n".join(wrong)
