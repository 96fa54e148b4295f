"""How long a Data Refresh of E engagements takes on AWS (issue 20): a model over recorded unit costs.

The pipeline (README "Data Refresh"): the trigger sends the selection to the refresh queue in pages of
FANOUT_PAGE ids; `refresh_fanout_worker` (at most C_r instances: QUEUES["refresh"].max_concurrency)
claims each page's engagements and sends their import jobs; `import_worker` (at most C_i instances:
QUEUES["imports"].max_concurrency) imports each engagement's connections, one job per connection.

Inputs are per-unit modeled durations (durations.modeled_ms of recorded invocations): one fan-out page,
one import job (an invocation handling a batch of k jobs in sequence counts as k jobs of 1/k its time,
so batching does not change the throughput), the connections per engagement and the provider requests
per import job.

    pages       P = ceil(E / FANOUT_PAGE)
    fan-out     T_f = ceil(P / C_r) x page_s                      (waves of C_r pages)
    imports     J = E x connections_per_engagement
                T_lambda   = ceil(J / C_i) x job_s                (waves of C_i jobs)
                T_provider = J x requests_per_job / L             (L: the provider's client-wide limit, req/s)
                T_i = max(T_lambda, T_provider)
    total       max(page_s + T_i, T_f + job_s)

Pipelined: imports start once the first page is claimed (page_s), and the last import cannot end before
the last page is claimed plus one job. The binding constraint is the larger term: `fanout` if the
fan-out's bound wins, else `provider_rate` or `import_concurrency`, whichever bounds T_i.
What the model leaves out: Lambda's SQS ramp (5 instances, then +300 a minute: seconds for our maxima),
retries and rate-limit holds (a 429 delays its job by the provider's reset), and the GoCardless
per-account daily count (4 a day per endpoint: it caps how often an account is read, not how fast).
The records do not say which provider a request went to, so unless `provider` is named the most
restrictive provider's limit applies to every request (conservative).

`allowed_import_concurrency` is the most import instances the provider's limit keeps busy,
floor(L x job_s / requests_per_job): beyond it instances wait on 429s; `total_at_allowed_s` is the time
with that concurrency.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from shared.domain.refresh import FANOUT_PAGE
from tools.capacity.durations import Limits, ProviderLimits

FANOUT = "refresh_fanout_worker"
IMPORT = "import_worker"


def binding_provider(limits: Limits, provider: str | None = None) -> tuple[str, ProviderLimits]:
    """The named provider, or the one with the lowest client-wide request rate."""
    if provider is not None:
        return provider, limits.providers[provider]
    return min(limits.providers.items(), key=lambda item: item[1].requests_per_second)


def provider_allowed_concurrency(
    requests_per_second: float, job_ms: float, requests_per_job: float
) -> int | None:
    """The fewest concurrent jobs that keep a provider limit of `requests_per_second` busy: from there on
    the provider binds, and more instances only wait (None: no requests)."""
    if requests_per_job <= 0:
        return None
    return max(math.ceil(requests_per_second * (job_ms / 1000) / requests_per_job), 1)


@dataclass(frozen=True)
class RefreshTime:
    engagements: int
    pages: int
    import_jobs: float
    fanout_concurrency: int
    import_concurrency: int
    provider: str
    provider_limit_rps: float
    fanout_s: float
    import_lambda_s: float
    import_provider_s: float
    import_s: float
    total_s: float
    binding: str  # "fanout", "import_concurrency" or "provider_rate"
    allowed_import_concurrency: int | None
    total_at_allowed_s: float | None

    def render(self) -> str:
        at_allowed = (
            "no provider requests"
            if self.allowed_import_concurrency is None or self.total_at_allowed_s is None
            else f"{self.allowed_import_concurrency} -> total {_duration(self.total_at_allowed_s)}"
        )
        return "\n".join(
            (
                f"Data Refresh of {self.engagements} engagements: {self.pages} pages, "
                f"{self.import_jobs:g} import jobs",
                f"  fan-out    {_duration(self.fanout_s)} at concurrency {self.fanout_concurrency}",
                f"  imports    {_duration(self.import_s)} (Lambda {_duration(self.import_lambda_s)} "
                f"at concurrency {self.import_concurrency}; {self.provider} "
                f"{self.provider_limit_rps:.2f} req/s {_duration(self.import_provider_s)})",
                f"  total      {_duration(self.total_s)}, bound by {self.binding}",
                f"  import concurrency from which the provider's limit binds: {at_allowed}",
            )
        )


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min ({seconds:.0f} s)"


def refresh_time(
    engagements: int,
    fanout_page_ms: float,
    import_ms: float,
    connections_per_engagement: float,
    concurrency: Mapping[str, int],
    limits: Limits,
    provider_requests_per_import: float,
    provider: str | None = None,
) -> RefreshTime:
    name, provider_limits = binding_provider(limits, provider)
    rps = provider_limits.requests_per_second
    page_s, job_s = fanout_page_ms / 1000, import_ms / 1000
    fanout_c, import_c = concurrency[FANOUT], concurrency[IMPORT]
    pages = math.ceil(engagements / FANOUT_PAGE)
    jobs = engagements * connections_per_engagement

    def timed(import_concurrency: int) -> tuple[float, float, float, float, float, str]:
        """(fanout_s, import_lambda_s, import_provider_s, import_s, total_s, binding): RefreshTime's order."""
        fanout_s = math.ceil(pages / fanout_c) * page_s
        lambda_s = math.ceil(jobs / import_concurrency) * job_s
        provider_s = jobs * provider_requests_per_import / rps
        import_s = max(lambda_s, provider_s)
        imports_bound, fanout_bound = (page_s + import_s, fanout_s + job_s) if jobs else (0.0, fanout_s)
        if fanout_bound > imports_bound:
            binding = "fanout"
        else:
            binding = "provider_rate" if provider_s > lambda_s else "import_concurrency"
        return fanout_s, lambda_s, provider_s, import_s, max(imports_bound, fanout_bound), binding

    allowed = provider_allowed_concurrency(rps, import_ms, provider_requests_per_import)
    at_allowed = None if allowed is None else timed(max(allowed, 1))[4]
    inputs = (engagements, pages, jobs, fanout_c, import_c, name, rps)
    return RefreshTime(*inputs, *timed(import_c), allowed, at_allowed)
