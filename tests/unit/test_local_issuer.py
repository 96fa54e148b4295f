"""The local issuer's key, its JWKS and `python -m local.token`."""

from __future__ import annotations

import jwt
import pytest

from local import issuer as issuer_module
from local import token
from local.authorizer import JwtAuthorizer
from local.demo_data import DEFAULT_TOKEN_USER, DEMO_USERS
from local.issuer import CLIENT_ID, ISSUER, LocalIssuer


@pytest.fixture
def key_file(tmp_path, monkeypatch):
    path = tmp_path / ".local" / "jwt-signing-key.pem"
    monkeypatch.setattr(issuer_module, "KEY_FILE", path)
    return path


def test_the_key_is_created_once_and_reused_by_other_processes(key_file):
    first = LocalIssuer.load_or_create()
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert LocalIssuer.load_or_create().kid == first.kid


def test_tokens_look_like_cognito_id_tokens(key_file):
    issuer = LocalIssuer.load_or_create()
    token_text = issuer.id_token(sub="s-1", email="a@example.com", name="A", now=1_000)
    assert jwt.get_unverified_header(token_text)["kid"] == issuer.kid
    claims = jwt.decode(token_text, options={"verify_signature": False})
    assert claims["iss"] == ISSUER and claims["aud"] == CLIENT_ID and claims["token_use"] == "id"
    assert (claims["sub"], claims["email"], claims["email_verified"]) == ("s-1", "a@example.com", True)
    assert claims["exp"] - claims["iat"] == 3600


def test_the_jwks_publishes_the_public_key_only(key_file):
    jwks = LocalIssuer.load_or_create().jwks()
    (key,) = jwks["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
    assert "d" not in key and "p" not in key


def test_the_token_command_prints_only_a_token_for_the_default_user(key_file, capsys):
    assert token.main([]) == 0
    out, err = capsys.readouterr()
    issuer = LocalIssuer.load_or_create()
    claims = JwtAuthorizer(ISSUER, [CLIENT_ID], issuer.jwks()).claims("Bearer " + out.strip())
    assert claims["email"] == DEFAULT_TOKEN_USER
    assert out.count("\n") == 1 and err == ""


def test_the_token_command_finds_a_demo_user_by_email(key_file, capsys):
    customer = next(user for user in DEMO_USERS if user.role == "customer")
    assert token.main([customer.email.upper()]) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), options={"verify_signature": False})
    assert claims["sub"] == customer.sub


def test_the_token_command_gives_any_other_email_a_stable_identity(key_file, capsys):
    assert token.main(["Jane.Doe@example.org"]) == 0
    first = jwt.decode(capsys.readouterr().out.strip(), options={"verify_signature": False})
    assert token.main(["jane.doe@example.org"]) == 0
    second = jwt.decode(capsys.readouterr().out.strip(), options={"verify_signature": False})
    assert first["sub"] == second["sub"] and first["email"] == "jane.doe@example.org"
    assert first["sub"] not in {user.sub for user in DEMO_USERS}


def test_the_token_command_refuses_what_is_not_an_email(key_file, capsys):
    assert token.main(["nobody"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "usage" in err
