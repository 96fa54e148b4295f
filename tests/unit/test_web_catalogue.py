"""The web console's words (web/src/i18n): every outcome the bank's redirect can carry has its own
title and sentence, in every language; the catalogues have the same keys."""

from __future__ import annotations

import re
from pathlib import Path

from shared.domain.connections import ConnectionStatus

WEB = Path(__file__).resolve().parents[2] / "web" / "src"
KEY = re.compile(r'^\s*"([a-zA-Z0-9_.]+)":', re.MULTILINE)


def keys(language: str) -> set[str]:
    return set(KEY.findall((WEB / "i18n" / f"{language}.ts").read_text()))


def test_the_catalogues_have_the_same_keys():
    assert keys("en") and keys("en") == keys("fr")


def test_every_outcome_of_the_bank_redirect_has_its_words_and_its_place_on_the_screen():
    # What complete_from_callback returns: a connection's status, `invalid`, `error`, `rate_limited`.
    outcomes = {status.value for status in ConnectionStatus} | {"invalid", "error", "rate_limited"}
    screen = (WEB / "pages" / "ConnectionComplete.tsx").read_text()
    listed = set(
        re.findall(r'^\s*"([a-z_]+)",$', screen.split("const OUTCOMES = [", 1)[1].split("]", 1)[0], re.M)
    )
    assert outcomes <= listed, outcomes - listed
    for outcome in outcomes:
        assert {f"connection.complete.{outcome}.title", f"connection.complete.{outcome}.body"} <= keys(
            "en"
        ), outcome


def test_the_app_reads_the_configuration_keys_the_stack_and_the_local_system_write():
    from infra.web_console import CONFIG_KEYS

    read = (WEB / "config.ts").read_text().split("const KEYS", 1)[1].split("];", 1)[0]
    assert re.findall(r'"([A-Za-z]+)"', read) == list(CONFIG_KEYS)
