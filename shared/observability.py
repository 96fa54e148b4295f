"""Logger, Tracer and Metrics shared by every function (configured by POWERTOOLS_* env).

Never log tokens, emails, names or bank identifiers: log ids and counts.
"""

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

# Routes that emit no business metric are normal; Powertools warns on every such call.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger()
# AWS calls are traced from the start; httpx only where the aggregator client is built
# (shared/adapters/aggregator/http_client.py): patching everything would import httpx at every
# function's init, including those that never call the aggregator.
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()
