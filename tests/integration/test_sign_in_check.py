"""Staff's second factor cannot be switched off behind our back (R-ID-4, issue 17), on moto.

moto does not invoke the user pool's triggers: the pre token generation trigger's handler
(`functions/sign_in_check`) is called here with the event Cognito documents (events/cognito/, V1 and V2,
sign-in and refresh), for a person of the spec's pool on moto who set TOTP up and confirmed it through
the API. Then a firm admin's reset of a member's lost authenticator, `POST /firm/staff/{user_id}/mfa/reset`,
against the same pool. The rules on in-memory ports: tests/unit/test_mfa_lapse_rules.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest

from functions.invitations_api import handler as invitations
from functions.platform_api import handler as platform
from functions.sign_in_check import handler as sign_in_check
from local.demo_data import DEMO_FIRM
from local.provision import ProvisionedUserPool
from shared import bootstrap
from shared.adapters.aws_clients import aws_client
from shared.adapters.cognito import CognitoDirectory
from shared.domain.identity import StaffMembership, StaffRole
from tests.conftest import FakeLambdaContext
from tests.integration.onboarding_support import ADMIN, ADVISER, OTHER_ADVISER, Person, call, seed_firms
from tests.integration.test_cognito_directory import assert_signed_out

EVENTS = Path(__file__).parents[2] / "events" / "cognito"
PASSWORD = "Correct-Horse-9!"
RESET = "/firm/staff/{user_id}/mfa/reset"
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


@pytest.fixture
def sam(user_pool: ProvisionedUserPool) -> Person:
    """An adviser of the demo firm with an authenticator app set up in the pool and confirmed with us."""
    seed_firms()
    user = CognitoDirectory(user_pool.user_pool_id).create_user("sam@example.org", PASSWORD)
    person = Person(user.user_id, "sam@example.org")
    bootstrap.identity_repository().put_membership(
        StaffMembership(DEMO_FIRM.firm_id, person.sub, StaffRole.ADVISER)
    )
    access = {"AccessToken": _sign_in(user_pool, person)["AccessToken"]}
    cognito = boto3.client("cognito-idp")
    cognito.associate_software_token(**access)
    cognito.verify_software_token(**access, UserCode="123456")  # moto checks codes only when told to
    _totp(access, enabled=True)
    assert call(platform, "POST", "/me/mfa/confirm", person)[0] == 200
    return person


def _sign_in(pool: ProvisionedUserPool, person: Person) -> dict[str, Any]:
    """A sign-in by the person's sub (moto's global sign-out revokes only those), answering the TOTP
    challenge when the pool asks for it."""
    cognito = boto3.client("cognito-idp")
    answer = cognito.admin_initiate_auth(
        UserPoolId=pool.user_pool_id,
        ClientId=pool.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": person.sub, "PASSWORD": PASSWORD},
    )
    if answer.get("ChallengeName") == "SOFTWARE_TOKEN_MFA":
        answer = cognito.admin_respond_to_auth_challenge(
            UserPoolId=pool.user_pool_id,
            ClientId=pool.client_id,
            ChallengeName="SOFTWARE_TOKEN_MFA",
            Session=answer["Session"],
            ChallengeResponses={"USERNAME": person.sub, "SOFTWARE_TOKEN_MFA_CODE": "123456"},
        )
    return dict(answer["AuthenticationResult"])


def _totp(access: dict[str, str], *, enabled: bool) -> None:
    """What the person's app (or anyone with their access token) does: TOTP on and preferred, or off."""
    boto3.client("cognito-idp").set_user_mfa_preference(
        **access, SoftwareTokenMfaSettings={"Enabled": enabled, "PreferredMfa": enabled}
    )


def token_issue(pool_id: str, person: Person, version: str = "v1", source: str | None = None) -> dict:
    """The documented pre token generation event for this person's sign-in (or refresh)."""
    event = json.loads((EVENTS / f"pre_token_generation_{version}.json").read_text(encoding="utf-8"))
    event["userPoolId"], event["userName"] = pool_id, person.sub
    event["request"]["userAttributes"].update(sub=person.sub, email=person.email)
    if source:
        event["triggerSource"] = source
    return event


def run_trigger(event: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = sign_in_check.lambda_handler(json.loads(json.dumps(event)), FakeLambdaContext())
    assert answer == event, "the trigger changes no claim and never refuses the token"
    return answer


@contextmanager
def aws_calls() -> Iterator[list[str]]:
    """The DynamoDB and Cognito operations the functions' clients send meanwhile."""
    seen: list[str] = []

    def record(model: Any, **_: Any) -> None:
        seen.append(f"{model.service_model.service_name}:{model.name}")

    clients = [aws_client("dynamodb"), aws_client("cognito-idp")]
    for client in clients:
        client.meta.events.register("before-call", record)
    try:
        yield seen
    finally:
        for client in clients:
            client.meta.events.unregister("before-call", record)


def staff_events(action: str) -> list[Any]:
    events, _ = bootstrap.audit_log().page(DEMO_FIRM.firm_id, kind="staff", limit=100)
    return [e for e in events if e.action == action]


def mfa_record(person: Person) -> Any:
    return bootstrap.identity_repository().get_mfa_enrolment(person.sub)


# the trigger -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("version", "source"),
    [
        ("v1", "TokenGeneration_Authentication"),
        ("v1", "TokenGeneration_RefreshTokens"),
        ("v2", "TokenGeneration_HostedAuth"),
        ("v2", "TokenGeneration_RefreshTokens"),
    ],
)
def test_totp_switched_off_with_their_own_token_lapses_the_record_at_the_next_token(
    user_pool, sam, version, source
):
    assert call(invitations, "GET", "/customers", sam)[0] == 200
    _totp({"AccessToken": _sign_in(user_pool, sam)["AccessToken"]}, enabled=False)  # behind our back

    run_trigger(token_issue(user_pool.user_pool_id, sam, version, source))

    assert mfa_record(sam) is None
    [lapsed] = staff_events("staff.mfa_lapsed")
    assert (lapsed.actor_id, lapsed.target_id, lapsed.details) == (
        sam.sub,
        sam.sub,
        {"method": "totp", "reason": "totp_off"},
    )
    status, body = call(invitations, "GET", "/customers", sam)
    assert (status, body["code"]) == (403, "mfa_required")
    assert call(platform, "GET", "/me", sam)[1]["mfa_enrolled"] is False  # the app guides them back


def test_totp_still_on_costs_one_read_of_ours_one_of_the_pool_and_no_write(user_pool, sam):
    with aws_calls() as seen:
        run_trigger(token_issue(user_pool.user_pool_id, sam))
    assert seen == ["dynamodb:GetItem", "cognito-idp:AdminGetUser"]
    assert mfa_record(sam) is not None and staff_events("staff.mfa_lapsed") == []


def test_a_customer_costs_one_read_of_ours_and_nothing_of_the_pool(user_pool):
    seed_firms()
    customer = Person("customer-sub-without-mfa", "customer@example.org")
    with aws_calls() as seen:
        run_trigger(token_issue(user_pool.user_pool_id, customer, "v2", "TokenGeneration_Authentication"))
    assert seen == ["dynamodb:GetItem"]


def test_a_pool_that_cannot_be_read_fails_closed_for_staff_and_issues_the_token(user_pool, sam):
    run_trigger(token_issue("eu-west-2_NoSuchPool", sam))  # AdminGetUser: ResourceNotFoundException
    assert mfa_record(sam) is None
    [lapsed] = staff_events("staff.mfa_lapsed")
    assert lapsed.details == {"method": "totp", "reason": "pool_unreadable"}
    assert call(invitations, "GET", "/customers", sam)[1]["code"] == "mfa_required"


def test_when_our_own_table_fails_the_token_is_still_issued_and_the_failure_counted(
    user_pool, sam, monkeypatch, capsys
):
    def unreachable(*_: Any, **__: Any) -> Any:
        raise RuntimeError("the table is unreachable")

    monkeypatch.setattr(bootstrap.identity_repository(), "get_mfa_enrolment", unreachable)
    run_trigger(token_issue(user_pool.user_pool_id, sam))
    assert '"SignInChecksFailed"' in capsys.readouterr().out  # the metric; the check runs at the next token


def test_re_enrolling_after_a_lapse_is_the_ordinary_confirmation(user_pool, sam):
    access = {"AccessToken": _sign_in(user_pool, sam)["AccessToken"]}
    _totp(access, enabled=False)
    run_trigger(token_issue(user_pool.user_pool_id, sam))
    _totp(access, enabled=True)
    assert call(platform, "POST", "/me/mfa/confirm", sam)[0] == 200
    assert call(invitations, "GET", "/customers", sam)[0] == 200
    assert len(staff_events("staff.mfa_enrolled")) == 2


# an admin's reset ----------------------------------------------------------------------------------
def test_an_admin_resets_a_lost_authenticator_audited_signed_out_and_back_to_a_password(user_pool, sam):
    refresh_token = _sign_in(user_pool, sam)["RefreshToken"]

    status, body = call(invitations, "POST", RESET, ADMIN, path_parameters={"user_id": sam.sub})

    assert (status, body) == (200, {"user_id": sam.sub, "mfa_enrolled": False, "record_removed": True})
    assert mfa_record(sam) is None
    assert CognitoDirectory(user_pool.user_pool_id).totp_enabled(sam.sub) is False
    [reset] = staff_events("staff.mfa_reset")
    assert (reset.actor_id, reset.target_id, reset.details) == (ADMIN.sub, sam.sub, {"method": "totp"})
    assert_signed_out(user_pool, refresh_token)  # everywhere
    assert _sign_in(user_pool, sam)["IdToken"]  # a password alone now: they set up a new app
    assert call(invitations, "GET", "/customers", sam)[1]["code"] == "mfa_required"

    again = call(invitations, "POST", RESET, ADMIN, path_parameters={"user_id": sam.sub})
    assert again == (200, {"user_id": sam.sub, "mfa_enrolled": False, "record_removed": False})
    assert len(staff_events("staff.mfa_reset")) == 1  # nothing changed in our records: no second event


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        (ADVISER, (403, "forbidden")),  # advisers do not administer staff
        (OTHER_ADVISER, (404, "not_found")),  # another firm's admin: Sam is nobody there
    ],
    ids=["adviser", "other_firm_admin"],
)
def test_only_an_admin_of_the_members_firm_resets_it(user_pool, sam, caller, expected):
    status, body = call(invitations, "POST", RESET, caller, path_parameters={"user_id": sam.sub})
    assert (status, body["code"]) == expected
    assert mfa_record(sam) is not None
    assert CognitoDirectory(user_pool.user_pool_id).totp_enabled(sam.sub) is True
    assert staff_events("staff.mfa_reset") == []


def test_an_admin_does_not_reset_their_own(user_pool, sam):
    status, body = call(invitations, "POST", RESET, ADMIN, path_parameters={"user_id": ADMIN.sub})
    assert (status, body["code"]) == (409, "own_mfa_reset")
    assert mfa_record(Person(ADMIN.sub, ADMIN.email)) is not None
