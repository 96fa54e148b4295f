"""Plaid webhook verification as Plaid documents it (R-CON-5), with the local sandbox's signing
keys (and keys of our own for forgeries), and the event key used for deduplication."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm

from local.sandbox.plaid import SANDBOX_CLIENT_ID, SANDBOX_SECRET, PlaidSandbox
from shared.adapters.aggregator.credentials import static_source
from shared.adapters.aggregator.http_client import RetryPolicy
from shared.adapters.aggregator.plaid import PlaidAdapter
from shared.adapters.aggregator.plaid_webhook_events import webhook_event_key
from shared.adapters.aggregator.plaid_webhooks import (
    MAX_KEY_FETCHES,
    PlaidWebhookVerifier,
    UnknownVerificationKey,
    WebhookRejected,
    plaid_key_fetcher,
)
from shared.domain.aggregator import AggregatorUnavailable

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
BODY = json.dumps(
    {
        "webhook_type": "TRANSACTIONS",
        "webhook_code": "SYNC_UPDATES_AVAILABLE",
        "item_id": "wz666MBjYWTp2PDzzggYhM6oWWmBb",
        "initial_update_complete": True,
        "historical_update_complete": False,
        "environment": "sandbox",
    },
    indent=2,  # as Plaid sends it: the hash covers the exact bytes, whitespace included
).encode()


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Keys:
    """A key fetcher over a table of JWKs that records every call; unknown kids raise."""

    def __init__(self, jwks: Mapping[str, Mapping[str, Any]]) -> None:
        self.jwks = dict(jwks)
        self.calls: list[str] = []
        self.failure: Exception | None = None

    def __call__(self, kid: str) -> Mapping[str, Any]:
        self.calls.append(kid)
        if self.failure is not None:
            failure, self.failure = self.failure, None
            raise failure
        if kid not in self.jwks:
            raise UnknownVerificationKey(kid)
        return self.jwks[kid]


@pytest.fixture
def signing_clock() -> Clock:
    return Clock()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(signing_clock: Clock) -> PlaidSandbox:
    return PlaidSandbox(clock=signing_clock)


@pytest.fixture
def keys(sandbox: PlaidSandbox) -> Keys:
    return Keys({kid: sandbox.public_jwk(kid) for kid in (sandbox.signing_key_id, sandbox.expired_key_id)})


@pytest.fixture
def verifier(keys: Keys, clock: Clock) -> PlaidWebhookVerifier:
    return PlaidWebhookVerifier(keys, clock=clock)


def headers_for(token: str, name: str = "Plaid-Verification") -> dict[str, str]:
    return {"Content-Type": "application/json", name: token}


def rejected(verifier: PlaidWebhookVerifier, headers: Mapping[str, str], body: bytes = BODY) -> str:
    with pytest.raises(WebhookRejected) as caught:
        verifier.verify(headers, body)
    return caught.value.reason


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    """A compact JWS built by hand: libraries refuse to make most of these forgeries."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


def claims_for(body: bytes = BODY, at: datetime = NOW) -> dict[str, Any]:
    return {"iat": int(at.timestamp()), "request_body_sha256": hashlib.sha256(body).hexdigest()}


def own_key() -> tuple[ec.EllipticCurvePrivateKey, dict[str, Any]]:
    """A P-256 key of our own and its public JWK, shaped like Plaid's."""
    private = ec.generate_private_key(ec.SECP256R1())
    public: dict[str, Any] = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    return private, {**public, "alg": "ES256", "use": "sig", "created_at": 1735689600, "expired_at": None}


def es256(private: ec.EllipticCurvePrivateKey, kid: str, claims: dict[str, Any]) -> str:
    return jwt.encode(claims, private, algorithm="ES256", headers={"kid": kid, "typ": "JWT"})


# --------------------------------------------------------------------------- accepted


def test_a_webhook_signed_by_the_sandbox_is_accepted(verifier, sandbox, keys):
    verifier.verify(headers_for(sandbox.sign_body(BODY)), BODY)
    assert keys.calls == [sandbox.signing_key_id]


def test_a_webhook_the_sandbox_delivers_is_accepted(signing_clock, clock):
    """End to end: a webhook the sandbox fires, verified with the key its endpoint serves,
    fetched through the Plaid adapter."""
    delivered: list[tuple[dict[str, str], bytes]] = []
    sandbox = PlaidSandbox(clock=signing_clock, deliver_webhook=lambda _url, h, b: delivered.append((h, b)))
    adapter = sandbox_adapter(sandbox)
    access_token = link_item(adapter, sandbox)
    call(
        sandbox,
        "/sandbox/item/fire_webhook",
        {"access_token": access_token, "webhook_code": "DEFAULT_UPDATE"},
    )
    assert delivered
    verifier = PlaidWebhookVerifier(plaid_key_fetcher(adapter), clock=clock)
    for headers, body in delivered:
        verifier.verify(headers, body)


@pytest.mark.parametrize(
    "name", ["Plaid-Verification", "plaid-verification", "PLAID-VERIFICATION", "pLaId-VeRiFiCaTiOn"]
)
def test_the_header_name_is_read_case_insensitively(verifier, sandbox, name):
    verifier.verify(headers_for(sandbox.sign_body(BODY), name), BODY)


def test_headers_may_be_a_case_insensitive_mapping(verifier, sandbox):
    verifier.verify(httpx.Headers({"plaid-verification": sandbox.sign_body(BODY)}), BODY)


def test_the_same_value_under_two_spellings_is_accepted_but_two_values_are_not(verifier, sandbox):
    token = sandbox.sign_body(BODY)
    verifier.verify({"Plaid-Verification": token, "plaid-verification": token}, BODY)
    other = sandbox.sign_body(b"{}")
    assert (
        rejected(verifier, {"Plaid-Verification": token, "plaid-verification": other}) == "header_ambiguous"
    )


# --------------------------------------------------------------------------- body


def test_a_body_tampered_by_one_byte_is_rejected(verifier, sandbox):
    token = sandbox.sign_body(BODY)
    tampered = bytearray(BODY)
    tampered[BODY.index(b"false")] = ord("F")
    assert rejected(verifier, headers_for(token), bytes(tampered)) == "body_hash_mismatch"


def test_reformatted_json_is_not_the_signed_body(verifier, sandbox):
    """The hash covers the raw bytes: re-serialising the parsed JSON does not match."""
    token = sandbox.sign_body(BODY)
    compact = json.dumps(json.loads(BODY)).encode()
    assert rejected(verifier, headers_for(token), compact) == "body_hash_mismatch"


def test_a_token_signed_for_another_body_is_rejected(verifier, sandbox):
    token = sandbox.sign_body(b'{"webhook_type": "ITEM", "webhook_code": "LOGIN_REPAIRED"}')
    assert rejected(verifier, headers_for(token)) == "body_hash_mismatch"


@pytest.mark.parametrize(
    ("claim", "reason"),
    [
        (hashlib.sha256(BODY).hexdigest().upper(), "body_hash_mismatch"),  # exact value, as Plaid sends it
        (hashlib.sha256(BODY).hexdigest()[:-1], "body_hash_mismatch"),
        ("\ud800" * 64, "body_hash_mismatch"),  # not even encodable: still a clean refusal
        ("", "body_hash_missing"),
        (None, "body_hash_missing"),
        (12345, "body_hash_missing"),
    ],
)
def test_the_body_hash_claim_must_be_the_exact_hex_digest(verifier, keys, claim, reason):
    private, jwk = own_key()
    keys.jwks["own-key"] = jwk
    claims: dict[str, Any] = {"iat": int(NOW.timestamp())}
    if claim is not None:
        claims["request_body_sha256"] = claim
    assert rejected(verifier, headers_for(es256(private, "own-key", claims))) == reason


# --------------------------------------------------------------------------- freshness


def test_iat_may_be_exactly_five_minutes_old_but_not_one_second_more(verifier, sandbox, clock):
    token = sandbox.sign_body(BODY)
    clock.advance(minutes=5)
    verifier.verify(headers_for(token), BODY)
    clock.advance(seconds=1)
    assert rejected(verifier, headers_for(token)) == "iat_stale"


def test_iat_may_be_a_little_in_the_future_but_not_beyond_the_skew(verifier, sandbox, signing_clock):
    signing_clock.advance(seconds=30)  # Plaid's clock 30 s ahead of ours: accepted
    verifier.verify(headers_for(sandbox.sign_body(BODY)), BODY)
    signing_clock.advance(seconds=1)
    assert rejected(verifier, headers_for(sandbox.sign_body(BODY))) == "iat_in_future"


@pytest.mark.parametrize("iat", [None, "1773135000", True, float("nan"), float("inf")])
def test_iat_must_be_a_finite_number(verifier, keys, iat):
    private, jwk = own_key()
    keys.jwks["own-key"] = jwk
    claims = claims_for()
    if iat is None:
        del claims["iat"]
    else:
        claims["iat"] = iat  # NaN and Infinity: json.dumps writes them, json.loads reads them back
    assert rejected(verifier, headers_for(es256(private, "own-key", claims))) == "iat_missing"


# --------------------------------------------------------------------------- algorithm and key


def _public_pem(sandbox: PlaidSandbox) -> bytes:
    key = ECAlgorithm.from_jwk(sandbox.public_jwk())
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _hs256_with_public_key(sandbox: PlaidSandbox) -> str:
    """The classic confusion: HMAC "signed" with the public key's bytes as the secret."""
    pem = _public_pem(sandbox)
    return handmade(
        {"alg": "HS256", "kid": sandbox.signing_key_id, "typ": "JWT"},
        claims_for(),
        lambda data: hmac.new(pem, data, hashlib.sha256).digest(),
    )


def _rs256(sandbox: PlaidSandbox) -> str:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims_for(), private, algorithm="RS256", headers={"kid": sandbox.signing_key_id})


def _none(sandbox: PlaidSandbox) -> str:
    return handmade({"alg": "none", "kid": sandbox.signing_key_id, "typ": "JWT"}, claims_for(), lambda _: b"")


def _lowercase_es256(sandbox: PlaidSandbox) -> str:
    token = sandbox.sign_body(BODY)
    _, payload, signature = token.split(".")
    header = b64(json.dumps({"alg": "es256", "kid": sandbox.signing_key_id}).encode())
    return f"{header}.{payload}.{signature}"


def _es384(sandbox: PlaidSandbox) -> str:
    private = ec.generate_private_key(ec.SECP384R1())
    return jwt.encode(claims_for(), private, algorithm="ES384", headers={"kid": sandbox.signing_key_id})


def _no_alg(sandbox: PlaidSandbox) -> str:
    return handmade({"kid": sandbox.signing_key_id}, claims_for(), lambda _: b"sig")


@pytest.mark.parametrize(
    "forge",
    [_hs256_with_public_key, _rs256, _none, _lowercase_es256, _es384, _no_alg],
    ids=["hs256-public-key", "rs256", "none", "lowercase-es256", "es384", "no-alg"],
)
def test_any_algorithm_but_es256_is_refused_before_a_key_is_fetched(verifier, sandbox, keys, forge):
    assert rejected(verifier, headers_for(forge(sandbox))) == "algorithm_not_allowed"
    assert keys.calls == []


def test_an_hmac_signature_under_an_es256_header_is_refused(verifier, sandbox):
    pem = _public_pem(sandbox)
    token = handmade(
        {"alg": "ES256", "kid": sandbox.signing_key_id, "typ": "JWT"},
        claims_for(),
        lambda data: hmac.new(pem, data, hashlib.sha256).digest(),
    )
    assert rejected(verifier, headers_for(token)) == "signature_invalid"


def test_a_token_signed_by_another_key_under_plaids_kid_is_refused(verifier, sandbox):
    private, _ = own_key()
    token = es256(private, sandbox.signing_key_id, claims_for())
    assert rejected(verifier, headers_for(token)) == "signature_invalid"


def test_a_token_with_a_modified_claim_is_refused(verifier, sandbox):
    header, _, signature = sandbox.sign_body(BODY).split(".")
    forged = b64(json.dumps(claims_for(b"{}")).encode())
    assert rejected(verifier, headers_for(f"{header}.{forged}.{signature}"), b"{}") == "signature_invalid"


def test_a_missing_kid_is_refused_without_a_fetch(verifier, keys):
    private, _ = own_key()
    token = jwt.encode(claims_for(), private, algorithm="ES256")
    assert rejected(verifier, headers_for(token)) == "kid_missing"
    assert keys.calls == []


@pytest.mark.parametrize("kid", ["../../etc/passwd", "kid with spaces", "x" * 129, "ключ"])
def test_a_kid_that_cannot_be_a_plaid_key_id_is_refused_without_a_fetch(verifier, keys, kid):
    private, _ = own_key()
    token = es256(private, kid, claims_for())
    assert rejected(verifier, headers_for(token)) == "kid_malformed"
    assert keys.calls == []


def test_an_unknown_kid_is_refused(verifier, keys):
    private, _ = own_key()
    token = es256(private, "8f7c9c1e-0000-4000-8000-000000000000", claims_for())
    assert rejected(verifier, headers_for(token)) == "key_unknown"
    assert keys.calls == ["8f7c9c1e-0000-4000-8000-000000000000"]


def test_an_expired_key_is_refused(verifier, sandbox):
    token = sandbox.sign_body(BODY, key_id=sandbox.expired_key_id)
    assert rejected(verifier, headers_for(token)) == "key_expired"


def test_a_key_with_a_future_expiry_works_until_then(verifier, keys, clock, signing_clock):
    private, jwk = own_key()
    keys.jwks["rotating"] = {**jwk, "expired_at": int(NOW.timestamp()) + 10}
    verifier.verify(headers_for(es256(private, "rotating", claims_for())), BODY)
    clock.advance(seconds=10)
    later = es256(private, "rotating", claims_for(at=clock.now))
    assert rejected(verifier, headers_for(later)) == "key_expired"
    assert keys.calls == ["rotating"]  # the cached key's expiry is checked at every use


@pytest.mark.parametrize(
    "change",
    [
        {"kty": "RSA"},
        {"crv": "P-384"},
        {"alg": "RS256"},
        {"use": "enc"},
        {"kid": "another-kid"},
        {"x": "AAAA"},
        {"expired_at": "soon"},
    ],
    ids=["kty", "crv", "alg", "use", "kid", "coordinates", "expired_at"],
)
def test_a_jwk_that_is_not_a_p256_signing_key_for_this_kid_is_refused(verifier, keys, change):
    private, jwk = own_key()
    keys.jwks["own-key"] = {**jwk, "kid": "own-key", **change}
    assert rejected(verifier, headers_for(es256(private, "own-key", claims_for()))) == "key_unusable"


def test_private_members_of_a_jwk_are_ignored(verifier, keys):
    """Only kty/crv/x/y are used: a `d` in the answer cannot make a private key the verifier."""
    private, jwk = own_key()
    private_jwk: dict[str, Any] = ECAlgorithm.to_jwk(private, as_dict=True)
    keys.jwks["own-key"] = {**jwk, "d": private_jwk["d"]}
    verifier.verify(headers_for(es256(private, "own-key", claims_for())), BODY)


# --------------------------------------------------------------------------- header and token shape


@pytest.mark.parametrize("headers", [{}, {"Content-Type": "application/json"}, {"Plaid-Verification": "  "}])
def test_a_missing_header_is_rejected(verifier, keys, headers):
    assert rejected(verifier, headers) == "header_missing"
    assert keys.calls == []


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        "a.b.c",
        "eyJhbGciOiJFUzI1NiJ9",
        "!!!.e30.sig",  # not base64url
        b64(b"[1, 2]") + ".e30.sig",  # a header that is not an object
        b64(json.dumps({"alg": "ES256", "kid": 7}).encode()) + ".e30.sig",
        "x" * 5000,
    ],
)
def test_a_malformed_token_is_rejected(verifier, keys, token):
    assert rejected(verifier, headers_for(token)) == "token_malformed"
    assert keys.calls == []


@pytest.mark.parametrize("payload", [b"not json", b"[1, 2]", b'"a string"'])
def test_a_validly_signed_token_whose_payload_is_not_a_json_object_is_rejected(verifier, keys, payload):
    private, jwk = own_key()
    keys.jwks["own-key"] = jwk
    header = b64(json.dumps({"alg": "ES256", "kid": "own-key", "typ": "JWT"}).encode())
    signing_input = f"{header}.{b64(payload)}"
    signature = ECAlgorithm(ECAlgorithm.SHA256).sign(signing_input.encode(), private)
    assert rejected(verifier, headers_for(f"{signing_input}.{b64(signature)}")) == "token_malformed"


# --------------------------------------------------------------------------- one answer, reason in logs


def test_every_rejection_is_the_same_401_and_the_reason_is_only_logged(verifier, sandbox, caplog):
    caplog.set_level(logging.WARNING)
    token = sandbox.sign_body(BODY)
    errors = []
    for headers, body in [({}, BODY), (headers_for(token), b"{}"), (headers_for("a.b.c"), BODY)]:
        with pytest.raises(WebhookRejected) as caught:
            verifier.verify(headers, body)
        errors.append(caught.value)
    assert {(e.status, e.code, e.message) for e in errors} == {
        (401, "webhook_rejected", "The webhook could not be verified.")
    }
    assert all(e.reason not in e.message for e in errors)
    logged = [(r.getMessage(), getattr(r, "reason", None)) for r in caplog.records]
    assert logged == [
        ("Plaid webhook rejected", "header_missing"),
        ("Plaid webhook rejected", "body_hash_mismatch"),
        ("Plaid webhook rejected", "token_malformed"),
    ]
    assert not any(token in str(vars(r)) for r in caplog.records)  # the JWT is never logged


# --------------------------------------------------------------------------- key cache


def test_a_known_key_is_fetched_once(verifier, sandbox, keys, clock):
    verifier.verify(headers_for(sandbox.sign_body(BODY)), BODY)
    clock.advance(seconds=10)
    verifier.verify(headers_for(sandbox.sign_body(BODY)), BODY)
    assert keys.calls == [sandbox.signing_key_id]


def test_a_known_key_is_read_again_after_its_cache_time(keys, sandbox, clock, signing_clock):
    verifier = PlaidWebhookVerifier(keys, clock=clock, key_ttl=3600)
    verifier.verify(headers_for(sandbox.sign_body(BODY)), BODY)
    clock.advance(hours=1)
    signing_clock.advance(hours=1)
    verifier.verify(headers_for(sandbox.sign_body(BODY)), BODY)
    assert keys.calls == [sandbox.signing_key_id] * 2


def test_an_unknown_kid_is_fetched_once_within_the_negative_cache_window(keys, clock):
    verifier = PlaidWebhookVerifier(keys, clock=clock, unknown_key_ttl=60)
    private, _ = own_key()
    for _ in range(3):
        assert rejected(verifier, headers_for(es256(private, "unknown-kid", claims_for(at=clock.now)))) == (
            "key_unknown"
        )
        clock.advance(seconds=20)
    assert keys.calls == ["unknown-kid"]  # t=0, 20, 40: one fetch
    rejected(verifier, headers_for(es256(private, "unknown-kid", claims_for(at=clock.now))))
    assert keys.calls == ["unknown-kid"] * 2  # t=60: the negative entry has lapsed


def test_made_up_kids_cannot_hammer_plaid(keys, clock):
    verifier = PlaidWebhookVerifier(keys, clock=clock, fetch_window=60)
    private, _ = own_key()
    for n in range(MAX_KEY_FETCHES):
        assert rejected(verifier, headers_for(es256(private, f"made-up-{n}", claims_for()))) == "key_unknown"
    over = es256(private, "made-up-over", claims_for())
    assert rejected(verifier, headers_for(over)) == "key_fetch_budget_exhausted"
    assert len(keys.calls) == MAX_KEY_FETCHES
    clock.advance(seconds=60)
    later = headers_for(es256(private, "made-up-later", claims_for(at=clock.now)))
    assert rejected(verifier, later) == "key_unknown"  # the budget refills with the window
    assert len(keys.calls) == MAX_KEY_FETCHES + 1


def test_a_key_cached_before_the_budget_ran_out_still_verifies(keys, sandbox, clock):
    verifier = PlaidWebhookVerifier(keys, clock=clock)
    verifier.verify(headers_for(sandbox.sign_body(BODY)), BODY)
    private, _ = own_key()
    for n in range(MAX_KEY_FETCHES):
        rejected(verifier, headers_for(es256(private, f"made-up-{n}", claims_for())))
    verifier.verify(headers_for(sandbox.sign_body(BODY)), BODY)


def test_an_upstream_failure_propagates_and_is_not_cached(verifier, sandbox, keys):
    keys.failure = AggregatorUnavailable("The bank data provider timed out.", provider="plaid")
    with pytest.raises(AggregatorUnavailable):
        verifier.verify(headers_for(sandbox.sign_body(BODY)), BODY)
    verifier.verify(headers_for(sandbox.sign_body(BODY)), BODY)
    assert keys.calls == [sandbox.signing_key_id] * 2


def test_a_new_kid_makes_cached_keys_be_read_again(verifier, keys, clock):
    """Rotation, as in Plaid's example: when a new key appears, the old one is re-read on next
    use, so an expiry Plaid has set since is seen."""
    old_private, old_jwk = own_key()
    new_private, new_jwk = own_key()
    keys.jwks |= {"old": old_jwk, "new": new_jwk}
    verifier.verify(headers_for(es256(old_private, "old", claims_for())), BODY)
    keys.jwks["old"] = {**old_jwk, "expired_at": int(NOW.timestamp())}  # Plaid rotated
    verifier.verify(headers_for(es256(new_private, "new", claims_for())), BODY)
    assert rejected(verifier, headers_for(es256(old_private, "old", claims_for()))) == "key_expired"
    assert keys.calls == ["old", "new", "old"]


# --------------------------------------------------------------------------- the adapter and the sandbox

SANDBOX_BASE = "http://sandbox.test/sandbox/plaid"


def sandbox_adapter(sandbox: PlaidSandbox) -> PlaidAdapter:
    def handle(request: httpx.Request) -> httpx.Response:
        relative = request.url.path.removeprefix(urlsplit(SANDBOX_BASE).path)
        query = parse_qs(request.url.query.decode(), keep_blank_values=True)
        status, headers, body = sandbox.handle(
            request.method, relative, query, dict(request.headers), request.content
        )
        return httpx.Response(status, headers=headers, content=body)

    return PlaidAdapter(
        SANDBOX_BASE,
        static_source({"plaid_client_id": SANDBOX_CLIENT_ID, "plaid_secret": SANDBOX_SECRET}),
        transport=httpx.MockTransport(handle),
        sleep=lambda _: None,
        retry=RetryPolicy(attempts=2, base_delay=0),
    )


def call(sandbox: PlaidSandbox, path: str, body: dict[str, Any]) -> dict[str, Any]:
    credentials = {"client_id": SANDBOX_CLIENT_ID, "secret": SANDBOX_SECRET}
    status, _, raw = sandbox.handle("POST", path, {}, {}, json.dumps({**credentials, **body}).encode())
    assert status == 200, raw
    answer: dict[str, Any] = json.loads(raw)
    return answer


def link_item(adapter: PlaidAdapter, sandbox: PlaidSandbox) -> str:
    public = call(
        sandbox,
        "/sandbox/public_token/create",
        {
            "institution_id": "ins_109508",
            "initial_products": ["transactions"],
            "options": {"webhook": "http://127.0.0.1:8000/webhooks/plaid"},
        },
    )
    return call(sandbox, "/item/public_token/exchange", {"public_token": public["public_token"]})[
        "access_token"
    ]


def test_the_adapter_reads_the_verification_key_plaid_serves(sandbox):
    jwk = sandbox_adapter(sandbox).webhook_verification_key(sandbox.signing_key_id)
    assert jwk == {key: value for key, value in sandbox.public_jwk().items() if key in jwk} and set(jwk) == {
        "kty",
        "crv",
        "x",
        "y",
        "kid",
        "alg",
        "use",
        "created_at",
        "expired_at",
    }


def test_through_the_adapter_unknown_and_expired_keys_are_refused(sandbox, clock):
    fetch = plaid_key_fetcher(sandbox_adapter(sandbox))
    with pytest.raises(UnknownVerificationKey):
        fetch("8f7c9c1e-0000-4000-8000-000000000000")
    verifier = PlaidWebhookVerifier(fetch, clock=clock)
    expired = sandbox.sign_body(BODY, key_id=sandbox.expired_key_id)
    assert rejected(verifier, headers_for(expired)) == "key_expired"
    private, _ = own_key()
    unknown = es256(private, "8f7c9c1e-0000-4000-8000-000000000000", claims_for())
    assert rejected(verifier, headers_for(unknown)) == "key_unknown"
    verifier.verify(headers_for(sandbox.sign_body(BODY)), BODY)


def test_a_plaid_outage_during_the_key_fetch_is_not_a_rejection(sandbox, clock):
    adapter = PlaidAdapter(
        "https://sandbox.plaid.com",
        static_source({"plaid_client_id": "id", "plaid_secret": "secret-value"}),
        transport=httpx.MockTransport(lambda _: httpx.Response(503, json={"error_type": "API_ERROR"})),
        sleep=lambda _: None,
        retry=RetryPolicy(attempts=2, base_delay=0),
    )
    verifier = PlaidWebhookVerifier(plaid_key_fetcher(adapter), clock=clock)
    with pytest.raises(AggregatorUnavailable):
        verifier.verify(headers_for(sandbox.sign_body(BODY)), BODY)


# --------------------------------------------------------------------------- event key

EVENT: dict[str, Any] = {
    "webhook_type": "TRANSACTIONS",
    "webhook_code": "DEFAULT_UPDATE",
    "item_id": "wz666MBjYWTp2PDzzggYhM6oWWmBb",
    "new_transactions": 3,
    "error": None,
    "environment": "production",
}


def test_the_event_key_is_stable_when_the_body_is_re_serialised():
    key = webhook_event_key(EVENT)
    reordered = dict(reversed(list(EVENT.items())))
    for raw in (json.dumps(EVENT, indent=2), json.dumps(reordered), json.dumps(EVENT, separators=(",", ":"))):
        assert webhook_event_key(json.loads(raw)) == key
        assert webhook_event_key(json.loads(raw, parse_float=Decimal)) == key
    assert key.startswith("plaid:wz666MBjYWTp2PDzzggYhM6oWWmBb:TRANSACTIONS:DEFAULT_UPDATE:")


def test_the_event_key_ignores_what_does_not_identify_the_event():
    error = {
        "error_type": "ITEM_ERROR",
        "error_code": "ITEM_LOGIN_REQUIRED",
        "error_message": "first wording",
    }
    event = {"webhook_type": "ITEM", "webhook_code": "ERROR", "item_id": "item-1", "error": error}
    reworded = {**event, "error": {**error, "error_message": "second wording", "display_message": None}}
    assert webhook_event_key(event) == webhook_event_key(reworded)
    assert webhook_event_key({**event, "some_new_field": 1}) == webhook_event_key(event)


@pytest.mark.parametrize(
    "change",
    [
        {"webhook_code": "INITIAL_UPDATE"},
        {"webhook_type": "HOLDINGS"},
        {"item_id": "another-item"},
        {"new_transactions": 4},
        {"environment": "sandbox"},
        {"error": {"error_type": "ITEM_ERROR", "error_code": "ITEM_LOGIN_REQUIRED"}},
    ],
    ids=["code", "type", "item", "count", "environment", "error"],
)
def test_a_different_event_has_a_different_key(change):
    assert webhook_event_key({**EVENT, **change}) != webhook_event_key(EVENT)


def test_event_keys_tell_apart_the_webhooks_the_connections_handle():
    bodies: list[dict[str, Any]] = [
        {"webhook_type": "TRANSACTIONS", "webhook_code": "SYNC_UPDATES_AVAILABLE", "item_id": "i",
         "initial_update_complete": True, "historical_update_complete": False},
        {"webhook_type": "TRANSACTIONS", "webhook_code": "SYNC_UPDATES_AVAILABLE", "item_id": "i",
         "initial_update_complete": True, "historical_update_complete": True},
        {"webhook_type": "ITEM", "webhook_code": "PENDING_EXPIRATION", "item_id": "i",
         "consent_expiration_time": "2026-04-01T00:00:00Z"},
        {"webhook_type": "ITEM", "webhook_code": "PENDING_EXPIRATION", "item_id": "i",
         "consent_expiration_time": "2026-07-01T00:00:00Z"},
        {"webhook_type": "ITEM", "webhook_code": "PENDING_DISCONNECT", "item_id": "i",
         "reason": "INSTITUTION_MIGRATION"},
        {"webhook_type": "ITEM", "webhook_code": "PENDING_DISCONNECT", "item_id": "i",
         "reason": "INSTITUTION_TOKEN_EXPIRATION"},
        {"webhook_type": "ITEM", "webhook_code": "NEW_ACCOUNTS_AVAILABLE", "item_id": "i"},
        {"webhook_type": "ITEM", "webhook_code": "USER_PERMISSION_REVOKED", "item_id": "i"},
        {"webhook_type": "ITEM", "webhook_code": "LOGIN_REPAIRED", "item_id": "i"},
        {"webhook_type": "ITEM", "webhook_code": "WEBHOOK_UPDATE_ACKNOWLEDGED", "item_id": "i",
         "new_webhook_url": "https://a.example/webhooks/plaid"},
    ]  # fmt: skip
    keys = [webhook_event_key(body) for body in bodies]
    assert len(set(keys)) == len(keys)


def test_an_event_key_is_made_even_for_odd_bodies():
    """Unknown types are accepted and ignored: they still need a key, and a safe one."""
    key = webhook_event_key({"webhook_type": "NEW:TYPE/../x", "amount": 1.5})
    assert key.startswith("plaid:-:NEW_TYPE_.._x:-:")
    assert webhook_event_key({}) == webhook_event_key({"item_id": None})
