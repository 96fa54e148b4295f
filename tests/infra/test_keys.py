"""The KMS key that seals provider credentials (issue 17 item 4): rotated, retained, and usable only
as `infra/spec.py` grants it: Decrypt by the functions that call the provider, and no other."""

from __future__ import annotations

import pytest

from infra.spec import FUNCTIONS, KEYS, SECRETS
from tests.infra.template_queries import (
    Resources,
    actions,
    of_type,
    policy_statements,
    resource_behind,
    resources_allowed,
)


def granted(access: str, key: str) -> set[str]:
    return {
        name
        for name, spec in FUNCTIONS.items()
        if any(g.resource == key and g.access == access for g in spec.grants)
    }


def roles_allowed(resources: Resources, action: str) -> dict[str, set[str]]:
    """Function name -> the resources its role may use `action` on (functions with none left out)."""
    allowed = {name: resources_allowed(policy_statements(resources, name), action) for name in FUNCTIONS}
    return {name: found for name, found in allowed.items() if found}


@pytest.mark.parametrize("key", KEYS)
def test_the_key_is_customer_managed_rotated_and_kept(resources: Resources, key: str) -> None:
    key_id = resource_behind(resources, KEYS[key].env)
    built = resources[key_id]
    assert built["Type"] == "AWS::KMS::Key"
    assert built["Properties"]["EnableKeyRotation"] is True
    assert built["Properties"].get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
    assert built["DeletionPolicy"] == "Retain"  # the data table keeps what it sealed


@pytest.mark.parametrize("key", KEYS)
def test_exactly_the_granted_roles_may_decrypt_and_encrypt(resources: Resources, key: str) -> None:
    key_id = resource_behind(resources, KEYS[key].env)
    decrypting, encrypting = granted("decrypt", key), granted("encrypt", key)
    assert decrypting and encrypting  # the spec grants it (a test that cannot pass vacuously)
    assert roles_allowed(resources, "kms:Decrypt") == {name: {key_id} for name in decrypting}
    assert roles_allowed(resources, "kms:Encrypt") == {name: {key_id} for name in encrypting}


def test_only_the_functions_that_call_the_provider_may_open_credentials(resources: Resources) -> None:
    """Who holds the aggregator's API secret calls the provider; those, and only those, decrypt."""
    callers = {
        name
        for name, spec in FUNCTIONS.items()
        if any(g.resource in SECRETS and g.access == "read_secret" for g in spec.grants)
    }
    assert set(roles_allowed(resources, "kms:Decrypt")) == callers == granted("decrypt", "credentials")
    assert callers < set(FUNCTIONS)  # every other function cannot read a usable token


def test_no_role_may_reencrypt_make_data_keys_or_use_kms_wildcards(resources: Resources) -> None:
    for name in FUNCTIONS:
        kms_actions = {
            a for s in policy_statements(resources, name) for a in actions(s) if a.startswith("kms:")
        }
        assert kms_actions <= {"kms:Encrypt", "kms:Decrypt"}, name


def test_the_key_policy_grants_no_function_role(resources: Resources) -> None:
    """Use is granted by the roles' IAM policies (above); the key policy names the account only."""
    role_ids = set(of_type(resources, "AWS::IAM::Role"))
    for key in KEYS:
        policy = resources[resource_behind(resources, KEYS[key].env)]["Properties"]["KeyPolicy"]
        principals = str([statement["Principal"] for statement in policy["Statement"]])
        assert not any(role_id in principals for role_id in role_ids)
