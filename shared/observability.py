"""Logger, Tracer and Metrics shared by every function (configured by POWERTOOLS_* env).

Never log tokens, emails, names or bank identifiers: log ids and counts.

On AWS an instance runs one invocation at a time; the local system runs several at once in one
process (local/functions.py), where these objects are shared. Powertools keeps the metrics of an
invocation in one dict that `log_metrics` serialises and clears at its end: concurrently, one
invocation's flush could find the set emptied or growing under it (`SchemaValidationError`,
`RuntimeError: dictionary changed size during iteration`: a 500), or publish a metric twice. So
adding a metric and flushing the set are serialised: every metric is published once, possibly in
a concurrent invocation's EMF blob (same namespace and dimensions; a lock nobody contends on AWS).
The Logger's appended keys (request id, correlation id) stay process-wide: locally, concurrent
invocations' log lines may carry each other's; logging itself never raises.
"""

import threading
import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricResolution, MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

# Routes that emit no business metric are normal; Powertools warns on every such call.
warnings.filterwarnings("ignore", message="No application metrics to publish")


class _OneFlushAtATime(AmazonCloudWatchEMFProvider):
    _lock = threading.RLock()

    def add_metric(
        self, name: str, unit: MetricUnit | str, value: float, resolution: MetricResolution | int = 60
    ) -> None:
        with self._lock:  # may flush itself: at 100 metrics, or 100 values of one
            super().add_metric(name=name, unit=unit, value=value, resolution=resolution)

    def flush_metrics(self, raise_on_empty_metrics: bool = False) -> None:
        with self._lock:
            super().flush_metrics(raise_on_empty_metrics=raise_on_empty_metrics)


logger = Logger()
# AWS calls are traced from the start; httpx only where the aggregator client is built
# (shared/adapters/aggregator/http_client.py): patching everything would import httpx at every
# function's init, including those that never call the aggregator.
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics(provider=_OneFlushAtATime())
