"""The user directory for tests on moto that reach staff administration: a fake (tests/staff_fakes.py)
in place of the Cognito pool (`bootstrap.user_directory`), holding every person the test names."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared import bootstrap
from tests.fakes import FakeDirectory


def fake_directory(monkeypatch: pytest.MonkeyPatch) -> FakeDirectory:
    """A fake directory in place of the pool, for the test that `monkeypatch` belongs to."""
    directory = FakeDirectory()
    monkeypatch.setattr(bootstrap, "user_directory", lambda: directory)
    return directory


@pytest.fixture
def staff_directory(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDirectory]:
    yield fake_directory(monkeypatch)


def known(directory: FakeDirectory, *people: object) -> None:
    """The directory has these people (anything with `sub` and `email`) as enabled users."""
    for person in people:
        directory.add(person.sub, person.email)  # type: ignore[attr-defined]
