"""Contract fuzzing (issue 8): schemathesis against the OpenAPI document the local system serves.

`python -m local` runs as a subprocess (tests/local_system_support.py); schemathesis loads
/openapi.json from it and runs its engine (as `schemathesis run` does) over every operation, once with
the demo firm's admin token and once with the demo customer's, valid and invalid inputs alike. What
must hold for every response:

- 5xx = 0: no input, however malformed, makes the API fail;
- schema violations = 0: the status code is documented for the operation, and the content type, the
  body and the headers match what the document says for it.

Profiles (`FUZZ_PROFILE`): `quick` (in `make test`, about a minute: a fixed seed, a few valid and
invalid examples per operation) and `long` (`make fuzz`: many examples, a random seed unless `FUZZ_SEED`
is set, plus the coverage phase, which walks every parameter's boundaries and wrong types, and the
stateful phase, which chains operations through the links schemathesis infers).

Checks left out on purpose: `unsupported_method` (it wants 405 for an undeclared method; API Gateway
answers 404, as the local gateway does), `positive_data_acceptance` (an opaque cursor or an unknown
enum-like filter cannot be described by the schema, and is a 400 by design), `negative_data_rejection`,
`ignored_auth`, `use_after_free` and `ensure_resource_availability` (covered by the cross-tenant and
role matrices, which know our 404 rules), `missing_required_header`, `allow_header_conformance`.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from local.demo_data import DEFAULT_TOKEN_USER, DEMO_USERS
from tests.local_system_support import LocalProcess, http_call, http_get, local_token, running_local_system

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Profile:
    max_examples: int
    phases: tuple[str, ...]
    seed: int | None  # None: a fresh random seed, printed with the figures


PROFILES = {
    "quick": Profile(max_examples=4, phases=("examples", "fuzzing"), seed=20261122),
    "long": Profile(max_examples=50, phases=("examples", "coverage", "fuzzing", "stateful"), seed=None),
}
SERVER_ERROR_CHECK = "not_a_server_error"
SCHEMA_CHECKS = (
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)
CUSTOMER = next(user.email for user in DEMO_USERS if user.role == "customer")
IDENTITIES = (DEFAULT_TOKEN_USER, CUSTOMER)  # the demo firm's admin, then its customer
SHOWN_FAILURES = 20
SCHEMA_OPERATION = "GET /openapi.json"


def profile() -> tuple[str, Profile]:
    name = os.environ.get("FUZZ_PROFILE", "quick")
    if name not in PROFILES:
        raise pytest.UsageError(f"FUZZ_PROFILE={name!r}: one of {sorted(PROFILES)}")
    chosen = PROFILES[name]
    if seed := os.environ.get("FUZZ_SEED"):
        chosen = Profile(chosen.max_examples, chosen.phases, int(seed))
    return name, chosen


@dataclass
class FuzzResult:
    operations: set[str] = field(default_factory=set)
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    schema_violations: list[str] = field(default_factory=list)
    engine_errors: list[str] = field(default_factory=list)
    stop_reason: str = ""


def fuzz(local: LocalProcess, email: str, chosen: Profile, seed: int) -> FuzzResult:
    """One schemathesis engine run over every operation, authenticated as `email`."""
    import schemathesis
    from schemathesis.config import CacheConfig, SchemathesisConfig
    from schemathesis.engine import events, from_schema

    # No crash cache (`.schemathesis/`) and no example database: nothing is written into the working
    # tree, and the seed alone decides the run.
    config = SchemathesisConfig(seed=seed, cache=CacheConfig(enabled=False))
    schema = schemathesis.openapi.from_url(f"{local.base_url}/openapi.json", config=config)
    schema.config.update(
        base_url=local.base_url,
        headers={"Authorization": f"Bearer {local_token(local.port, email)}"},
        workers=1,
        request_timeout=30,
    )
    schema.config.phases.update(phases=list(chosen.phases))
    schema.config.checks.update(included_check_names=[SERVER_ERROR_CHECK, *SCHEMA_CHECKS])
    schema.config.generation.update(max_examples=chosen.max_examples, database="none", no_shrink=True)

    result = FuzzResult()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            record_scenario(result, event.recorder)
        elif isinstance(event, events.NonFatalError):
            result.engine_errors.append(f"{event.label}: {event.info.title}")
        elif isinstance(event, events.FatalError):
            result.engine_errors.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            result.stop_reason = str(event.stop_reason)
    return result


def record_scenario(result: FuzzResult, recorder) -> None:
    result.operations.add(recorder.label)
    for case_id, interaction in recorder.interactions.items():
        result.cases += 1
        request = interaction.request
        status = interaction.response.status_code if interaction.response is not None else 0
        result.statuses[status] += 1
        where = f"{request.method} {request.uri.split('?', 1)[0]} -> {status}"
        if status >= 500:
            result.server_errors.append(f"{recorder.label}: {where}")
        for check in recorder.checks.get(case_id, ()):
            if check.failure_info is not None and check.name in SCHEMA_CHECKS:
                title = check.failure_info.failure.title
                result.schema_violations.append(f"{recorder.label}: {check.name} ({title}) on {where}")


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProcess]:
    with running_local_system(tmp_path_factory.mktemp("contract-fuzz")) as running:
        yield running


def test_contract_fuzz_finds_no_server_error_and_no_schema_violation(local, bar):
    name, chosen = profile()
    seed = chosen.seed if chosen.seed is not None else random.SystemRandom().getrandbits(32)
    runs = [fuzz(local, email, chosen, seed) for email in IDENTITIES]

    operations = set().union(*(run.operations for run in runs))
    cases = sum(run.cases for run in runs)
    server_errors = [error for run in runs for error in run.server_errors]
    violations = [violation for run in runs for violation in run.schema_violations]
    engine_errors = [error for run in runs for error in run.engine_errors]
    statuses = sum((run.statuses for run in runs), Counter())
    bar(
        "contract fuzz",
        operations=len(operations),
        cases=cases,
        **{"5xx": len(server_errors)},
        schema_violations=len(violations),
        engine_errors=len(engine_errors),
        identities=len(runs),
        profile=name,
        seed=seed,
    )
    print(f"statuses: {dict(sorted(statuses.items()))}; stopped: {[run.stop_reason for run in runs]}")

    # Schemathesis leaves out the operation that serves the document it loaded (GET /openapi.json),
    # except in the stateful phase.
    documented = document_operations(local) - {SCHEMA_OPERATION}
    assert documented <= operations, f"not exercised: {sorted(documented - operations)}"
    assert all(run.stop_reason == "completed" for run in runs), [run.stop_reason for run in runs]
    assert engine_errors == [], engine_errors[:SHOWN_FAILURES]
    assert server_errors == [], "\n".join([*server_errors[:SHOWN_FAILURES], server_log_errors(local)])
    assert violations == [], "\n".join(violations[:SHOWN_FAILURES])
    assert statuses[200] > 0 and statuses[400] > 0  # valid and invalid inputs both reached the handlers


def served_document(local: LocalProcess) -> dict:
    status, document = http_get(local.port, "/openapi.json")
    assert status == 200
    return document


def document_operations(local: LocalProcess) -> set[str]:
    document = served_document(local)
    return {f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item}


# Bodies our JSON routes cannot read, each with the Content-Type it is sent with: the fuzzer's coverage
# phase (long profile) finds these; they are checked here on every operation in every run.
UNREADABLE_BODIES = {
    "not UTF-8": ("application/json", b"\xff\xfe{"),
    "text/plain": ("text/plain", b"{}"),
    "multipart without boundary": ("multipart/form-data", b"--x--"),
}


def test_an_unreadable_body_is_a_documented_400_on_every_operation_that_takes_one(local, bar):
    """Powertools reads the body before any route runs; what it cannot read is the caller's error."""
    token = local_token(local.port)
    document = served_document(local)
    operations = [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    ]
    answers: Counter[int] = Counter()
    wrong: list[str] = []
    for method, path, operation in operations:
        concrete = re.sub(r"\{[^}]+\}", "01JNOSUCHID0000000000000000", path)
        headers = {} if operation["security"] == [] else {"Authorization": f"Bearer {token}"}
        for name, (content_type, body) in UNREADABLE_BODIES.items():
            status, payload = http_call(
                local.port, method, concrete, body, {**headers, "Content-Type": content_type}
            )
            answers[status] += 1
            error = json.loads(payload) if payload.startswith(b"{") else {}
            if status != 400 or error.get("code") != "invalid_request" or "400" not in operation["responses"]:
                wrong.append(f"{method} {path} ({name}): {status} {payload[:120]!r}")
    server_errors = sum(count for status, count in answers.items() if status >= 500)
    bar(
        "contract unreadable bodies",
        operations=len(operations),
        requests=sum(answers.values()),
        **{"5xx": server_errors},
        not_400=len(wrong),
    )
    assert len(operations) > 20  # every create and change takes a body
    assert server_errors == 0 and wrong == [], "\n".join(wrong[:SHOWN_FAILURES])


def server_log_errors(local: LocalProcess) -> str:
    """The exception names the local system logged (Powertools' JSON lines), for the failure message."""
    marker = '"exception_name":"'
    names = [
        line.split(marker, 1)[1].split('"', 1)[0] for line in local.output().splitlines() if marker in line
    ]
    return f"logged exceptions: {Counter(names)}" if names else ""
