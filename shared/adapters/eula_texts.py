"""The Data Refresh EULA's text, one file per version in `shared/eula/`, shipped with the code.

`CURRENT_EULA_VERSION` names the version customers must accept; its file must exist: the CDK
config refuses to synthesize without it (infra/config.py) and building this adapter fails at once,
so a missing text is a deployment error, never a 500 on `GET /eula`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

EULA_DIRECTORY = Path(__file__).resolve().parent.parent / "eula"
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,39}$")  # a file name, never a path


class MissingEulaText(LookupError):
    """No text is shipped for this EULA version (a configuration error)."""


def eula_text_path(version: str, directory: Path = EULA_DIRECTORY) -> Path:
    """The file holding this version's text; MissingEulaText if the version has none."""
    path = directory / f"{version}.md"
    if not _VERSION.match(version) or ".." in version or not path.is_file():
        raise MissingEulaText(f"No EULA text for version '{version}': add shared/eula/{version}.md")
    return path


@dataclass
class EulaTexts:
    """The `EulaTexts` port: checks the current version's file when built."""

    current_version: str
    directory: Path = EULA_DIRECTORY

    def __post_init__(self) -> None:
        eula_text_path(self.current_version, self.directory)

    def text(self, version: str) -> str:
        return eula_text_path(version, self.directory).read_text(encoding="utf-8")
