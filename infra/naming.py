"""Construct ids from the keys of `infra/spec.py` (`import_worker` → `ImportWorker`)."""

from __future__ import annotations

import re


def pascal_case(key: str) -> str:
    return "".join(word.capitalize() for word in re.split(r"[-_]", key))
