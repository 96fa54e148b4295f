"""Logger, Tracer and Metrics shared by every function (configured by POWERTOOLS_* env).

Never log tokens, emails, names or bank identifiers: log ids and counts.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
