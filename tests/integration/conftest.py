from tests.integration.aggregator_sandboxes import sandboxes

__all__ = ["sandboxes"]
