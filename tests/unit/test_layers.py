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


def unbound_calls_in_staff_routes(root: Path = ROOT) -> list[str]:
    """Calls `bootstrap.x(...)` inside a route that has a `staff` caller, where `x` is not one of
    the firm-bound accessors (`*_for(staff)`): tenancy by construction (issue 14)."""
    found = []
    for path in sorted((root / "functions").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            arguments = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            if "staff" not in {a.arg for a in arguments}:
                continue
            for call in ast.walk(node):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and isinstance(call.func.value, ast.Name)
                    and call.func.value.id == "bootstrap"
                    and not (
                        call.func.attr.endswith("_for") and [ast.unparse(a) for a in call.args] == ["staff"]
                    )
                ):
                    found.append(f"{path.relative_to(root)}:{call.lineno} bootstrap.{call.func.attr}")
    return found


def test_staff_routes_get_ports_bound_to_the_callers_firm():
    assert unbound_calls_in_staff_routes() == []


def test_the_check_finds_an_unbound_staff_route(tmp_path):
    route = tmp_path / "functions" / "api" / "routes.py"
    route.parent.mkdir(parents=True)
    route.write_text(
        "def ok(customer_id, staff):\n    return use(bootstrap.onboarding_for(staff), staff)\n"
        "def bad(customer_id, staff):\n    return use(bootstrap.onboarding(), staff)\n"
        "def public(token):\n    return use(bootstrap.onboarding(), token)\n"
        "async def later(*, staff):\n    return use(bootstrap.refresh(), staff)\n"
    )
    assert unbound_calls_in_staff_routes(tmp_path) == [
        "functions/api/routes.py:4 bootstrap.onboarding",
        "functions/api/routes.py:8 bootstrap.refresh",
    ]


def test_handlers_reach_the_composition_root_only_as_bootstrap_dot_name():
    """So the check above sees every accessor a route calls (no `from shared.bootstrap import x`)."""
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted((ROOT / "functions").rglob("*.py"))
        for line, module in imported_modules(path)
        if module == "shared.bootstrap"
    ]
    assert found == []
