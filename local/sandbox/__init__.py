"""Local sandboxes of third-party APIs, mounted into the local HTTP server."""

from .gocardless import GoCardlessSandbox

__all__ = ["GoCardlessSandbox"]
