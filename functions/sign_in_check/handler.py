"""The user pool's pre token generation trigger (issue 17, R-ID-4): before the pool issues tokens (a
sign-in, through any flow, or a refresh), one use case checks that a staff member's record of a TOTP
second factor still holds (`services/mfa.check_at_token_issue`). The event goes back unchanged: no
claim is added or removed, and no token is ever refused here (customers have no second factor). A
check that fails (our own table unreachable; the pool unreachable is handled by the use case, which
fails closed) is logged and counted, and runs again at the next token issue."""

from typing import Any

from aws_lambda_powertools.utilities.data_classes.cognito_user_pool_event import (
    PreTokenGenerationTriggerEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import bootstrap
from shared.domain.mfa import SignInCheck
from shared.observability import logger, metrics, tracer
from shared.services.mfa import check_at_token_issue


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    trigger = PreTokenGenerationTriggerEvent(event)
    user_id = trigger.request.user_attributes.get("sub") or trigger.user_name
    try:
        outcome = check_at_token_issue(bootstrap.sign_in_check(trigger.user_pool_id), user_id)
    except Exception:
        logger.exception("Second-factor check failed", extra={"trigger": trigger.trigger_source})
        metrics.add_metric(name="SignInChecksFailed", unit="Count", value=1)
        return event
    logger.info(
        "Second-factor check",
        extra={"outcome": outcome.value, "user_id": user_id, "trigger": trigger.trigger_source},
    )
    if outcome is SignInCheck.LAPSED:
        metrics.add_metric(name="StaffMfaLapsed", unit="Count", value=1)
    return event
