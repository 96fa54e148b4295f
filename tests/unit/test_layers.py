"""The layers hold (issue 14): services import the domain, ports and other services only, never an
adapter, the API layer, the composition root or an AWS/HTTP client; ports import no adapter; the
domain imports neither. Read from the sources (ast), so a lazy import inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "shared/services": (
        "shared.adapters",
        "shared.api",
        "shared.bootstrap",
        "shared.settings",
        "functions",
        "local",
        "boto3",
        "botocore",
        "httpx",
        "aws_lambda_powertools.utilities",
    ),
    "shared/ports": (
        "shared.adapters",
        "shared.api",
        "shared.services",
        "shared.bootstrap",
        "boto3",
        "httpx",
    ),
    "shared/domain": (
        "shared.adapters",
        "shared.api",
        "shared.services",
        "shared.ports",
        "shared.bootstrap",
        "boto3",
        "httpx",
    ),
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def violations(layer: str, forbidden: tuple[str, ...], root: Path = ROOT) -> list[str]:
    return [
        f"{path.relative_to(root)}:{line} imports {module}"
        for path in sorted((root / layer).rglob("*.py"))
        for line, module in imported_modules(path)
        if any(module == banned or module.startswith(banned + ".") for banned in forbidden)
    ]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_it_must_not(layer):
    assert violations(layer, FORBIDDEN[layer]) == []


def test_the_check_finds_a_forbidden_import(tmp_path):
    """The guard can fail: a service importing an adapter (even lazily) is reported."""
    service = tmp_path / "shared" / "services" / "bad.py"
    service.parent.mkdir(parents=True)
    service.write_text("def f():\n    from shared.adapters.dynamodb import keys\n    import boto3\n")

    assert violations("shared/services", FORBIDDEN["shared/services"], tmp_path) == [
        "shared/services/bad.py:2 imports shared.adapters.dynamodb",
        "shared/services/bad.py:3 imports boto3",
    ]
