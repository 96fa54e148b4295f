"""Data Refresh follow-up, pure parts (issue 16 item 6): package keys and the EULA's shipped text."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra import packaging
from infra.config import StageConfig
from shared.adapters.eula_texts import EulaTexts, MissingEulaText, eula_text_path
from shared.domain.refresh import Connector, Engagement, PackageKind, package_key
from shared.settings import DEFAULT_EULA_VERSION


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("GoCardless", "gocardless"),
        ("  Demo   BANK ", "demo bank"),
        ("Straße", "strasse"),  # casefold, not lower
        ("\uff24\uff25\uff2d\uff2f", "demo"),  # full-width letters (NFKC)
    ],
)
def test_package_key_ignores_case_width_and_spacing(typed, stored):
    assert package_key(typed) == package_key(stored) == stored


def stage_config(context: dict[str, str]) -> StageConfig:
    values = {
        "email_sender": "no-reply@client-data.example",
        "app_base_url": "https://app.example",
        **context,
    }

    class Node:
        def try_get_context(self, key: str) -> str | None:
            return values.get(key)

    return StageConfig.from_context(Node())  # type: ignore[arg-type]


def _engagement(*connectors: Connector) -> Engagement:
    return Engagement("f", "c", "Jane", "j@example.org", "o", ("o",), connectors)


def test_an_engagement_uses_each_provider_and_institution_once():
    engagement = _engagement(
        Connector("k1", "gocardless", "BANK_A", "Bank A", True, None),
        Connector("k2", "gocardless", "bank_a", "BANK A", True, None),  # same bank, other spelling
        Connector("k3", "plaid", "ins_1", "Platypus", True, None),
    )
    found = engagement.packages()
    assert sorted(found) == [
        "institution:bank_a",
        "institution:ins_1",
        "provider:gocardless",
        "provider:plaid",
    ]
    assert found["institution:bank_a"].kind is PackageKind.INSTITUTION
    assert found["institution:bank_a"].name == "Bank A"  # the first connector's spelling
    assert engagement.package_keys() == {"gocardless", "bank_a", "bank a", "plaid", "ins_1", "platypus"}


def test_the_current_eula_has_its_text_and_it_ships_with_the_functions():
    path = eula_text_path(DEFAULT_EULA_VERSION)
    assert Path("shared", "eula", path.name) in set(packaging.application_files())
    assert DEFAULT_EULA_VERSION in EulaTexts(DEFAULT_EULA_VERSION).text(DEFAULT_EULA_VERSION)


@pytest.mark.parametrize("version", ["1999-01", "../settings", "2026-01/../../x", ""])
def test_a_version_without_its_text_is_refused_when_built_and_at_synth(version):
    with pytest.raises(MissingEulaText):
        EulaTexts(version)
    with pytest.raises(ValueError, match="current_eula_version"):
        stage_config({"current_eula_version": version} if version else {"current_eula_version": "x y"})
    assert stage_config({}).current_eula_version == DEFAULT_EULA_VERSION
